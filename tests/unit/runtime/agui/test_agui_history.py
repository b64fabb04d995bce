"""history_messages(): a chat's log as the AG-UI messages a client would have built live."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from ag_ui.core import MessagesSnapshotEvent
from ag_ui.encoder import EventEncoder
from tests.support.agui import parse_sse

from mozaiks_runtime.agui.history import history_messages
from mozaiks_runtime.chats import events
from mozaiks_runtime.storage.base import StoredEvent

pytestmark = pytest.mark.unit
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def log(*items: tuple[str, dict[str, Any]]) -> list[StoredEvent]:
    return [
        StoredEvent("demo", "c_1", seq, type_, data, NOW)
        for seq, (type_, data) in enumerate(items, start=1)
    ]


def user(text: str) -> tuple[str, dict[str, Any]]:
    return events.TEXT, {"agent": "user", "content": text, "role": "user"}


def test_the_log_becomes_messages_with_the_live_streams_ids() -> None:
    stored = log(
        user("hi"),
        (events.RUN_START, {"agent": "Planner"}),
        (events.TEXT, {"agent": "Planner", "content": "Hello", "role": "assistant"}),
        (
            events.TEXT,
            {"agent": "Critic", "content": "hidden", "role": "assistant", "visible": False},
        ),
        (
            events.TOOL_CALL,
            {"call_id": "call_1", "name": "lookup", "agent": "P", "arguments": {"q": 1}},
        ),
        (
            events.TOOL_RESPONSE,
            {"call_id": "call_1", "name": "lookup", "agent": "P", "result": [1]},
        ),
        (
            events.INPUT_REQUEST,
            {"request_id": "in_1", "agent": "P", "prompt": "Name?", "password": False},
        ),
        (events.INPUT_ACK, {"request_id": "in_1", "status": "accepted"}),
        user("Ada"),
        (
            events.INPUT_REQUEST,
            {"request_id": "in_2", "agent": "P", "prompt": "PIN?", "password": True},
        ),
        (events.INPUT_ACK, {"request_id": "in_2", "status": "accepted"}),
        (
            events.TOOL_CALL,
            {
                "agent": "P",
                "tool_name": "confirm",
                "component_type": "confirmation",
                "awaiting_response": True,
                "payload": {"q": "ok?"},
                "corr": "ui_1",
                "display": "inline",
            },
        ),
        (
            events.UI_TOOL_COMPLETE,
            {"eventId": "ui_1", "ui_tool_id": "confirm", "status": "completed"},
        ),
        (
            events.INPUT_REQUEST,
            {"request_id": "in_3", "agent": "P", "prompt": "More?", "password": False},
        ),
        (events.INPUT_TIMEOUT, {"request_id": "in_3"}),
        (events.USAGE_DELTA, {"model_name": "m", "prompt_tokens": 1, "completion_tokens": 1}),
        user("bye"),
    )
    messages = history_messages(stored)
    # Through the real encoder and the package's parser, as a client receives it.
    (event,) = parse_sse(EventEncoder().encode(MessagesSnapshotEvent(messages=messages)))
    assert isinstance(event, MessagesSnapshotEvent)
    got = [m.model_dump() for m in event.messages]
    shown = [
        (m["role"], m["id"], m.get("content"), m.get("tool_call_id"), m.get("error")) for m in got
    ]
    assert shown == [
        ("user", "c_1:1", "hi", None, None),
        ("assistant", "c_1:3", "Hello", None, None),
        ("assistant", "call_1", None, None, None),
        ("tool", "c_1:6", "[1]", "call_1", None),
        ("assistant", "in_1", None, None, None),
        ("tool", "c_1:8", "Ada", "in_1", None),  # the answer, not a second user message
        ("assistant", "in_2", None, None, None),
        ("tool", "c_1:11", "", "in_2", None),  # a password stays out
        ("assistant", "ui_1", None, None, None),
        ("tool", "c_1:13", '{"status": "completed"}', "ui_1", None),
        ("assistant", "in_3", None, None, None),
        ("tool", "c_1:15", "", "in_3", "nobody answered in time"),
        ("user", "c_1:17", "bye", None, None),
    ]
    calls = {m["id"]: m["tool_calls"][0]["function"] for m in got if m.get("tool_calls")}
    assert calls["call_1"] == {"name": "lookup", "arguments": '{"q": 1}'}
    assert calls["in_1"] == {
        "name": "human_input",
        "arguments": '{"prompt": "Name?", "password": false}',
    }
    assert calls["ui_1"] == {"name": "confirm", "arguments": '{"q": "ok?"}'}
    assert got[1]["name"] == "Planner"
