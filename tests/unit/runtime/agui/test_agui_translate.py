"""Translator: our persisted chat events become AG-UI events that the protocol package's own
models accept and that follow the protocol's ordering rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from ag_ui.core import BaseEvent, EventType
from ag_ui.encoder import EventEncoder
from tests.support.agui import check_sequence, of_type, parse_sse

from mozaiks_runtime.agui.translate import HUMAN_INPUT_TOOL, Translator, state_delta
from mozaiks_runtime.chats import events
from mozaiks_runtime.storage.base import StoredEvent

pytestmark = pytest.mark.unit
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def log(*items: tuple[str, dict[str, Any]]) -> list[StoredEvent]:
    return [
        StoredEvent("demo", "c_1", seq, type_, data, NOW)
        for seq, (type_, data) in enumerate(items, start=1)
    ]


def text(agent: str, content: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    return events.TEXT, {"agent": agent, "content": content, "role": "assistant", **extra}


def translate(
    stored: list[StoredEvent], state: dict[str, Any] | None = None, after: Any = None
) -> tuple[Translator, list[BaseEvent]]:
    """Through the real SSE encoder and back through the package's parser, as a client would."""
    translator = Translator(thread_id="t_1", run_id="r_1")
    out = translator.open(state or {})
    for event in stored:
        out += translator.event(event)
        if translator.end is not None:
            break
    out += translator.close(after)
    encoder = EventEncoder()
    parsed = parse_sse("".join(encoder.encode(e) for e in out))
    assert [e.type for e in parsed] == [e.type for e in out]
    check_sequence(parsed)
    return translator, parsed


def types(out: list[BaseEvent]) -> list[str]:
    return [e.type.value for e in out]


def test_a_multi_agent_run_is_steps_with_messages_and_tool_calls() -> None:
    stored = log(
        (events.TEXT, {"agent": "user", "content": "hi", "role": "user"}),
        (events.RUN_START, {"agent": "Planner"}),
        (events.SELECT_SPEAKER, {"agent": "Planner"}),
        (
            events.TOOL_CALL,
            {"call_id": "call_1", "name": "lookup", "agent": "Planner", "arguments": {"q": 1}},
        ),
        (
            events.TOOL_RESPONSE,
            {"call_id": "call_1", "name": "lookup", "agent": "Planner", "result": {"n": 2}},
        ),
        text("Planner", "Planned."),
        (events.SELECT_SPEAKER, {"agent": "Booker"}),
        text("Booker", "hidden", visible=False),
        text("Booker", "Booked."),
        (events.USAGE_DELTA, {"model_name": "m", "prompt_tokens": 10, "completion_tokens": 5}),
        (events.USAGE_DELTA, {"model_name": "m", "prompt_tokens": 1, "completion_tokens": 2}),
        (events.USAGE_SUMMARY, {"total_tokens": 18}),
        (events.RUN_COMPLETE, {"status": "completed", "summary": "", "total_tokens": 18}),
        text("Planner", "a later run: not this stream's"),
    )
    translator, out = translate(stored, {"currency": "EUR"}, {"currency": "EUR", "trip": "x"})
    assert translator.end == "finished"
    assert types(out) == [
        "RUN_STARTED",
        "STATE_SNAPSHOT",
        "STEP_STARTED",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "STEP_FINISHED",
        "STEP_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "STATE_DELTA",
        "STEP_FINISHED",
        "RUN_FINISHED",
    ]
    assert [s["step_name"] for s in of_type(out, EventType.STEP_STARTED)] == ["Planner", "Booker"]
    texts = of_type(out, EventType.TEXT_MESSAGE_START)
    named = [(t["name"], t["message_id"]) for t in texts]
    assert named == [("Planner", "c_1:6"), ("Booker", "c_1:9")]
    assert of_type(out, EventType.TOOL_CALL_ARGS)[0]["delta"] == '{"q": 1}'
    assert of_type(out, EventType.TOOL_CALL_RESULT)[0]["content"] == '{"n": 2}'
    assert of_type(out, EventType.STATE_SNAPSHOT)[0]["snapshot"] == {"currency": "EUR"}
    assert of_type(out, EventType.STATE_DELTA)[0]["delta"] == [
        {"op": "add", "path": "/trip", "value": "x"}
    ]
    end = of_type(out, EventType.RUN_FINISHED)[0]
    assert end["thread_id"] == "t_1" and end["run_id"] == "r_1"
    assert end["outcome"] == {"type": "success"}
    assert end["usage"] == [
        {"model": "m", "input_tokens": 11, "output_tokens": 7, "total_tokens": 18}
    ]


