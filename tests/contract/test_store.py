"""What every Store adapter guarantees (storage/base.py), run against SQLite and FerretDB."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from mozaiks_runtime.errors import BadRequest, Conflict
from mozaiks_runtime.storage.base import (
    ChatRecord,
    NewEvent,
    PendingRequest,
    Store,
    UsageRecord,
    utcnow,
)

pytestmark = pytest.mark.contract


def _chat(chat_id: str, *, user: str = "alice", app: str = "app1", offset: int = 0) -> ChatRecord:
    moment = utcnow() + timedelta(seconds=offset)
    return ChatRecord(
        app_id=app,
        chat_id=chat_id,
        user_id=user,
        workflow_name="hello",
        workflow_version="1",
        status="created",
        created_at=moment,
        updated_at=moment,
        context={"a.b": {"$x": [[1, 2]]}},
    )


def _pending(request_id: str, *, chat: str = "c1", ttl: float = 60) -> PendingRequest:
    now = utcnow()
    return PendingRequest(
        request_id=request_id,
        app_id="app1",
        chat_id=chat,
        user_id="alice",
        kind="input",
        agent="Greeter",
        payload={"prompt": "Name?"},
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )


async def test_chat_round_trip_and_free_form_context(store: Store) -> None:
    chat = _chat("c1")
    await store.create_chat(chat)
    got = await store.get_chat("app1", "c1")
    assert got == chat
    assert await store.get_chat("other-app", "c1") is None


async def test_duplicate_chat_is_a_conflict(store: Store) -> None:
    await store.create_chat(_chat("c1"))
    with pytest.raises(Conflict):
        await store.create_chat(_chat("c1"))


async def test_update_chat_fields(store: Store) -> None:
    await store.create_chat(_chat("c1"))
    updated = await store.update_chat(
        "app1", "c1", status="running", last_agent="Planner", context={"k": 1}, add_tokens=7
    )
    assert updated is not None
    assert (updated.status, updated.last_agent, updated.context) == ("running", "Planner", {"k": 1})
    again = await store.update_chat("app1", "c1", add_tokens=3)
    assert again is not None and again.total_tokens == 10 and again.status == "running"
    assert await store.update_chat("app1", "missing", status="failed") is None


async def test_list_chats_newest_first_with_cursor(store: Store) -> None:
    for i in range(5):
        await store.create_chat(_chat(f"c{i}", offset=i))
    await store.create_chat(_chat("bob-chat", user="bob", offset=10))
    await store.create_chat(_chat("other-app", app="app2", offset=11))
    first = await store.list_chats("app1", user_id="alice", limit=2)
    assert [c.chat_id for c in first.chats] == ["c4", "c3"]
    assert first.next_cursor
    second = await store.list_chats("app1", user_id="alice", limit=2, cursor=first.next_cursor)
    assert [c.chat_id for c in second.chats] == ["c2", "c1"]
    assert second.next_cursor
    third = await store.list_chats("app1", user_id="alice", limit=2, cursor=second.next_cursor)
    assert [c.chat_id for c in third.chats] == ["c0"]
    assert third.next_cursor is None
    everyone = await store.list_chats("app1", limit=10)
    assert [c.chat_id for c in everyone.chats] == ["bob-chat", "c4", "c3", "c2", "c1", "c0"]


async def test_bad_cursor_is_a_bad_request(store: Store) -> None:
    with pytest.raises(BadRequest):
        await store.list_chats("app1", cursor="not a cursor!")


async def test_append_events_assigns_gap_free_seq(store: Store) -> None:
    await store.create_chat(_chat("c1"))
    first = await store.append_events(
        "app1", "c1", [NewEvent("chat.text", {"content": "hi", "args": {"$k.v": 1}})]
    )
    assert [e.seq for e in first] == [1]
    more = await store.append_events(
        "app1", "c1", [NewEvent("chat.text", {"n": i}) for i in range(3)]
    )
    assert [e.seq for e in more] == [2, 3, 4]
    assert await store.append_events("app1", "c1", []) == []
    events = await store.events_after("app1", "c1", 0)
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert events[0].data == {"content": "hi", "args": {"$k.v": 1}}
    assert [e.seq for e in await store.events_after("app1", "c1", 2, limit=1)] == [3]
    assert await store.last_seq("app1", "c1") == 4
    chat = await store.get_chat("app1", "c1")
    assert chat is not None and chat.last_seq == 4
    # Seqs are per chat and per app.
    other = await store.append_events("app2", "c1", [NewEvent("chat.text", {})])
    assert [e.seq for e in other] == [1]
    assert await store.events_after("app1", "c1", 4) == []


async def test_concurrent_appends_never_share_a_seq(store: Store) -> None:
    await store.create_chat(_chat("c1"))

    async def writer(n: int) -> None:
        for i in range(5):
            await store.append_events("app1", "c1", [NewEvent("chat.text", {"w": n, "i": i})])

    await asyncio.gather(*(writer(n) for n in range(4)))
    seqs = [e.seq for e in await store.events_after("app1", "c1", 0)]
    assert seqs == list(range(1, 21))


async def test_replicas_taking_turns_on_a_chat_keep_seqs_gap_free(
    store: Store, other_replica: Store
) -> None:
    """A chat's runs may move between replicas (one lease at a time): each one's appends
    continue after the other's, whatever either remembers of the chat."""
    await store.create_chat(_chat("c1"))
    turns = [store, other_replica, other_replica, store, store, other_replica]
    got = []
    for n, writer in enumerate(turns):
        stored = await writer.append_events(
            "app1", "c1", [NewEvent("chat.text", {"turn": n}), NewEvent("chat.text", {})]
        )
        got += [e.seq for e in stored]
    assert got == list(range(1, 13))
    assert [e.seq for e in await store.events_after("app1", "c1", 0)] == got
    chat = await other_replica.get_chat("app1", "c1")
    assert chat is not None and chat.last_seq == 12


