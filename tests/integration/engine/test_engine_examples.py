"""The shipped example workflows run to completion on the built-in demo model, deterministically."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.support.recording_io import RecordingIO

from mozaiks_runtime.config import Settings
from mozaiks_runtime.engine.base import (
    ModelUsage,
    RunOutcome,
    RunRequest,
    TextChunk,
    TextMessage,
    ToolCall,
    ToolResult,
)
from mozaiks_runtime.engine.demo import PREFIX, DemoConfig
from mozaiks_runtime.engine.run import AG2Runner, build_runner
from mozaiks_runtime.workflows.model import WorkflowDefinition
from mozaiks_runtime.workflows.registry import WorkflowRegistry

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def examples() -> WorkflowRegistry:
    registry = WorkflowRegistry(ROOT / "workflows", 1.0)
    registry.reload()
    assert registry.errors() == {}
    return registry


def workflow(registry: WorkflowRegistry, name: str) -> WorkflowDefinition:
    loaded = registry.get(name)
    assert loaded is not None
    return loaded.definition


@pytest.fixture
def demo_runner() -> AG2Runner:
    runner = build_runner(Settings.load(dev_auth=True))
    assert runner.llm.settings.is_demo
    return runner


async def run(
    runner: AG2Runner, wf: WorkflowDefinition, io: RecordingIO, message: str | None = None
) -> RunOutcome:
    return await runner.run(
        RunRequest(chat_id="c", app_id="a", user_id="u", workflow=wf, user_message=message), io
    )


async def test_hello_greets_asks_and_answers(
    examples: WorkflowRegistry, demo_runner: AG2Runner
) -> None:
    io = RecordingIO(answers=["Ada"])
    outcome = await run(demo_runner, workflow(examples, "hello"), io)
    assert outcome.status == "completed" and not outcome.awaiting_user
    assert outcome.context == {"visitor_name": "Ada"}
    assert io.inputs == [
        {"agent": "Greeter", "prompt": "Hello! What is your name?", "password": False}
    ]
    (text,) = io.texts("Greeter")
    assert text.startswith(PREFIX) and "Ada" in text and "demo model" in text
    assert io.of(TextChunk), "the demo model streams like a real one"
    assert all(u.model == "demo" and u.prompt_tokens > 0 for u in io.of(ModelUsage))
    assert len(io.of(ModelUsage)) == len(io.model_calls) == 2


async def test_trip_planner_runs_every_kind_of_step(
    examples: WorkflowRegistry, demo_runner: AG2Runner
) -> None:
    form = {"destination": "Lisbon", "days": 3, "travellers": 2}
    io = RecordingIO(answers=["yes"], ui_answers=[form, {"confirmed": True}])
    outcome = await run(
        demo_runner, workflow(examples, "trip_planner"), io, "A weekend away, please"
    )

    assert io.speakers() == ["Concierge", "Planner", "Booker"]  # two hand-offs
    assert [(r["tool_name"], r["component_type"], r["display"]) for r in io.ui_requests] == [
        ("collect_trip_details", "form", "inline"),
        ("confirm_booking", "confirmation", "artifact"),
    ]
    assert io.ui_requests[0]["payload"]["title"] == "Your trip"
    assert io.inputs == [
        {"agent": "Booker", "prompt": "Shall I book this trip? (yes/no)", "password": False}
    ]
    (call,) = io.of(ToolCall)
    (result,) = io.of(ToolResult)
    assert call.name == "estimate_trip_cost" and call.agent == "Planner"
    assert result.status == "ok" and result.result["currency"] == "EUR"
    assert all(m.content.startswith(PREFIX) for m in io.of(TextMessage))
    assert (
        outcome.status == "completed"
        and not outcome.awaiting_user
        and outcome.last_agent == "Booker"
    )
    assert outcome.context["trip"] == form
    assert outcome.context["approval"] == "yes"
    assert outcome.context["booking"] == {"confirmed": True}
    assert outcome.context["currency"] == "EUR"  # the workflow's own context variables


async def test_trip_planner_goes_back_to_the_planner_when_the_user_declines(
    examples: WorkflowRegistry, demo_runner: AG2Runner
) -> None:
    io = RecordingIO(
        answers=["no", "yes"], ui_answers=[{"destination": "Paris"}, {"confirmed": True}]
    )
    outcome = await run(demo_runner, workflow(examples, "trip_planner"), io, "Paris?")
    assert io.speakers() == ["Concierge", "Planner", "Booker", "Planner", "Booker"]
    assert len(io.inputs) == 2 and len(io.ui_requests) == 2
    assert outcome.context["approval"] == "yes" and not outcome.awaiting_user


async def test_the_demo_is_deterministic(
    examples: WorkflowRegistry, demo_runner: AG2Runner
) -> None:
    def transcript(io: RecordingIO) -> list[object]:
        return [e for e in io.events if not isinstance(e, ModelUsage)]  # usage carries timings

    first, second = RecordingIO(answers=["Ada"]), RecordingIO(answers=["Ada"])
    await run(demo_runner, workflow(examples, "hello"), first)
    await run(demo_runner, workflow(examples, "hello"), second)
    assert transcript(first) == transcript(second)


async def test_many_chats_at_once_stay_apart(
    examples: WorkflowRegistry, demo_runner: AG2Runner
) -> None:
    hello = workflow(examples, "hello")
    ios = [RecordingIO(answers=[f"user-{i}"], answer_delay=0.05) for i in range(25)]
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(run(demo_runner, hello, io) for io in ios)), timeout=30
    )
    for i, (io, outcome) in enumerate(zip(ios, outcomes, strict=True)):
        assert outcome.context == {"visitor_name": f"user-{i}"}
        (text,) = io.texts()
        assert f"ask_user gave user-{i}." in text


def test_build_runner_picks_the_provider_from_settings() -> None:
    demo = build_runner(Settings.load(dev_auth=True))
    assert isinstance(demo.llm.for_agent(agent="A"), DemoConfig)
    real = build_runner(
        Settings.load(
            dev_auth=True,
            llm_base_url="http://127.0.0.1:9/v1",
            llm_api_key="sk-x",
            llm_model="m1",
            llm_timeout_seconds=7,
            input_timeout_seconds=30,
        )
    )
    config = real.llm.for_agent(agent="A", model="m2")
    assert type(config).__name__ == "OpenAIConfig"
    assert (config.model, config.base_url, config.api_key, config.timeout) == (
        "m2",
        "http://127.0.0.1:9/v1",
        "sk-x",
        7,
    )
    assert real.llm.model_name(None) == "m1" and real.input_timeout_seconds == 30
    assert "sk-x" not in repr(real.llm.settings)
