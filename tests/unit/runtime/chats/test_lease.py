"""RunLease on a real (SQLite) store: one trip to take it, Conflict when another owner holds it,
released on exit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mozaiks_runtime.chats.lease import RunLease
from mozaiks_runtime.errors import Conflict
from mozaiks_runtime.storage.base import Lease
from mozaiks_runtime.storage.sqlite import SqliteStore

pytestmark = pytest.mark.unit


class CountingStore(SqliteStore):
    acquired = 0

    async def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> Lease | None:
        self.acquired += 1
        return await super().acquire_lease(name, owner, ttl_seconds)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[CountingStore]:
    store = CountingStore(tmp_path / "l.sqlite3")
    await store.start()
    yield store
    await store.close()


def lease(store: SqliteStore, owner: str) -> RunLease:
    return RunLease(store, name="chat/a/c1", owner=owner, ttl_seconds=30, on_lost=lambda: None)


async def test_taking_then_entering_is_one_trip(store: CountingStore) -> None:
    mine = lease(store, "replica-a")
    assert await mine.try_acquire()
    async with mine:
        assert store.acquired == 1
        with pytest.raises(Conflict):
            async with lease(store, "replica-b"):
                pass
    async with lease(store, "replica-b"):  # released on exit
        assert store.acquired == 3


async def test_entering_untaken_takes_it(store: CountingStore) -> None:
    async with lease(store, "replica-a"):
        assert store.acquired == 1
        assert not await lease(store, "replica-b").try_acquire()
