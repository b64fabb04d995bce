"""What the run controls need of every Store: inboxes, pinned workflow versions, the sweeper's
queries (storage/base.py), against SQLite and FerretDB, with a second replica where it matters."""

from __future__ import annotations

import asyncio

import pytest

from mozaiks_runtime.storage.base import ChatRecord, Store, utcnow

pytestmark = pytest.mark.contract


def _chat(chat_id: str, *, status: str = "created", app: str = "app1") -> ChatRecord:
    now = utcnow()
    return ChatRecord(
        app_id=app,
        chat_id=chat_id,
        user_id="alice",
        workflow_name="hello",
        workflow_version="sha256:one",
        status=status,  # type: ignore[arg-type]
        created_at=now,
        updated_at=now,
    )


async def test_inbox_keeps_the_order_of_pushes_from_two_replicas(
    store: Store, other_replica: Store
) -> None:
    pushes = [
        (store if i % 2 else other_replica).push_inbox("app1", "c1", "message", {"i": i})
        for i in range(12)
    ]
    pushed = await asyncio.gather(*pushes)
    assert sorted(p.n for p in pushed) == list(range(1, 13))  # no n given twice
    listed = await store.list_inbox("app1", ["c1"])
    assert [item.n for item in listed] == list(range(1, 13))
    by_n = {p.n: p.payload["i"] for p in pushed}
    assert [item.payload["i"] for item in listed] == [by_n[n] for n in range(1, 13)]


async def test_inbox_items_are_taken_once_and_later_pushes_go_last(
    store: Store, other_replica: Store
) -> None:
    first = await store.push_inbox("app1", "c1", "message", {"text": "a"})
    second = await store.push_inbox("app1", "c1", "stop", {"by": "alice"})
    took = await asyncio.gather(
        store.remove_inbox("app1", "c1", first.n), other_replica.remove_inbox("app1", "c1", first.n)
    )
    assert sorted(took) == [False, True]
    third = await other_replica.push_inbox("app1", "c1", "message", {"text": "c"})
    assert third.n > second.n
    assert [i.n for i in await store.list_inbox("app1", ["c1"], "message")] == [third.n]
    assert [i.payload for i in await store.list_inbox("app1", ["c1"], "stop")] == [{"by": "alice"}]


async def test_inbox_is_scoped_by_app_and_chat(store: Store) -> None:
    await store.push_inbox("app1", "c1", "message", {"text": "mine"})
    await store.push_inbox("app2", "c1", "message", {"text": "other tenant"})
    await store.push_inbox("app1", "c2", "stop", {})
    assert [i.payload for i in await store.list_inbox("app1", ["c1"])] == [{"text": "mine"}]
    both = await store.list_inbox("app1", ["c1", "c2"])
    assert [(i.chat_id, i.kind) for i in both] == [("c1", "message"), ("c2", "stop")]
    assert await store.list_inbox("app1", []) == []
    assert not await store.remove_inbox("app2", "c2", 1)


async def test_workflow_versions_are_kept_once_per_app(store: Store, other_replica: Store) -> None:
    await store.save_workflow_version("app1", "hello", "sha256:one", '{"name": "hello"}')
    await other_replica.save_workflow_version("app1", "hello", "sha256:one", '{"changed": 1}')
    assert await other_replica.get_workflow_version("app1", "hello", "sha256:one") == (
        '{"name": "hello"}'
    )
    assert await store.get_workflow_version("app1", "hello", "sha256:two") is None
    assert await store.get_workflow_version("app2", "hello", "sha256:one") is None


async def test_a_chat_moves_to_another_workflow_version(store: Store) -> None:
    await store.create_chat(_chat("c1"))
    moved = await store.update_chat("app1", "c1", workflow_version="sha256:two")
    assert moved is not None and moved.workflow_version == "sha256:two"
    again = await store.get_chat("app1", "c1")
    assert again is not None and again.workflow_version == "sha256:two"


async def test_chats_in_status_finds_the_running_ones_of_the_app(store: Store) -> None:
    for chat_id, status in (("a", "running"), ("b", "idle"), ("c", "waiting"), ("d", "running")):
        await store.create_chat(_chat(chat_id, status=status))
    await store.create_chat(_chat("x", status="running", app="app2"))
    found = await store.chats_in_status("app1", ["running"])
    assert sorted(c.chat_id for c in found) == ["a", "d"]
    both = await store.chats_in_status("app1", ["running", "waiting"], limit=2)
    assert len(both) == 2


async def test_held_leases_are_the_unexpired_ones(store: Store, other_replica: Store) -> None:
    assert await store.acquire_lease("chat/app1/a", "r1", 30)
    assert await other_replica.acquire_lease("chat/app1/b", "r2", 0.05)
    await asyncio.sleep(0.1)
    held = await other_replica.held_leases(["chat/app1/a", "chat/app1/b", "chat/app1/c"])
    assert held == {"chat/app1/a"}
    assert await store.held_leases([]) == set()
