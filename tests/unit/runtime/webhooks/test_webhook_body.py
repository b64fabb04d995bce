"""Delivery bodies (webhooks/body.py): small, stable ids, no message content."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from mozaiks_runtime.storage.base import ChatRecord, StoredEvent
from mozaiks_runtime.webhooks.body import NOTIFIED_EVENTS, build_delivery, delivery_id

pytestmark = pytest.mark.unit
MOMENT = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
CHAT = ChatRecord(
    app_id="acme",
    chat_id="c1",
    user_id="alice",
    workflow_name="hello",
    workflow_version="1",
    status="waiting",
    created_at=MOMENT,
    updated_at=MOMENT,
)


def _event(type_: str, data: dict[str, object], seq: int = 7) -> StoredEvent:
    return StoredEvent("acme", "c1", seq, type_, data, MOMENT)


def test_the_notified_events() -> None:
    assert NOTIFIED_EVENTS == (
        "chat.run_complete",
        "chat.run_cancelled",
        "chat.input_request",
        "chat.error",
    )


@pytest.mark.parametrize(
    ("type_", "data", "kept"),
    [
        (
            "chat.run_complete",
            {"status": "completed", "total_tokens": 42, "summary": "secret plans"},
            {"status": "completed", "total_tokens": 42},
        ),
        (
            "chat.run_cancelled",
            {"by": "alice", "reason": "changed my mind", "extra": 1},
            {"by": "alice", "reason": "changed my mind"},
        ),
        (
            "chat.input_request",
            {"request_id": "r1", "agent": "Greeter", "prompt": "Your PIN?", "password": True},
            {"request_id": "r1", "agent": "Greeter"},
        ),
        (
            "chat.error",
            {"error_code": "BUDGET_EXCEEDED", "message": "over budget"},
            {"error_code": "BUDGET_EXCEEDED", "message": "over budget"},
        ),
    ],
)
def test_bodies_carry_a_small_subset(type_: str, data: dict[str, object], kept: object) -> None:
    delivery = build_delivery(_event(type_, data), CHAT, now=MOMENT)
    body = json.loads(delivery.body)
    assert body == {
        "id": delivery.id,
        "type": type_,
        "app_id": "acme",
        "chat_id": "c1",
        "user_id": "alice",
        "workflow_name": "hello",
        "seq": 7,
        "occurred_at": "2026-03-01T12:00:00.123Z",
        "data": kept,
    }
    assert (delivery.event_type, delivery.attempts, delivery.next_attempt_at) == (type_, 0, MOMENT)


def test_ids_are_stable_per_event_and_distinct_between_events() -> None:
    event = _event("chat.run_complete", {})
    assert delivery_id(event) == delivery_id(_event("chat.run_complete", {"x": 1}))
    assert delivery_id(event).startswith("whd_")
    assert delivery_id(event) != delivery_id(_event("chat.run_complete", {}, seq=8))


def test_a_vanished_chat_still_notifies() -> None:
    body = json.loads(build_delivery(_event("chat.error", {}), None, now=MOMENT).body)
    assert body["user_id"] is None and body["workflow_name"] is None
    assert body["data"] == {"error_code": None, "message": None}
