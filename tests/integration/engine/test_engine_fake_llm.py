"""AG2Runner against the fake OpenAI-compatible server: the real provider path, over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.support.fake_llm import FakeLLM, Reply
from tests.support.recording_io import RecordingIO

from mozaiks_runtime.engine.base import (
    HistoryMessage,
    ModelUsage,
    RunRequest,
    TextChunk,
    TextMessage,
    ToolCall,
    ToolResult,
)
from mozaiks_runtime.engine.llm import LLMSettings, ModelConfigs
from mozaiks_runtime.engine.run import AG2Runner
from mozaiks_runtime.errors import BudgetExceeded, EngineFailed, InputTimeout
from mozaiks_runtime.workflows.model import WorkflowDefinition
from mozaiks_runtime.workflows.schema import validate_definition

pytestmark = pytest.mark.integration


def definition(
    agents: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, **extra: Any
) -> WorkflowDefinition:
    return validate_definition(
        {"name": "test", "agents": agents, "tools": tools or [], **extra}, "test.json"
    )


def request(wf: WorkflowDefinition, message: str | None = "hi", **kwargs: Any) -> RunRequest:
    return RunRequest(
        chat_id="chat-1", app_id="app", user_id="u1", workflow=wf, user_message=message, **kwargs
    )


@pytest.fixture
async def runner(fake_llm: FakeLLM) -> AsyncIterator[AG2Runner]:
    settings = LLMSettings(
        base_url=fake_llm.url, api_key="sk-test", model="fake-model", streaming=False, max_retries=0
    )
    runner = AG2Runner(ModelConfigs(settings), input_timeout_seconds=5, ui_tool_timeout_seconds=5)
    yield runner
    await runner.aclose()


@pytest.fixture
async def streaming_runner(fake_llm: FakeLLM) -> AsyncIterator[AG2Runner]:
    settings = LLMSettings(
        base_url=fake_llm.url, api_key="sk-test", model="fake-model", streaming=True, max_retries=0
    )
    runner = AG2Runner(ModelConfigs(settings))
    yield runner
    await runner.aclose()


def messages(fake: FakeLLM, index: int) -> list[dict[str, Any]]:
    return list(fake.requests[index]["body"]["messages"])


ONE = [{"name": "Helper", "system_message": "You help."}]


async def test_scripted_text_reaches_the_chat_with_its_usage(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    fake_llm.script(Reply.say("Hello, how can I help?", usage=(42, 7)))
    io = RecordingIO()
    outcome = await runner.run(request(definition(ONE), "hi there"), io)

    assert io.kinds() == ["chat.select_speaker", "chat.usage_delta", "chat.text"]
    assert io.of(TextMessage) == [TextMessage(agent="Helper", content="Hello, how can I help?")]
    (usage,) = io.of(ModelUsage)
    assert (usage.agent, usage.model, usage.prompt_tokens, usage.completion_tokens) == (
        "Helper",
        "fake-model",
        42,
        7,
    )
    assert usage.total_tokens == 49 and usage.duration_sec > 0
    assert io.model_calls == ["Helper"]
    assert (
        outcome.status == "completed" and outcome.awaiting_user and outcome.last_agent == "Helper"
    )

    (sent,) = fake_llm.requests
    assert sent["headers"]["authorization"] == "Bearer sk-test"
    assert sent["body"]["model"] == "fake-model"
    assert sent["body"]["messages"] == [
        {"role": "system", "content": "You help."},
        {"role": "user", "content": "hi there"},
    ]


async def test_streamed_chunks_are_forwarded_and_usage_still_counted(
    fake_llm: FakeLLM, streaming_runner: AG2Runner
) -> None:
    fake_llm.script(Reply.say("Streaming works fine today.", usage=(30, 6), chunks=5))
    io = RecordingIO()
    await streaming_runner.run(request(definition(ONE)), io)
    chunks = [e.content for e in io.of(TextChunk)]
    assert len(chunks) == 5 and "".join(chunks) == "Streaming works fine today."
    kinds = io.kinds(chunks=True)
    assert kinds.index("chat.text_chunk") < kinds.index("chat.text")  # chunks before the message
    (usage,) = io.of(ModelUsage)
    assert (usage.prompt_tokens, usage.completion_tokens) == (30, 6)
    body = fake_llm.requests[0]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_a_python_tool_call_and_its_result(
    fake_llm: FakeLLM, streaming_runner: AG2Runner
) -> None:
    wf = definition(
        [{"name": "Planner", "system_message": "Plan.", "tools": ["estimate_trip_cost"]}],
        [{"kind": "python", "name": "estimate_trip_cost"}],
    )
    fake_llm.script(
        Reply.tool(
            "estimate_trip_cost",
            {"destination": "Paris", "days": 2, "travellers": 2},
            usage=(20, 8),
        ),
        Reply.say("It costs 880 EUR.", usage=(60, 5)),
    )
    io = RecordingIO()
    await streaming_runner.run(request(wf), io)
    assert io.kinds() == [
        "chat.select_speaker",
        "chat.usage_delta",
        "chat.tool_call",
        "chat.tool_response",
        "chat.usage_delta",
        "chat.text",
    ]
    (call,) = io.of(ToolCall)
    (result,) = io.of(ToolResult)
    assert call.arguments == {"destination": "Paris", "days": 2, "travellers": 2}
    assert (
        result.call_id == call.call_id and result.status == "ok" and result.result["total"] == 880
    )
    assert [u.prompt_tokens for u in io.of(ModelUsage)] == [20, 60]
    first, second = fake_llm.requests
    assert first["body"]["tools"][0]["function"]["name"] == "estimate_trip_cost"
    tool_message = second["body"]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == call.call_id
    assert json.loads(tool_message["content"])["total"] == 880


async def test_human_input_goes_through_the_chat_and_back_to_the_model(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    wf = definition(
        [
            {
                "name": "Greeter",
                "system_message": "Greet.",
                "tools": ["ask"],
                "handoffs": {"after_work": "terminate"},
            }
        ],
        [{"kind": "human_input", "name": "ask", "context_key": "name"}],
    )
    fake_llm.script(Reply.tool("ask", {"question": "What is your name?"}), Reply.say("Hi Ada!"))
    io = RecordingIO(answers=["  Ada "])
    outcome = await runner.run(request(wf, None), io)
    assert io.inputs == [{"agent": "Greeter", "prompt": "What is your name?", "password": False}]
    assert not io.of(ToolCall) and not io.of(ToolResult)  # the chat service reports the question
    assert io.texts() == ["Hi Ada!"]
    assert outcome.context == {"name": "Ada"} and outcome.awaiting_user is False
    assert messages(fake_llm, 1)[-1] == {
        "role": "tool",
        "tool_call_id": fake_llm.requests[0]["body"]
        and messages(fake_llm, 1)[-2]["tool_calls"][0]["id"],
        "content": "  Ada ",
    }


async def test_a_secret_answer_never_reaches_the_model(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    wf = definition(
        [{"name": "Vault", "system_message": "Ask the PIN.", "tools": ["pin"]}],
        [
            {
                "kind": "human_input",
                "name": "pin",
                "prompt": "Your PIN?",
                "password": True,
                "context_key": "pin",
            }
        ],
    )
    fake_llm.script(Reply.tool("pin", {}), Reply.say("Thanks."))
    io = RecordingIO(answers=["4321"])
    outcome = await runner.run(request(wf), io)
    assert io.inputs == [{"agent": "Vault", "prompt": "Your PIN?", "password": True}]
    assert outcome.context["pin"] == "4321"
    assert "4321" not in json.dumps(fake_llm.requests)


async def test_a_ui_tool_round_trip(fake_llm: FakeLLM, runner: AG2Runner) -> None:
    wf = definition(
        [{"name": "Concierge", "system_message": "Ask.", "tools": ["trip_form"]}],
        [
            {
                "kind": "ui",
                "name": "trip_form",
                "component_type": "form",
                "display": "artifact",
                "payload": {"title": "Your trip"},
                "parameters": {"type": "object", "properties": {"destination": {"type": "string"}}},
                "context_key": "trip",
            }
        ],
    )
    fake_llm.script(Reply.tool("trip_form", {"destination": "Rome"}), Reply.say("Rome it is."))
    io = RecordingIO(ui_answers=[{"destination": "Rome", "days": 4}])
    outcome = await runner.run(request(wf), io)
    assert io.ui_requests == [
        {
            "agent": "Concierge",
            "tool_name": "trip_form",
            "component_type": "form",
            "payload": {"title": "Your trip", "destination": "Rome"},
            "display": "artifact",
        }
    ]
    assert not io.of(ToolCall)  # the chat service emits the UI tool's own chat.tool_call
    assert outcome.context["trip"] == {"destination": "Rome", "days": 4}
    assert json.loads(messages(fake_llm, 1)[-1]["content"]) == {"destination": "Rome", "days": 4}


async def test_a_hand_off_on_tool_call_and_what_the_next_agent_sees(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    wf = definition(
        [
            {
                "name": "Triage",
                "system_message": "Route.",
                "tools": ["estimate_trip_cost"],
                "handoffs": {"on_tool_call": [{"tool": "estimate_trip_cost", "target": "Sales"}]},
            },
            {"name": "Sales", "system_message": "Sell.", "handoffs": {"after_work": "terminate"}},
        ],
        [{"kind": "python", "name": "estimate_trip_cost"}],
    )
    fake_llm.script(
        Reply.tool("estimate_trip_cost", {"destination": "Tokyo"}),
        Reply.say("Passing you to sales."),
        Reply.say("Tokyo for 1440 EUR, shall we?"),
    )
    io = RecordingIO()
    outcome = await runner.run(request(wf, "How much is Tokyo?"), io)
    assert io.speakers() == ["Triage", "Sales"]
    assert [m.agent for m in io.of(TextMessage)] == ["Triage", "Sales"]
    assert outcome.last_agent == "Sales" and not outcome.awaiting_user
    assert messages(fake_llm, 2) == [
        {"role": "system", "content": "Sell."},
        {"role": "user", "content": "How much is Tokyo?"},
        {"role": "user", "content": "[Triage] Passing you to sales."},
    ]


async def test_structured_output_routes_on_a_context_condition(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    wf = definition(
        [
            {
                "name": "Triage",
                "system_message": "Classify.",
                "structured_output": {
                    "name": "triage",
                    "schema": {
                        "type": "object",
                        "properties": {"topic": {"type": "string", "enum": ["billing", "tech"]}},
                    },
                },
                "show_to_user": False,
                "handoffs": {
                    "on_context": [
                        {"key": "triage", "field": "topic", "equals": "tech", "target": "Tech"}
                    ]
                },
            },
            {"name": "Tech", "system_message": "Fix.", "handoffs": {"after_work": "terminate"}},
        ]
    )
    fake_llm.script(Reply.say('{"topic": "tech"}'), Reply.say("Restart the router."))
    io = RecordingIO()
    outcome = await runner.run(request(wf, "wifi down"), io)
    assert io.speakers() == ["Triage", "Tech"]
    hidden, shown = io.of(TextMessage)
    assert hidden == TextMessage(agent="Triage", content='{"topic": "tech"}', visible=False)
    assert shown.visible
    assert outcome.context["triage"] == {"topic": "tech"}
    fmt = fake_llm.requests[0]["body"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "triage"
    assert fmt["json_schema"]["schema"]["properties"]["topic"]["enum"] == ["billing", "tech"]


async def test_a_budget_stops_the_run_before_the_next_model_call(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    wf = definition(
        [{"name": "Planner", "system_message": "Plan.", "tools": ["estimate_trip_cost"]}],
        [{"kind": "python", "name": "estimate_trip_cost"}],
    )
    fake_llm.script(
        Reply.tool("estimate_trip_cost", {"destination": "Lisbon"}), Reply.say("never sent")
    )
    io = RecordingIO(model_budget=1)
    with pytest.raises(BudgetExceeded):
        await runner.run(request(wf), io)
    assert len(fake_llm.requests) == 1  # the second call never left
    assert fake_llm.pending == 1


async def test_an_unanswered_question_ends_the_run_with_input_timeout(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    wf = definition(
        [{"name": "Greeter", "system_message": "Greet.", "tools": ["ask"]}],
        [{"kind": "human_input", "name": "ask", "prompt": "Name?"}],
    )
    fake_llm.script(Reply.tool("ask", {}), Reply.say("never sent"))
    with pytest.raises(InputTimeout, match="nobody answered"):
        await runner.run(request(wf), RecordingIO(answers=[]))
    assert len(fake_llm.requests) == 1


async def test_every_wait_has_a_timeout_even_when_the_chat_does_not_answer(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    wf = definition(
        [{"name": "Concierge", "system_message": "Ask.", "tools": ["form", "ask"]}],
        [
            {"kind": "ui", "name": "form", "component_type": "form", "timeout_seconds": 0.2},
            {"kind": "human_input", "name": "ask", "timeout_seconds": 0.2},
        ],
    )
    fake_llm.script(Reply.tool("form", {}))
    with pytest.raises(InputTimeout, match=r"nobody answered form within 0\.2s"):
        await runner.run(request(wf), RecordingIO(ui_answers=[{"x": 1}], answer_delay=5))
    fake_llm.reset()
    fake_llm.script(Reply.tool("ask", {"question": "?"}))
    with pytest.raises(InputTimeout, match=r"waited 0\.2s"):
        await runner.run(request(wf), RecordingIO(answers=["late"], answer_delay=5))


async def test_a_slow_python_tool_times_out_as_a_tool_error(
    fake_llm: FakeLLM, fake_llm_server: FakeLLM
) -> None:
    import asyncio

    async def slow(seconds: float) -> str:
        """Sleep."""
        await asyncio.sleep(seconds)
        return "done"

    from mozaiks_runtime.engine.build import ToolPlugins

    settings = LLMSettings(
        base_url=fake_llm.url, api_key="k", model="fake-model", streaming=False, max_retries=0
    )
    runner = AG2Runner(ModelConfigs(settings), plugins=ToolPlugins({"slow": slow}))
    wf = definition(
        [{"name": "Worker", "system_message": "Work.", "tools": ["slow"]}],
        [{"kind": "python", "name": "slow", "timeout_seconds": 0.1}],
    )
    fake_llm.script(Reply.tool("slow", {"seconds": 5}), Reply.say("It took too long."))
    io = RecordingIO()
    await runner.run(request(wf), io)
    await runner.aclose()
    (result,) = io.of(ToolResult)
    assert result.status == "error" and "took longer than 0.1s" in result.result
    assert io.texts() == ["It took too long."]


async def test_a_provider_failure_is_an_engine_failure(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    fake_llm.script(Reply.fail(503, "overloaded at 10.0.0.7"))
    with pytest.raises(EngineFailed) as info:
        await runner.run(request(definition(ONE)), RecordingIO())
    assert info.value.message == (
        "Helper: the model provider or a tool failed (InternalServerError 503)"
    )
    assert "10.0.0.7" not in info.value.message  # the provider's body stays in the logs


async def test_a_resumed_chat_gets_its_history_back(fake_llm: FakeLLM, runner: AG2Runner) -> None:
    wf = definition(
        [
            {"name": "Triage", "system_message": "Route.", "handoffs": {"after_work": "Billing"}},
            {"name": "Billing", "system_message": "Bill."},
        ]
    )
    history = [
        HistoryMessage("user", "my invoice", "user"),
        HistoryMessage("Triage", "billing will help", "assistant"),
        HistoryMessage("Billing", "which invoice?", "assistant"),
    ]
    fake_llm.script(Reply.say("Found it."))
    io = RecordingIO()
    outcome = await runner.run(request(wf, "number 42", history=history), io)
    assert io.speakers() == ["Billing"]  # the last agent continues
    assert messages(fake_llm, 0) == [
        {"role": "system", "content": "Bill."},
        {"role": "user", "content": "my invoice"},
        {"role": "user", "content": "[Triage] billing will help"},
        {"role": "assistant", "content": "which invoice?"},
        {"role": "user", "content": "number 42"},
    ]
    assert outcome.awaiting_user
    fake_llm.reset()
    fake_llm.script(Reply.say("Routing again."), Reply.say("Billing here."))
    io = RecordingIO()
    await runner.run(request(wf, "again", history=history, start_agent="Triage"), io)
    assert io.speakers() == ["Triage", "Billing"]


async def test_max_turns_pauses_the_run(fake_llm: FakeLLM, runner: AG2Runner) -> None:
    wf = definition(
        [
            {"name": "Ping", "system_message": "ping", "handoffs": {"after_work": "Pong"}},
            {"name": "Pong", "system_message": "pong", "handoffs": {"after_work": "Ping"}},
        ],
        max_turns=3,
    )
    fake_llm.script("one", "two", "three", "four")
    io = RecordingIO()
    outcome = await runner.run(request(wf), io)
    assert io.speakers() == ["Ping", "Pong", "Ping"]
    assert outcome.awaiting_user and outcome.summary == "max_turns" and outcome.last_agent == "Pong"
    assert fake_llm.pending == 1


async def test_an_agent_model_override(fake_llm: FakeLLM, runner: AG2Runner) -> None:
    wf = definition(
        [{"name": "Big", "system_message": "x", "model": "bigger-model", "temperature": 0.2}]
    )
    fake_llm.script("ok")
    io = RecordingIO()
    await runner.run(request(wf), io)
    body = fake_llm.requests[0]["body"]
    assert body["model"] == "bigger-model" and body["temperature"] == 0.2
