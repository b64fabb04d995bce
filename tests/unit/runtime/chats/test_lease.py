"""RunLease on a real (SQLite) store: one trip to take it, Conflict when another owner holds it,
released on exit."""

from __future__ import annotations

import pytest

from mozaiks_runtime.chats.lease import RunLease
from mozaiks_runtime.errors import Conflict
from mozaiks_runtime.storage.base import Lease
from mozaiks_runtime.storage.sqlite import SqliteStore

pytestmark = pytest.mark.unit


class Counted:
    """Counts the store's lease takes (a spy on the real store, which still does the work)."""

    def __init__(self, store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        take = store.acquire_lease

        async def counting(name: str, owner: str, ttl_seconds: float) -> Lease | None:
            self.calls += 1
            return await take(name, owner, ttl_seconds)

        monkeypatch.setattr(store, "acquire_lease", counting)


def lease(store: SqliteStore, owner: str) -> RunLease:
    return RunLease(store, name="chat/a/c1", owner=owner, ttl_seconds=30, on_lost=lambda: None)


async def test_taking_then_entering_is_one_trip(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = Counted(store, monkeypatch)
    mine = lease(store, "replica-a")
    assert await mine.try_acquire()
    async with mine:
        assert taken.calls == 1
        with pytest.raises(Conflict):
            async with lease(store, "replica-b"):
                pass
    async with lease(store, "replica-b"):  # released on exit
        assert taken.calls == 3


async def test_entering_untaken_takes_it(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = Counted(store, monkeypatch)
    async with lease(store, "replica-a"):
        assert taken.calls == 1
        assert not await lease(store, "replica-b").try_acquire()
