"""The notifier as the journal's observer (chats/journal.py, webhooks/notifier.py), over the
embedded store: a delivery per notified event, stored before the event is published; other
events cost no call; a full outbox drops the oldest and says so."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

import pytest

from mozaiks_runtime.chats.hub import Hub
from mozaiks_runtime.chats.journal import Journal
from mozaiks_runtime.metrics import Metrics
from mozaiks_runtime.refs import ChatRef
from mozaiks_runtime.storage.base import ChatRecord, NewEvent, StoredEvent, utcnow
from mozaiks_runtime.storage.sqlite import SqliteStore
from mozaiks_runtime.webhooks.body import NOTIFIED_EVENTS
from mozaiks_runtime.webhooks.notifier import Notifier

pytestmark = pytest.mark.unit
KEY = ("app", "c1")
CHAT = ChatRef(*KEY)
OBSERVED = frozenset(NOTIFIED_EVENTS)


async def _chat(store: SqliteStore) -> None:
    now = utcnow()
    await store.create_chat(ChatRecord("app", "c1", "alice", "hello", "1", "running", now, now))


async def _outbox(store: SqliteStore) -> list[dict[str, object]]:
    later = utcnow() + timedelta(days=1)
    found = await store.claim_deliveries("app", now=later, claim_seconds=0, limit=100)
    return [json.loads(d.body) for d in found]


async def test_notified_events_are_queued_before_they_are_published(store: SqliteStore) -> None:
    await _chat(store)
    hub, woken = Hub(), []
    notifier = Notifier(store, max_outbox=100, wake=lambda: woken.append(1))
    published_when_notified: list[int] = []

    async def observe(events: Sequence[StoredEvent]) -> None:
        published_when_notified.append(sub.qsize())
        await notifier(events)

    journal = Journal(store, hub, on_stored=observe, observed=OBSERVED)
    with hub.subscribe(CHAT) as sub:
        await journal.append(
            CHAT,
            [
                NewEvent("chat.text", {"content": "hi"}),
                NewEvent("chat.input_request", {"request_id": "r1", "agent": "A", "prompt": "?"}),
            ],
        )
        assert sub.qsize() == 2
        for n in range(5):
            await journal.emit(CHAT, NewEvent("chat.text", {"n": n}))
        await journal.append(CHAT, [NewEvent("chat.run_complete", {"status": "completed"})])
    await journal.close()
    # Called before its batch reached the socket: the first batch (seqs 1-2) and the second
    # (seqs 3-8: five texts then the end, in one write) had published nothing yet.
    assert published_when_notified == [0, 2]
    bodies = await _outbox(store)
    assert [(b["type"], b["seq"], b["user_id"]) for b in bodies] == [
        ("chat.input_request", 2, "alice"),
        ("chat.run_complete", 8, "alice"),
    ]
    assert woken == [1, 1]


async def test_other_events_never_reach_the_observer(store: SqliteStore) -> None:
    calls: list[int] = []

    async def observe(events: Sequence[StoredEvent]) -> None:
        calls.append(len(events))

    journal = Journal(store, Hub(), on_stored=observe, observed=OBSERVED)
    for n in range(50):
        await journal.emit(CHAT, NewEvent("chat.text", {"n": n}))
    await journal.append(CHAT, [NewEvent("chat.usage_summary", {})])
    assert calls == []


async def test_a_failing_observer_does_not_stall_the_chat(store: SqliteStore) -> None:
    async def observe(events: Sequence[StoredEvent]) -> None:
        raise RuntimeError("bug")

    journal = Journal(store, Hub(), on_stored=observe, observed=OBSERVED)
    stored = await journal.append(CHAT, [NewEvent("chat.error", {}), NewEvent("chat.text", {})])
    assert [e.seq for e in stored] == [1, 2]


async def test_a_full_outbox_drops_the_oldest_and_counts_it(store: SqliteStore) -> None:
    await _chat(store)
    metrics = Metrics()
    notifier = Notifier(store, max_outbox=2, metrics=metrics)
    journal = Journal(store, Hub(), on_stored=notifier, observed=OBSERVED)
    for n in range(4):
        await journal.append(CHAT, [NewEvent("chat.error", {"error_code": f"E{n}"})])
    assert [b["data"] for b in await _outbox(store)] == [
        {"error_code": "E2", "message": None},
        {"error_code": "E3", "message": None},
    ]
    dropped = metrics.registry.get_sample_value(
        "mozaiks_webhook_outbox_dropped_total", {"reason": "full"}
    )
    assert dropped == 2


async def test_a_store_failure_loses_the_deliveries_not_the_events(store: SqliteStore) -> None:
    metrics = Metrics()
    broken = SqliteStore(store._path.with_name("never-started.sqlite3"))
    journal = Journal(
        store, Hub(), on_stored=Notifier(broken, max_outbox=9, metrics=metrics), observed=OBSERVED
    )
    stored = await journal.append(CHAT, [NewEvent("chat.run_complete", {})])
    assert [e.seq for e in stored] == [1]
    lost = metrics.registry.get_sample_value(
        "mozaiks_webhook_outbox_dropped_total", {"reason": "store_error"}
    )
    assert lost == 1
