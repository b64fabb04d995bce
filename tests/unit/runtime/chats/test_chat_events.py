"""Envelopes and the engine-event translation (chats/events.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from mozaiks_runtime.chats import events
from mozaiks_runtime.engine.base import (
    ModelUsage,
    SpeakerSelected,
    TextChunk,
    TextMessage,
    ToolCall,
    ToolResult,
)
from mozaiks_runtime.storage.base import NewEvent, StoredEvent
from mozaiks_runtime.wire.events import EmptyData

pytestmark = pytest.mark.unit
SCOPE = events.RunScope("c1", "app", "alice", "hello")
MOMENT = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)


def test_envelope_of_a_persisted_event() -> None:
    stored = StoredEvent("app", "c1", 7, "chat.text", {"agent": "A", "content": "hi"}, MOMENT)
    frame = events.stored_frame(stored)
    assert (frame.type, frame.seq) == ("chat.text", 7)
    assert json.loads(frame.text) == {
        "type": "chat.text",
        "seq": 7,
        "chat_id": "c1",
        "timestamp": "2026-01-02T03:04:05.678Z",
        "data": {"agent": "A", "content": "hi"},
    }
    replayed = json.loads(events.stored_frame(stored, replay=True).text)
    assert replayed["data"] == {"agent": "A", "content": "hi", "replay": True}
    assert stored.data == {"agent": "A", "content": "hi"}  # the record is not changed


def test_transient_frames_carry_no_seq() -> None:
    frame = events.transient("ping", EmptyData(), chat_id="c1")
    body = json.loads(frame.text)
    assert frame.seq is None and "seq" not in body
    assert body["type"] == "ping" and body["chat_id"] == "c1" and body["data"] == {}
    assert body["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (SpeakerSelected("A"), NewEvent("chat.select_speaker", {"agent": "A"})),
        (
            TextMessage("A", "hi", visible=False),
            NewEvent(
                "chat.text", {"agent": "A", "content": "hi", "role": "assistant", "visible": False}
            ),
        ),
        (
            ToolCall("call_1", "lookup", "A", {"q": "x"}),
            NewEvent(
                "chat.tool_call",
                {"call_id": "call_1", "name": "lookup", "agent": "A", "arguments": {"q": "x"}},
            ),
        ),
        (
            ToolResult("call_1", "lookup", "A", [1, 2], status="error"),
            NewEvent(
                "chat.tool_response",
                {
                    "call_id": "call_1",
                    "name": "lookup",
                    "agent": "A",
                    "result": [1, 2],
                    "status": "error",
                },
            ),
        ),
    ],
)
def test_engine_events_become_persisted_events(event: object, expected: NewEvent) -> None:
    out = events.from_engine(event, SCOPE)  # type: ignore[arg-type]
    assert isinstance(out, NewEvent)
    assert (out.type, out.data) == (expected.type, expected.data)


def test_chunks_stay_transient() -> None:
    out = events.from_engine(TextChunk("A", "He"), SCOPE)
    assert isinstance(out, events.Frame) and out.seq is None
    assert json.loads(out.text)["data"] == {"agent": "A", "content": "He"}


def test_usage_is_not_translated_here() -> None:
    with pytest.raises(TypeError):
        events.from_engine(ModelUsage("A", "m", 1, 1, 0.1), SCOPE)
