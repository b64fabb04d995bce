"""translate(): recorded AG2 events (tests/fixtures/ag2_events) become our events, in order."""

from __future__ import annotations

import pytest
from ag2.events import (
    HumanInputRequest,
    ModelMessageChunk,
    ModelResponse,
    ToolCallEvent,
    ToolErrorEvent,
    ToolResult,
    ToolResultEvent,
    ToolResultsEvent,
    Usage,
    UsageEvent,
)
from tests.support.record_ag2_events import load

from mozaiks_runtime.engine.base import (
    EngineEvent,
    ModelUsage,
    TextChunk,
    TextMessage,
    ToolCall,
)
from mozaiks_runtime.engine.base import ToolResult as OurToolResult
from mozaiks_runtime.engine.translate import TurnTranslator, TurnView, result_value, translate

pytestmark = pytest.mark.unit

PLANNER = TurnView(agent="Planner", model="configured-model")


def run(name: str, view: TurnView = PLANNER, seconds: float = 0.25) -> list[EngineEvent]:
    translator = TurnTranslator(view)
    out: list[EngineEvent] = []
    for event in load(name):
        out.extend(translator.feed(event, model_seconds=seconds))
    return out


def test_a_streamed_turn_with_tools_in_order() -> None:
    events = run("streamed_tool_turn")
    assert [e.kind for e in events] == [
        "chat.usage_delta",
        "chat.tool_call",
        "chat.tool_response",
        "chat.usage_delta",
        "chat.tool_call",
        "chat.tool_response",
        "chat.text_chunk",
        "chat.text_chunk",
        "chat.text_chunk",
        "chat.text_chunk",
        "chat.usage_delta",
        "chat.text",
    ]
    usage = [e for e in events if isinstance(e, ModelUsage)]
    assert [(u.prompt_tokens, u.completion_tokens) for u in usage] == [(50, 12), (70, 9), (90, 11)]
    assert all(
        u.model == "fake-model" and u.agent == "Planner" and u.duration_sec == 0.25 for u in usage
    )

    calls = [e for e in events if isinstance(e, ToolCall)]
    results = [e for e in events if isinstance(e, OurToolResult)]
    assert calls[0].name == "estimate_trip_cost"
    assert calls[0].arguments == {"destination": "Lisbon", "days": 2}
    assert results[0].call_id == calls[0].call_id and results[0].status == "ok"
    assert results[0].result["total"] == 2 * 110 + 180  # the example plugin's price list
    assert results[1].status == "error" and results[1].name == "broken_lookup"
    assert "no data for Atlantis" in results[1].result
    assert "Traceback" not in results[1].result  # the user never sees a traceback

    chunks = [e.content for e in events if isinstance(e, TextChunk)]
    (text,) = [e for e in events if isinstance(e, TextMessage)]
    assert "".join(chunks) == text.content == "Two days in Lisbon cost 400 EUR."
    assert text.agent == "Planner" and text.role == "assistant" and text.visible


def test_a_plain_text_turn() -> None:
    events = run("plain_text_turn")
    assert events == [
        ModelUsage(
            agent="Planner",
            model="fake-model",
            prompt_tokens=21,
            completion_tokens=4,
            duration_sec=0.25,
        ),
        TextMessage(agent="Planner", content="Hello there!"),
    ]


def test_a_hidden_agent_streams_nothing_and_its_messages_are_marked() -> None:
    hidden = TurnView(agent="Planner", visible=False)
    events = run("streamed_tool_turn", hidden)
    assert not [e for e in events if isinstance(e, TextChunk)]
    (text,) = [e for e in events if isinstance(e, TextMessage)]
    assert text.visible is False


def test_ui_and_human_input_tools_are_left_to_the_chat_service() -> None:
    view = TurnView(agent="Planner", silent_tools=frozenset({"estimate_trip_cost"}))
    names = [
        e.name for e in run("streamed_tool_turn", view) if isinstance(e, ToolCall | OurToolResult)
    ]
    assert names == ["broken_lookup", "broken_lookup"]


def test_what_is_not_translated() -> None:
    assert translate(HumanInputRequest("name?"), PLANNER) == []
    assert translate(ModelMessageChunk(""), PLANNER) == []
    assert translate(ModelResponse(), PLANNER) == []  # tool calls only, no text
    assert translate(UsageEvent(Usage(prompt_tokens=5), kind="compaction"), PLANNER) == []


def test_a_batch_reports_only_the_results_not_seen_one_by_one() -> None:
    call = ToolCallEvent("slow", id="c9")
    done = ToolResultEvent(parent_id="c8", name="fast", result=ToolResult("ok"))
    failed = ToolErrorEvent.from_call(call, error=TimeoutError("tool slow took longer than 1s"))
    translator = TurnTranslator(PLANNER)
    assert [e.call_id for e in translator.feed(done)] == ["c8"]  # type: ignore[union-attr]
    batch = translator.feed(ToolResultsEvent([done, failed]))
    assert batch == [
        OurToolResult(
            call_id="c9",
            name="slow",
            agent="Planner",
            result="TimeoutError: tool slow took longer than 1s",
            status="error",
        )
    ]
    assert translator.feed(ToolResultsEvent([done, failed])) == []


def test_usage_without_a_model_name_uses_the_configured_one() -> None:
    (usage,) = translate(UsageEvent(Usage(prompt_tokens=3.0, completion_tokens=None)), PLANNER)
    assert usage == ModelUsage(
        agent="Planner",
        model="configured-model",
        prompt_tokens=3,
        completion_tokens=0,
        duration_sec=0.0,
    )


def test_odd_tool_payloads() -> None:
    (call,) = translate(ToolCallEvent("t", id="c1", arguments="not json"), PLANNER)
    assert isinstance(call, ToolCall) and call.arguments == {"_raw": "not json"}
    (call,) = translate(ToolCallEvent("t", id="c1", arguments="[1, 2]"), PLANNER)
    assert isinstance(call, ToolCall) and call.arguments == {"_value": [1, 2]}
    result = ToolResultEvent(parent_id="c1", name="t", result=ToolResult("a", {"b": 1}))
    (out,) = translate(result, PLANNER)
    assert isinstance(out, OurToolResult) and out.result == ["a", {"b": 1}]
    assert result_value([]) is None
    error = ToolErrorEvent.from_call(ToolCallEvent("t", id="c2"), error=TimeoutError("x" * 2000))
    (out,) = translate(error, PLANNER)
    assert isinstance(out, OurToolResult) and out.status == "error" and len(out.result) == 500
