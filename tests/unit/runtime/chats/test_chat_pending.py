"""Pending requests (chats/pending.py) over the embedded store: answered once, by the owner, in
time; an answer stored by another replica still reaches the waiting run."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from mozaiks_runtime.chats.pending import PendingRequests, sweep_expired
from mozaiks_runtime.errors import InputRequestNotFound, InputTimeout
from mozaiks_runtime.storage.sqlite import SqliteStore

pytestmark = pytest.mark.unit


async def _open(pending: PendingRequests, ttl: float = 5.0, kind: str = "input") -> str:
    request = await pending.open(
        app_id="app",
        chat_id="c1",
        user_id="alice",
        kind=kind,  # type: ignore[arg-type]
        agent="A",
        payload={"prompt": "name?"},
        timeout_seconds=ttl,
    )
    return request.request_id


async def test_answer_reaches_the_waiter_once(store: SqliteStore) -> None:
    pending = PendingRequests(store)
    rid = await _open(pending)
    request = await store.get_pending("app", rid)
    assert request is not None
    waiter = asyncio.create_task(pending.wait(request))
    await asyncio.sleep(0)
    answered, waiting = await pending.answer(
        app_id="app", chat_id="c1", user_id="alice", request_id=rid, answer="Ada"
    )
    assert waiting and answered.status == "answered"
    assert await waiter == "Ada"
    with pytest.raises(InputRequestNotFound, match="already answered"):
        await pending.answer(
            app_id="app", chat_id="c1", user_id="alice", request_id=rid, answer="x"
        )
    assert await pending.open_for("app", "c1") == []


@pytest.mark.parametrize(
    ("chat_id", "user_id", "kind"),
    [("c2", "alice", None), ("c1", "bob", None), ("c1", "alice", "ui_tool")],
)
async def test_wrong_chat_user_or_kind_is_not_found(
    store: SqliteStore, chat_id: str, user_id: str, kind: str | None
) -> None:
    pending = PendingRequests(store)
    rid = await _open(pending)
    with pytest.raises(InputRequestNotFound):
        await pending.answer(
            app_id="app",
            chat_id=chat_id,
            user_id=user_id,
            request_id=rid,
            answer="x",
            kind=kind,  # type: ignore[arg-type]
        )
    assert [r.request_id for r in await pending.open_for("app", "c1")] == [rid]


async def test_timeout_expires_the_request(store: SqliteStore) -> None:
    pending = PendingRequests(store, poll_seconds=0.05)
    rid = await _open(pending, ttl=0.2)
    request = await store.get_pending("app", rid)
    assert request is not None
    with pytest.raises(InputTimeout):
        await pending.wait(request)
    expired = await store.get_pending("app", rid)
    assert expired is not None and expired.status == "expired"
    with pytest.raises(InputRequestNotFound):
        await pending.answer(
            app_id="app", chat_id="c1", user_id="alice", request_id=rid, answer="x"
        )


async def test_an_answer_stored_elsewhere_is_picked_up(store: SqliteStore) -> None:
    pending = PendingRequests(store, poll_seconds=0.05)
    rid = await _open(pending)
    request = await store.get_pending("app", rid)
    assert request is not None
    waiter = asyncio.create_task(pending.wait(request))
    # Another replica took the answer: it only wrote the store.
    other = PendingRequests(store)
    _, waiting = await other.answer(
        app_id="app", chat_id="c1", user_id="alice", request_id=rid, answer={"ok": True}
    )
    assert waiting is False
    assert await asyncio.wait_for(waiter, 2) == {"ok": True}


async def test_the_sweeper_expires_abandoned_requests(store: SqliteStore) -> None:
    pending = PendingRequests(store)
    rid = await _open(pending, ttl=0.01)  # its run died: nobody waits for it
    await asyncio.sleep(0.05)
    sweeper = asyncio.create_task(sweep_expired(store, "app", every_seconds=0.01))
    try:
        async with asyncio.timeout(5):  # a pass or two, however loaded the machine
            while True:
                request = await store.get_pending("app", rid)
                if request is None or request.status != "open":
                    break
                await asyncio.sleep(0.01)
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
    assert request is not None and request.status == "expired"


class SlowResolveStore(SqliteStore):
    """The embedded store with a slow answer write (as over a network to MongoDB): the waiting
    run's store poll sees the answer before `answer()` gets control back."""

    async def resolve_pending(self, *args: Any, **kwargs: Any) -> Any:
        resolved = await super().resolve_pending(*args, **kwargs)
        await asyncio.sleep(0.2)
        return resolved


async def test_a_waiter_that_found_the_answer_by_polling_still_counts_as_waiting(
    tmp_path: Path,
) -> None:
    store = SlowResolveStore(tmp_path / "slow.sqlite3")
    await store.start()
    try:
        pending = PendingRequests(store, poll_seconds=0.01)
        rid = await _open(pending)
        request = await store.get_pending("app", rid)
        assert request is not None
        waiter = asyncio.create_task(pending.wait(request))
        await asyncio.sleep(0.02)
        _, waiting = await pending.answer(
            app_id="app", chat_id="c1", user_id="alice", request_id=rid, answer="Ada"
        )
        assert waiter.done() and waiter.result() == "Ada"  # it got there by polling
        assert waiting is True  # so nobody starts a second run for this answer
    finally:
        await store.close()