def test_questions_to_the_user_are_tool_calls_the_run_waits_for() -> None:
    ask = (
        events.INPUT_REQUEST,
        {"request_id": "in_1", "agent": "Booker", "prompt": "Book it?", "password": False},
    )
    translator, out = translate(log((events.SELECT_SPEAKER, {"agent": "Booker"}), ask))
    assert translator.end == "waiting" and translator.pending == ["in_1"]
    start = of_type(out, EventType.TOOL_CALL_START)[0]
    assert start["tool_call_id"] == "in_1" and start["tool_call_name"] == HUMAN_INPUT_TOOL
    assert start["metadata"] == {"mozaiks": {"agent": "Booker", "kind": "human_input"}}
    args = of_type(out, EventType.TOOL_CALL_ARGS)[0]["delta"]
    assert args == '{"prompt": "Book it?", "password": false}'
    end = of_type(out, EventType.RUN_FINISHED)[0]
    assert end["outcome"] == {"type": "success", "pending_tool_call_ids": ["in_1"]}


def test_a_ui_tool_is_a_call_of_that_tool_with_its_payload() -> None:
    ui = {
        "agent": "Concierge",
        "tool_name": "collect",
        "component_type": "form",
        "awaiting_response": True,
        "payload": {"title": "Your trip"},
        "corr": "ui_1",
        "display": "artifact",
    }
    translator, out = translate(log((events.TOOL_CALL, ui)))
    assert translator.pending == ["ui_1"]
    # The stream began inside the agent's turn: its step opens at its first call.
    assert types(out)[:3] == ["RUN_STARTED", "STATE_SNAPSHOT", "STEP_STARTED"]
    assert of_type(out, EventType.STEP_STARTED)[0]["step_name"] == "Concierge"
    start = of_type(out, EventType.TOOL_CALL_START)[0]
    assert (start["tool_call_id"], start["tool_call_name"]) == ("ui_1", "collect")
    assert start["metadata"]["mozaiks"] == {
        "agent": "Concierge",
        "kind": "ui_tool",
        "component_type": "form",
        "display": "artifact",
    }
    assert of_type(out, EventType.TOOL_CALL_ARGS)[0]["delta"] == '{"title": "Your trip"}'


def test_a_failed_run_ends_with_run_error() -> None:
    stored = log(
        (events.SELECT_SPEAKER, {"agent": "Planner"}),
        (events.ERROR, {"message": "budget spent", "error_code": "BUDGET_EXCEEDED"}),
        (events.USAGE_SUMMARY, {}),
        (events.RUN_COMPLETE, {"status": "stopped"}),
    )
    _, out = translate(stored)
    assert types(out)[-2:] == ["STEP_FINISHED", "RUN_ERROR"]
    error = of_type(out, EventType.RUN_ERROR)[0]
    assert (error["message"], error["code"]) == ("budget spent", "BUDGET_EXCEEDED")


def test_a_cancelled_run_finishes_with_the_cancelled_outcome() -> None:
    stored = log((events.RUN_CANCELLED, {"by": "alice", "reason": "stop", "agent": None}))
    translator, out = translate(stored)
    assert translator.end == "cancelled"
    assert of_type(out, EventType.RUN_FINISHED)[0]["outcome"] == {"type": "cancelled"}


def test_the_users_side_is_not_echoed() -> None:
    stored = log(
        (events.TEXT, {"agent": "user", "content": "yes", "role": "user"}),
        (events.INPUT_ACK, {"request_id": "in_1", "status": "accepted"}),
        (events.UI_TOOL_COMPLETE, {"eventId": "ui_1", "status": "completed"}),
        (events.WORKFLOW_UPGRADED, {"from_version": "a", "to_version": "b"}),
    )
    translator, out = translate(stored)
    assert translator.end is None
    assert types(out) == ["RUN_STARTED", "STATE_SNAPSHOT", "RUN_FINISHED"]


def test_state_delta_is_a_json_patch_with_escaped_keys() -> None:
    before = {"keep": 1, "gone": 2, "changed": {"a": 1}}
    after = {"keep": 1, "changed": {"a": 2}, "a/b~c": True}
    assert state_delta(before, after) == [
        {"op": "remove", "path": "/gone"},
        {"op": "replace", "path": "/changed", "value": {"a": 2}},
        {"op": "add", "path": "/a~1b~0c", "value": True},
    ]
    assert state_delta(after, after) == []
