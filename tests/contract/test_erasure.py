"""Deletion, retention and erasure (storage/base.py, "Deletion, retention, erasure"), on SQLite
and FerretDB: exact keys only, every other user's and tenant's rows left as they were, billing
totals kept through the usage rollups."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from mozaiks_runtime.storage.base import (
    ERASED_USER,
    ChatRecord,
    DeletedRows,
    ErasureAudit,
    NewEvent,
    PendingRequest,
    Store,
    UsageRecord,
    utcnow,
)
from mozaiks_runtime.storage.mongo import MongoStore
from mozaiks_runtime.storage.mongo import erasure as mongo_erasure
from mozaiks_runtime.users.export import page_lines

pytestmark = pytest.mark.contract

APPS = ("app1", "app2")
USERS = ("alice", "bob")
CHATS_PER_USER = 2
EVENTS_PER_CHAT = 3
USAGE_PER_CHAT = 2
Kinds = tuple[int, int, int, int, int]  # chats, events, open pending, inbox, usage rows


def _chat_ids(user: str) -> list[str]:
    return [f"{user}-c{i}" for i in range(CHATS_PER_USER)]


async def _populate(store: Store) -> None:
    """Both tenants, both users, the same chat ids everywhere (ids are only unique per app)."""
    now = utcnow()
    for app in APPS:
        for user in USERS:
            for chat_id in _chat_ids(user):
                await store.create_chat(
                    ChatRecord(app, chat_id, user, "hello", "v1", "idle", now, now)
                )
                events = [NewEvent("chat.text", {"n": i}) for i in range(EVENTS_PER_CHAT)]
                await store.append_events(app, chat_id, events)
                await store.create_pending(
                    PendingRequest(
                        f"{chat_id}-r",
                        app,
                        chat_id,
                        user,
                        "input",
                        "A",
                        {"prompt": "?"},
                        now,
                        now + timedelta(hours=1),
                    )
                )
                await store.push_inbox(app, chat_id, "message", {"text": "later"})
                for model in ("m1", "m2")[:USAGE_PER_CHAT]:
                    await store.record_usage(
                        UsageRecord(app, chat_id, user, "hello", "A", model, 10, 5, 0.1, 0.25)
                    )


async def _kinds(store: Store, app: str, user: str) -> Kinds:
    """Every kind of row the user has in the app, counted through the protocol."""
    chats = events = pending = inbox = usage = 0
    for chat_id in _chat_ids(user):
        chat = await store.get_chat(app, chat_id)
        chats += chat is not None and chat.user_id == user
        events += len(await store.events_after(app, chat_id))
        pending += len(await store.list_open_pending(app, chat_id))
        inbox += len(await store.list_inbox(app, [chat_id]))
        usage += len([u async for u in store.usage_of_chats(app, [chat_id])])
    return chats, events, pending, inbox, usage


FULL: Kinds = (
    CHATS_PER_USER,
    CHATS_PER_USER * EVENTS_PER_CHAT,
    CHATS_PER_USER,
    CHATS_PER_USER,
    CHATS_PER_USER * USAGE_PER_CHAT,
)
EMPTY: Kinds = (0, 0, 0, 0, 0)


async def _totals(store: Store, app: str, user: str | None) -> tuple[int, int, float, int]:
    now = utcnow()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    groups = await store.usage_totals(
        app, user, start=day, end=day + timedelta(days=1), group_by="model"
    )
    tokens = await store.sum_tokens(app, user, day)
    return (
        sum(g.total_tokens for g in groups),
        tokens,
        round(sum(g.cost for g in groups), 6),
        sum(g.calls for g in groups),
    )


async def test_deleting_one_chat_removes_its_rows_only_and_keeps_billing(store: Store) -> None:
    await _populate(store)
    before = {(a, u): await _kinds(store, a, u) for a in APPS for u in USERS}
    assert set(before.values()) == {FULL}
    totals = {(a, u): await _totals(store, a, u) for a in APPS for u in (*USERS, None)}

    deleted = await store.delete_chats("app1", ["alice-c0"])

    assert deleted == DeletedRows(1, EVENTS_PER_CHAT, 1, 1, USAGE_PER_CHAT)
    assert await store.get_chat("app1", "alice-c0") is None
    assert await store.events_after("app1", "alice-c0") == []
    assert [u async for u in store.usage_of_chats("app1", ["alice-c0"])] == []
    after = {(a, u): await _kinds(store, a, u) for a in APPS for u in USERS}
    assert after.pop(("app1", "alice")) == (1, 3, 1, 1, 2)
    assert set(after.values()) == {FULL}  # bob, and app2's alice (same chat ids), untouched
    # Billing: every report and budget sum is what it was, the user's included.
    assert {k: await _totals(store, *k) for k in totals} == totals
    rollups = await store.usage_rollups("app1", "alice")
    assert [(r.model, r.prompt_tokens, r.completion_tokens, r.calls) for r in rollups] == [
        ("m1", 10, 5, 1),
        ("m2", 10, 5, 1),
    ]


async def test_repeating_a_deletion_counts_nothing_twice(store: Store) -> None:
    await _populate(store)
    totals = await _totals(store, "app1", None)
    await store.delete_chats("app1", ["alice-c0", "alice-c0", "bob-c1"])
    again = await store.delete_chats("app1", ["alice-c0", "bob-c1", "no-such-chat"])
    assert again == DeletedRows()
    assert await _totals(store, "app1", None) == totals


async def test_erasing_a_user_leaves_other_users_and_tenants_intact(store: Store) -> None:
    await _populate(store)
    app_totals = {a: await _totals(store, a, None) for a in APPS}
    bob = await _totals(store, "app1", "bob")
    await store.delete_chats("app1", ["alice-c0"])  # an earlier deletion: rollup kept as alice

    deleted = await store.delete_chats("app1", _chat_ids("alice"), keep_user=False)
    moved = await store.anonymize_rollups("app1", "alice")

    assert deleted.chats == 1 and moved == 2
    assert await _kinds(store, "app1", "alice") == EMPTY
    assert await store.usage_rollups("app1", "alice") == []
    assert await _totals(store, "app1", "alice") == (0, 0, 0.0, 0)
    assert await _kinds(store, "app1", "bob") == FULL
    assert await _totals(store, "app1", "bob") == bob
    assert {u: await _kinds(store, "app2", u) for u in USERS} == {"alice": FULL, "bob": FULL}
    # The app's totals still hold the erased user's calls, attributed to nobody.
    assert {a: await _totals(store, a, None) for a in APPS} == app_totals
    erased = await store.usage_rollups("app1", ERASED_USER)
    assert sum(r.calls for r in erased) == CHATS_PER_USER * USAGE_PER_CHAT


async def test_idle_chats_are_the_old_inactive_ones_of_the_app(store: Store) -> None:
    await _populate(store)
    await store.update_chat("app1", "bob-c0", status="waiting")
    await store.update_chat("app1", "bob-c1", status="running")
    cutoff = utcnow() + timedelta(seconds=1)
    idle = await store.idle_chats("app1", cutoff, limit=10)
    assert sorted(c.chat_id for c in idle) == ["alice-c0", "alice-c1"]
    assert {c.app_id for c in idle} == {"app1"}
    assert len(await store.idle_chats("app1", cutoff, limit=1)) == 1
    assert await store.idle_chats("app1", utcnow() - timedelta(hours=1), limit=10) == []

    # What retention then deletes: those two, and nothing of bob's or of the other tenant.
    totals = await _totals(store, "app1", None)
    deleted = await store.delete_chats("app1", [c.chat_id for c in idle])
    assert deleted.chats == 2 and await _kinds(store, "app1", "alice") == EMPTY
    assert await _kinds(store, "app1", "bob") == FULL
    assert {u: await _kinds(store, "app2", u) for u in USERS} == {"alice": FULL, "bob": FULL}
    assert await _totals(store, "app1", None) == totals


async def test_erasure_audit_is_kept_newest_first_per_app(store: Store) -> None:
    now = utcnow()
    for i, app in enumerate(("app1", "app1", "app2")):
        await store.append_audit(
            ErasureAudit(
                audit_id=f"er_{i}",
                app_id=app,
                user_id="alice",
                requested_by="admin",
                counts={"chats": i, "events": 2},
                sha256="ab" * 32,
                erased_at=now + timedelta(seconds=i),
            )
        )
    found = await store.list_audit("app1")
    assert [(a.audit_id, a.counts["chats"]) for a in found] == [("er_1", 1), ("er_0", 0)]
    assert found[0].erased_at == now + timedelta(seconds=1)
    assert [a.audit_id for a in await store.list_audit("app2")] == ["er_2"]


async def test_events_and_usage_of_chats_are_read_in_order_across_pages(store: Store) -> None:
    now = utcnow()
    for chat_id in ("b", "a", "c"):
        await store.create_chat(ChatRecord("app1", chat_id, "alice", "w", "v", "idle", now, now))
        events = [NewEvent("chat.text", {"n": i, "k": {"x.y": [[1]]}}) for i in range(700)]
        await store.append_events("app1", chat_id, events)
        for i in range(3):
            moment = now + timedelta(seconds=-i)  # recorded newest first
            await store.record_usage(
                UsageRecord("app1", chat_id, "alice", "w", "A", f"m{i}", i, 1, 0.1, 0.0, moment)
            )
    await store.create_chat(ChatRecord("app2", "a", "alice", "w", "v", "idle", now, now))
    await store.append_events("app2", "a", [NewEvent("chat.text", {"other": True})])

    found = [e async for e in store.events_of_chats("app1", ["c", "a", "a"])]
    assert [(e.chat_id, e.seq) for e in found] == [
        (chat, seq) for chat in ("a", "c") for seq in range(1, 701)
    ]
    assert found[5].data == {"n": 5, "k": {"x.y": [[1]]}} and found[5].app_id == "app1"
    usage = [u async for u in store.usage_of_chats("app1", ["b", "a"])]
    assert [(u.chat_id, u.model) for u in usage] == [
        (chat, f"m{i}") for chat in ("a", "b") for i in (2, 1, 0)
    ]
    assert [e async for e in store.events_of_chats("app1", [])] == []


async def test_an_export_page_has_every_kind_of_row_of_the_user_only(store: Store) -> None:
    await _populate(store)
    chats = (await store.list_chats("app1", user_id="alice", limit=10)).chats
    lines = [json.loads(line) async for line in page_lines(store, chats)]
    assert Counter(line["kind"] for line in lines) == {
        "chat": CHATS_PER_USER,
        "event": CHATS_PER_USER * EVENTS_PER_CHAT,
        "usage": CHATS_PER_USER * USAGE_PER_CHAT,
        "pending": CHATS_PER_USER,
        "inbox": CHATS_PER_USER,
    }
    assert {line["chat_id"] for line in lines} == set(_chat_ids("alice"))
    kinds = [line["kind"] for line in lines]
    assert kinds == sorted(kinds, key=["chat", "event", "usage", "pending", "inbox"].index)
    question = next(line for line in lines if line["kind"] == "pending")
    assert (question["type"], question["asked"], question["status"]) == (
        "input",
        {"prompt": "?"},
        "open",
    )
    queued = next(line for line in lines if line["kind"] == "inbox")
    assert (queued["type"], queued["payload"]) == ("message", {"text": "later"})


def _question(app: str, chat_id: str, n: int, at: timedelta) -> PendingRequest:
    now = utcnow() + at
    payload = {"prompt": f"q{n}", "password": n == 1}
    return PendingRequest(
        f"{chat_id}-r{n}", app, chat_id, "alice", "input", "A", payload, now, now + at
    )


async def test_pending_of_chats_are_read_in_order_and_a_password_answer_can_go(
    store: Store,
) -> None:
    for chat_id in ("b", "a"):
        for n in (2, 1, 0):  # created newest first
            await store.create_pending(_question("app1", chat_id, n, timedelta(seconds=-n)))
    await store.create_pending(_question("app2", "a", 9, timedelta(0)))
    await store.resolve_pending("app1", "a-r1", answer="hunter2")
    await store.resolve_pending("app1", "a-r2", answer={"ok": True})
    await store.forget_answer("app1", "a-r1")  # the password, once its run took it
    await store.forget_answer("app1", "b-r0")  # still open: nothing to forget
    await store.forget_answer("app2", "a-r1")  # no such request in that app: nothing

    found = [r async for r in store.pending_of_chats("app1", ["b", "a", "a"])]
    assert [r.request_id for r in found] == ["a-r2", "a-r1", "a-r0", "b-r2", "b-r1", "b-r0"]
    by_id = {r.request_id: r for r in found}
    assert (by_id["a-r1"].status, by_id["a-r1"].answer) == ("answered", None)
    assert by_id["a-r1"].answered_at is not None
    assert (by_id["a-r2"].status, by_id["a-r2"].answer) == ("answered", {"ok": True})
    assert by_id["b-r0"].status == "open" and by_id["b-r0"].payload["prompt"] == "q0"
    assert [r.app_id for r in found] == ["app1"] * 6
    assert [r async for r in store.pending_of_chats("app1", [])] == []


async def test_long_logs_are_deleted_whole_in_bounded_steps(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MongoDB deletes at most EVENTS_PER_DELETE events at a time (FerretDB binds every matched
    id in one SQL statement): grouped chats, seq windows for a long log, nothing left over."""
    monkeypatch.setattr(mongo_erasure, "EVENTS_PER_DELETE", 5)
    now = utcnow()
    sizes = {"long": 12, "mid": 4, "small": 2, "none": 0, "kept": 7}
    for chat_id, n in sizes.items():
        await store.create_chat(ChatRecord("app1", chat_id, "alice", "w", "v", "idle", now, now))
        if n:
            events = [NewEvent("chat.text", {"n": i}) for i in range(n)]
            await store.append_events("app1", chat_id, events)
    deleted = await store.delete_chats("app1", ["small", "long", "none", "mid"])
    assert (deleted.chats, deleted.events) == (4, 18)
    for chat_id in ("long", "mid", "small", "none"):
        assert await store.events_after("app1", chat_id) == []
    assert len(await store.events_after("app1", "kept")) == 7


async def test_a_mongo_deletion_cut_short_after_the_fold_counts_nothing_twice(
    ferretdb: str, mongo_database: str
) -> None:
    """No transactions on FerretDB: a deletion that stopped after folding the usage (a crash)
    is repeated; the fold's deterministic ids keep the calls counted once."""
    from pymongo import AsyncMongoClient

    store = MongoStore(ferretdb, mongo_database)
    await store.start()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(ferretdb, tz_aware=True)
    try:
        await _populate(store)
        totals = await _totals(store, "app1", None)
        alice = await _totals(store, "app1", "alice")
        await mongo_erasure.fold_usage(client[mongo_database], "app1", _chat_ids("alice"), True)
        deleted = await store.delete_chats("app1", _chat_ids("alice"))
        assert deleted.usage == CHATS_PER_USER * USAGE_PER_CHAT
        assert await _totals(store, "app1", None) == totals
        assert await _totals(store, "app1", "alice") == alice
    finally:
        await client.close()
        await store.close()
