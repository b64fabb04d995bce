"""The journal (chats/journal.py) over the embedded store: every event stored before it is
published, in seq order with transient frames in between, one write per burst, failures
reported to the run."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from mozaiks_runtime.chats.events import transient
from mozaiks_runtime.chats.hub import Hub
from mozaiks_runtime.chats.journal import Journal
from mozaiks_runtime.errors import StorageUnavailable
from mozaiks_runtime.refs import ChatRef
from mozaiks_runtime.storage.base import NewEvent, utcnow
from mozaiks_runtime.storage.sqlite import SqliteStore
from mozaiks_runtime.wire.events import TextChunkData

pytestmark = pytest.mark.unit
KEY = ("app", "c1")
CHAT = ChatRef(*KEY)


async def test_emitted_events_are_stored_then_published_in_order(store: SqliteStore) -> None:
    hub = Hub()
    journal = Journal(store, hub)
    with hub.subscribe(CHAT) as sub:
        for n in range(1, 4):
            await journal.emit(CHAT, NewEvent("chat.text", {"n": n}))
        journal.publish(
            CHAT, transient("chat.text_chunk", TextChunkData(agent="A", content="x"), chat_id="c1")
        )
        last = await journal.append(CHAT, [NewEvent("chat.run_complete", {})])
        assert [e.seq for e in last] == [4]
        frames = [sub.get_nowait() for _ in range(5)]
    assert [f.seq for f in frames] == [1, 2, 3, None, 4]
    assert frames[3].type == "chat.text_chunk"
    # Each published event was in the store already.
    assert [e.seq for e in await store.events_after(*KEY, 0)] == [1, 2, 3, 4]


async def test_a_burst_becomes_few_writes(store: SqliteStore) -> None:
    journal = Journal(store, Hub(), backlog=10_000)
    for n in range(200):
        await journal.emit(CHAT, NewEvent("chat.text", {"n": n}))
    await journal.append(CHAT, [])
    await journal.close()
    assert await store.last_seq(*KEY) == 200


async def test_backpressure_waits_for_the_disk(store: SqliteStore) -> None:
    journal = Journal(store, Hub(), backlog=2)
    for n in range(5):
        await journal.emit(CHAT, NewEvent("chat.text", {"n": n}))
    # The backlog bound made emit wait: little is left unstored.
    assert await store.last_seq(*KEY) >= 3
    await journal.close()
    assert await store.last_seq(*KEY) == 5


async def test_a_failed_write_reaches_the_run(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "closed.sqlite3")  # never started: every write fails
    journal = Journal(store, Hub())
    await journal.emit(CHAT, NewEvent("chat.text", {}))
    await asyncio.sleep(0.05)
    with pytest.raises(StorageUnavailable):
        await journal.emit(CHAT, NewEvent("chat.text", {}))
    with pytest.raises(StorageUnavailable):
        await journal.append(CHAT, [NewEvent("chat.text", {})])
    await store.close()


async def test_each_stored_batch_reports_the_delay_of_its_oldest_event(
    store: SqliteStore,
) -> None:
    delays: list[float] = []
    journal = Journal(store, Hub(), backlog=10_000, on_published=delays.append)
    old = NewEvent("chat.text", {"n": 0}, timestamp=utcnow() - timedelta(seconds=2))
    await journal.append(CHAT, [old, NewEvent("chat.text", {"n": 1})])
    assert len(delays) == 1 and 2 <= delays[0] < 10  # one batch, its oldest event
    for n in range(50):
        await journal.emit(CHAT, NewEvent("chat.text", {"n": n}))
    await journal.close()
    assert 2 <= len(delays) <= 51 and all(0 <= d < 2 for d in delays[1:])
