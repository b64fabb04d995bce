"""The webhook outbox (storage/base.py, "Webhook outbox"), run against SQLite and FerretDB:
bounded, claimed by one replica at a time, kept across a reopen, scoped by app."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from mozaiks_runtime.storage.base import Store, WebhookDelivery, utcnow

pytestmark = pytest.mark.contract
BIG = 1000


def _delivery(
    delivery_id: str, *, app: str = "app1", age: float = 0, due_in: float = 0
) -> WebhookDelivery:
    now = utcnow()
    return WebhookDelivery(
        id=delivery_id,
        app_id=app,
        event_type="chat.run_complete",
        body=f'{{"id":"{delivery_id}","data":{{"a.b":{{"$x":[[1]]}}}}}}',
        created_at=now - timedelta(seconds=age),
        next_attempt_at=now + timedelta(seconds=due_in),
    )


async def _claim(store: Store, *, at: datetime | None = None, limit: int = 10) -> list[str]:
    found = await store.claim_deliveries("app1", now=at or utcnow(), claim_seconds=60, limit=limit)
    return [d.id for d in found]


async def test_enqueue_round_trip_and_duplicate_id_is_a_no_op(store: Store) -> None:
    delivery = _delivery("d1", age=1)
    assert await store.enqueue_delivery(delivery, max_outbox=BIG) == []
    assert await store.enqueue_delivery(delivery, max_outbox=BIG) == []
    assert await store.count_deliveries("app1") == 1
    assert await store.count_deliveries("other-app") == 0
    (claimed,) = await store.claim_deliveries("app1", now=utcnow(), claim_seconds=30, limit=10)
    assert (claimed.id, claimed.body, claimed.event_type) == (
        "d1",
        delivery.body,
        delivery.event_type,
    )
    assert (claimed.created_at, claimed.attempts, claimed.last_error) == (
        delivery.created_at,
        0,
        None,
    )
    assert claimed.next_attempt_at > utcnow() + timedelta(seconds=25)


async def test_claim_takes_due_deliveries_oldest_first(store: Store) -> None:
    for delivery in (
        _delivery("later", due_in=30),
        _delivery("young", age=1),
        _delivery("old", age=5),
        _delivery("theirs", app="app2", age=9),
    ):
        await store.enqueue_delivery(delivery, max_outbox=BIG)
    assert await _claim(store, limit=1) == ["old"]
    assert await _claim(store) == ["young"]
    assert await _claim(store) == []  # claimed ones are not due again until the claim runs out
    assert await _claim(store, at=utcnow() + timedelta(seconds=61)) == ["old", "young", "later"]


async def test_a_claim_holds_off_the_other_replica(store: Store, other_replica: Store) -> None:
    for i in range(4):
        await store.enqueue_delivery(_delivery(f"d{i}", age=4 - i), max_outbox=BIG)
    mine = await _claim(store, limit=2)
    theirs = await _claim(other_replica)
    assert mine == ["d0", "d1"] and theirs == ["d2", "d3"]
    assert await _claim(store) == [] and await _claim(other_replica) == []


async def test_concurrent_claims_send_every_delivery(store: Store, other_replica: Store) -> None:
    """At-least-once: replicas polling side by side leave nothing unclaimed."""
    ids = {f"d{i:02}" for i in range(20)}
    for i, delivery_id in enumerate(sorted(ids)):
        await store.enqueue_delivery(_delivery(delivery_id, age=20 - i), max_outbox=BIG)

    async def poll(replica: Store) -> list[str]:
        claimed: list[str] = []
        while found := await _claim(replica, limit=3):
            claimed += found
        return claimed

    rounds = await asyncio.gather(poll(store), poll(other_replica), poll(store))
    assert {i for found in rounds for i in found} == ids
    assert all(found == sorted(found) for found in rounds)  # each replica goes oldest first


async def test_reschedule_records_the_attempt(store: Store, other_replica: Store) -> None:
    await store.enqueue_delivery(_delivery("d1"), max_outbox=BIG)
    assert await _claim(store) == ["d1"]
    retry_at = utcnow() + timedelta(seconds=5)
    await store.reschedule_delivery(
        "app1", "d1", next_attempt_at=retry_at, attempts=1, last_error="HTTP 500"
    )
    assert await _claim(other_replica) == []
    (again,) = await other_replica.claim_deliveries(
        "app1", now=retry_at, claim_seconds=60, limit=10
    )
    assert (again.id, again.attempts, again.last_error) == ("d1", 1, "HTTP 500")
    await store.reschedule_delivery(
        "app1", "gone", next_attempt_at=retry_at, attempts=1, last_error=None
    )
    assert await store.count_deliveries("app1") == 1


async def test_delete_removes_a_delivery(store: Store) -> None:
    await store.enqueue_delivery(_delivery("d1"), max_outbox=BIG)
    await store.enqueue_delivery(_delivery("d1", app="app2"), max_outbox=BIG)
    await store.delete_delivery("app1", "d1")
    await store.delete_delivery("app1", "d1")  # twice: nothing
    assert await store.count_deliveries("app1") == 0
    assert await store.count_deliveries("app2") == 1


async def test_a_full_outbox_drops_the_oldest(store: Store) -> None:
    for i in range(3):
        assert await store.enqueue_delivery(_delivery(f"d{i}", age=10 - i), max_outbox=3) == []
    await store.enqueue_delivery(_delivery("x", app="app2", age=99), max_outbox=3)
    assert await store.enqueue_delivery(_delivery("d3", age=1), max_outbox=3) == ["d0"]
    assert await store.enqueue_delivery(_delivery("d4", age=0), max_outbox=2) in (
        ["d1", "d2"],
        ["d2", "d1"],
    )
    assert await store.count_deliveries("app1") == 2
    assert await _claim(store) == ["d3", "d4"]
    assert await store.count_deliveries("app2") == 1


async def test_the_outbox_outlives_the_adapter(store: Store, other_replica: Store) -> None:
    """What one adapter (a process about to restart) queued, a new one on the store sends."""
    await store.enqueue_delivery(_delivery("d1"), max_outbox=BIG)
    await store.close()
    assert await _claim(other_replica) == ["d1"]