async def test_concurrent_answers_resolve_a_request_once(store: Store) -> None:
    """Two tabs answer the same question at the same moment: one answer wins, the other is
    told the request is closed, and the stored answer is the winner's."""
    for n in range(5):
        await store.create_pending(_pending(f"r{n}"))
        got = await asyncio.gather(
            *(store.resolve_pending("app1", f"r{n}", answer={"by": i}) for i in range(4))
        )
        winners = [g for g in got if g is not None]
        assert len(winners) == 1
        stored = await store.get_pending("app1", f"r{n}")
        assert stored is not None and stored.answer == winners[0].answer


async def test_concurrent_appends_and_updates_of_a_chat_lose_nothing(store: Store) -> None:
    """A run counts tokens on the chat while its journal appends (which moves `last_seq` on
    the same record): neither may overwrite the other."""
    await store.create_chat(_chat("c1"))

    async def append(i: int) -> None:
        await store.append_events("app1", "c1", [NewEvent("chat.text", {"i": i})])

    async def count() -> None:
        await store.update_chat("app1", "c1", add_tokens=3)

    await asyncio.gather(*(f(i) for i in range(20) for f in (append, lambda _i: count())))
    chat = await store.get_chat("app1", "c1")
    assert chat is not None
    assert (chat.last_seq, chat.total_tokens) == (20, 60)


async def test_pending_resolves_once(store: Store) -> None:
    await store.create_pending(_pending("r1"))
    await store.create_pending(_pending("r2"))
    assert [p.request_id for p in await store.list_open_pending("app1", "c1")] == ["r1", "r2"]
    resolved = await store.resolve_pending("app1", "r1", answer={"text": "Ada"})
    assert resolved is not None
    assert resolved.status == "answered" and resolved.answer == {"text": "Ada"}
    assert resolved.answered_at is not None
    assert await store.resolve_pending("app1", "r1", answer="again") is None
    assert await store.resolve_pending("app2", "r2", answer="x") is None  # another tenant
    assert await store.resolve_pending("app1", "nope", answer="x") is None
    assert [p.request_id for p in await store.list_open_pending("app1", "c1")] == ["r2"]
    got = await store.get_pending("app1", "r2")
    assert got is not None and got.payload == {"prompt": "Name?"} and got.status == "open"
    assert await store.get_pending("app2", "r2") is None


async def test_pending_expiry(store: Store) -> None:
    await store.create_pending(_pending("old", ttl=0.001))
    await store.create_pending(_pending("new", ttl=600))
    expired = await store.expire_pending("app1", utcnow() + timedelta(seconds=1))
    assert expired == 1
    old = await store.get_pending("app1", "old")
    assert old is not None and old.status == "expired"
    assert [p.request_id for p in await store.list_open_pending("app1", "c1")] == ["new"]


async def test_usage_sums_and_groups(store: Store) -> None:
    now = utcnow()
    yesterday = now - timedelta(days=1)

    def usage(user: str, model: str, tokens: int, at: object) -> UsageRecord:
        return UsageRecord(
            app_id="app1",
            chat_id="c1",
            user_id=user,
            workflow_name="hello",
            agent="A",
            model=model,
            prompt_tokens=tokens,
            completion_tokens=1,
            duration_sec=0.1,
            cost=0.5,
            created_at=at,  # type: ignore[arg-type]
        )

    await store.record_usage(usage("alice", "m1", 10, now))
    await store.record_usage(usage("alice", "m2", 20, now))
    await store.record_usage(usage("bob", "m1", 30, now))
    await store.record_usage(usage("alice", "m1", 40, yesterday))
    assert await store.sum_tokens("app1", "alice", now - timedelta(hours=1)) == 32
    assert await store.sum_tokens("app1", None, now - timedelta(hours=1)) == 63
    assert await store.sum_tokens("app1", None, now - timedelta(days=2)) == 104
    assert await store.sum_tokens("app2", None, now - timedelta(days=2)) == 0
    window = {"start": now - timedelta(days=2), "end": now + timedelta(seconds=1)}
    by_user = await store.usage_totals("app1", None, group_by="user", **window)
    assert [(t.key, t.total_tokens, t.calls) for t in by_user] == [("alice", 73, 3), ("bob", 31, 1)]
    by_model = await store.usage_totals("app1", "alice", group_by="model", **window)
    assert [(t.key, t.prompt_tokens) for t in by_model] == [("m1", 50), ("m2", 20)]
    by_day = await store.usage_totals("app1", None, group_by="day", **window)
    assert [t.key for t in by_day] == [yesterday.strftime("%Y-%m-%d"), now.strftime("%Y-%m-%d")]
    assert by_day[1].cost == pytest.approx(1.5)


async def test_lease_is_exclusive_until_expired(store: Store) -> None:
    lease = await store.acquire_lease("app1/c1", "replica-a", 30)
    assert lease is not None and lease.owner == "replica-a"
    assert await store.acquire_lease("app1/c1", "replica-b", 30) is None
    assert await store.acquire_lease("app1/c1", "replica-a", 30) is not None  # renew
    await store.release_lease("app1/c1", "replica-b")  # not the owner: no effect
    assert await store.acquire_lease("app1/c1", "replica-b", 30) is None
    await store.release_lease("app1/c1", "replica-a")
    assert await store.acquire_lease("app1/c1", "replica-b", 0.05) is not None
    await asyncio.sleep(0.1)
    assert await store.acquire_lease("app1/c1", "replica-a", 30) is not None  # expired


async def test_ping(store: Store) -> None:
    await store.ping()
