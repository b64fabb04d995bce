"""MCP tools on the real engine: a real MCP server (the official SDK, its own process, streamable
HTTP or SSE on loopback) and the fake OpenAI-compatible model scripting the calls."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.support.fake_llm import FakeLLM, Reply
from tests.support.mcp_server import FORECAST, McpServerProcess, free_port, running
from tests.support.recording_io import RecordingIO

from mozaiks_runtime.config import Settings
from mozaiks_runtime.engine.base import EngineEvent, RunRequest, TextMessage, ToolCall, ToolResult
from mozaiks_runtime.engine.llm import LLMSettings, ModelConfigs
from mozaiks_runtime.engine.mcp import TRUNCATED
from mozaiks_runtime.engine.run import AG2Runner, build_runner
from mozaiks_runtime.errors import McpServerFailed
from mozaiks_runtime.workflows.model import WorkflowDefinition
from mozaiks_runtime.workflows.schema import load_definition_file, validate_definition

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
TOKEN = "mcp-test-token"
ENV = {"MOZAIKS_MCP_WEATHER_URL": "", "MOZAIKS_MCP_WEATHER_TOKEN": TOKEN}


@pytest.fixture(scope="module")
def weather() -> Iterator[McpServerProcess]:
    with running("--token", TOKEN) as server:
        yield server


@pytest.fixture
async def runner(fake_llm: FakeLLM, weather: McpServerProcess) -> AsyncIterator[AG2Runner]:
    settings = LLMSettings(
        base_url=fake_llm.url, api_key="sk-test", model="fake-model", streaming=False, max_retries=0
    )
    env = {**ENV, "MOZAIKS_MCP_WEATHER_URL": weather.url}
    runner = AG2Runner(ModelConfigs(settings), mcp_env=env)
    yield runner
    await runner.aclose()


def workflow(
    server: dict[str, Any] | None = None, tools: list[str] | None = None
) -> WorkflowDefinition:
    spec = {
        "name": "weather",
        "url_env": "MOZAIKS_MCP_WEATHER_URL",
        "auth": {"value_env": "MOZAIKS_MCP_WEATHER_TOKEN", "prefix": "Bearer "},
        "tools": ["forecast", "huge", "slow", "fail"],
        "timeout_seconds": 10,  # roomy: a loaded machine opens sessions slowly
        "max_result_chars": 1000,
        **(server or {}),
    }
    return validate_definition(
        {
            "name": "mcp-test",
            "agents": [
                {
                    "name": "Forecaster",
                    "system_message": "Answer with the forecast.",
                    "tools": tools or ["forecast", "huge", "slow", "fail"],
                }
            ],
            "mcp_servers": [spec],
        },
        "mcp-test.json",
    )


async def run(runner: AG2Runner, wf: WorkflowDefinition, io: RecordingIO) -> None:
    request = RunRequest(
        chat_id="chat-mcp", app_id="app", user_id="u1", workflow=wf, user_message="Weather?"
    )
    await runner.run(request, io)


def tool_message(fake: FakeLLM, index: int) -> dict[str, Any]:
    """The tool result the model was sent in request `index`."""
    (message,) = [m for m in fake.requests[index]["body"]["messages"] if m["role"] == "tool"]
    return dict(message)


async def test_an_agent_calls_an_mcp_tool_with_the_servers_schema(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    fake_llm.script(Reply.tool("forecast", {"city": "Lisbon"}), Reply.say("Sunny in Lisbon."))
    io = RecordingIO()
    await run(runner, workflow(), io)

    offered = {t["function"]["name"]: t["function"] for t in fake_llm.requests[0]["body"]["tools"]}
    assert set(offered) == {"forecast", "huge", "slow", "fail"}  # never wipe_disk
    assert offered["forecast"]["description"] == "The weather forecast for a city."
    assert offered["forecast"]["parameters"]["properties"]["city"]["type"] == "string"
    (call,) = io.of(ToolCall)
    assert (call.name, call.agent, dict(call.arguments)) == (
        "forecast",
        "Forecaster",
        {"city": "Lisbon"},
    )
    (result,) = io.of(ToolResult)
    assert (result.status, result.result, result.call_id) == (
        "ok",
        f"Lisbon: {FORECAST}",
        call.call_id,
    )
    assert FORECAST in tool_message(fake_llm, 1)["content"]
    assert io.of(TextMessage)[-1].content == "Sunny in Lisbon."


async def test_a_hyphenated_mcp_tool_name_works(fake_llm: FakeLLM, runner: AG2Runner) -> None:
    wf = workflow({"tools": ["air-quality"]}, tools=["air-quality"])
    fake_llm.script(Reply.tool("air-quality", {"city": "Faro"}), Reply.say("Clean air."))
    io = RecordingIO()
    await run(runner, wf, io)
    (result,) = io.of(ToolResult)
    assert (result.name, result.status, result.result) == (
        "air-quality",
        "ok",
        "Faro: air quality good",
    )


async def test_a_tool_off_the_allow_list_is_never_offered_and_calling_it_is_a_tool_error(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    fake_llm.script(Reply.tool("wipe_disk", {}), Reply.say("I cannot do that."))
    io = RecordingIO()
    await run(runner, workflow(), io)
    names = [t["function"]["name"] for t in fake_llm.requests[0]["body"]["tools"]]
    assert "wipe_disk" not in names
    (result,) = io.of(ToolResult)
    assert result.name == "wipe_disk" and result.status == "error"
    assert "wiped" not in json.dumps(fake_llm.requests[1]["body"])  # the server never ran it
    assert io.texts() == ["I cannot do that."]


async def test_a_huge_result_is_cut_with_a_marker(fake_llm: FakeLLM, runner: AG2Runner) -> None:
    fake_llm.script(Reply.tool("huge", {"size": 50_000}), Reply.say("That was long."))
    io = RecordingIO()
    await run(runner, workflow(), io)
    (result,) = io.of(ToolResult)
    marker = TRUNCATED.format(shown=1000, total=50_000)
    assert result.status == "ok" and result.result == "x" * 1000 + marker
    assert tool_message(fake_llm, 1)["content"].endswith(marker)
    assert io.texts() == ["That was long."]


async def test_a_slow_tool_times_out_as_a_tool_error_and_the_run_goes_on(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    fake_llm.script(
        Reply.tool("slow", {"seconds": 30}),
        Reply.tool("forecast", {"city": "Porto"}),
        Reply.say("Porto is sunny."),
    )
    io = RecordingIO()
    started = time.monotonic()
    await run(runner, workflow({"timeout_seconds": 2}), io)
    assert time.monotonic() - started < 15
    slow, forecast = io.of(ToolResult)
    assert slow.status == "error" and "took longer than 2s" in str(slow.result)
    assert forecast.status == "ok" and "Porto" in str(forecast.result)
    assert "took longer than 2s" in tool_message(fake_llm, 1)["content"]
    assert io.texts() == ["Porto is sunny."]


async def test_a_server_side_error_is_a_tool_error(fake_llm: FakeLLM, runner: AG2Runner) -> None:
    fake_llm.script(Reply.tool("fail", {}), Reply.say("The service is down."))
    io = RecordingIO()
    await run(runner, workflow(), io)
    (result,) = io.of(ToolResult)
    assert result.status == "error" and "the weather service is down" in str(result.result)
    assert io.texts() == ["The service is down."]


async def test_an_unreachable_server_fails_the_run_before_any_model_call(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/mcp"
    wf = workflow({"url_env": None, "url": nowhere})
    io = RecordingIO()
    with pytest.raises(McpServerFailed, match="MCP server weather: ConnectError") as caught:
        await run(runner, wf, io)
    assert caught.value.error_code == "MCP_SERVER_FAILED"
    assert io.events == [] and fake_llm.requests == []


async def test_a_wrong_token_fails_the_run_and_names_the_server(
    fake_llm: FakeLLM, weather: McpServerProcess
) -> None:
    settings = LLMSettings(base_url=fake_llm.url, api_key="k", model="fake-model", max_retries=0)
    env = {"MOZAIKS_MCP_WEATHER_URL": weather.url, "MOZAIKS_MCP_WEATHER_TOKEN": "wrong"}
    runner = AG2Runner(ModelConfigs(settings), mcp_env=env)
    with pytest.raises(McpServerFailed, match="MCP server weather"):
        await run(runner, workflow(), RecordingIO())
    await runner.aclose()
    assert fake_llm.requests == []


async def test_an_unset_url_variable_fails_the_run_with_its_name(fake_llm: FakeLLM) -> None:
    settings = LLMSettings(base_url=fake_llm.url, api_key="k", model="fake-model", max_retries=0)
    runner = AG2Runner(ModelConfigs(settings), mcp_env={})
    with pytest.raises(McpServerFailed, match="MOZAIKS_MCP_WEATHER_URL, which is not set"):
        await run(runner, workflow(), RecordingIO())
    await runner.aclose()


async def test_an_allowed_tool_the_server_lacks_fails_the_run(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    wf = workflow({"tools": ["forecast", "rainfall"]}, tools=["forecast"])
    with pytest.raises(McpServerFailed, match="offers no tool 'rainfall'"):
        await run(runner, wf, RecordingIO())
    assert fake_llm.requests == []


async def test_a_malformed_schema_fails_the_run_with_a_clear_error(fake_llm: FakeLLM) -> None:
    with running("--malformed") as broken:
        settings = LLMSettings(base_url=fake_llm.url, api_key="k", model="fake-model")
        runner = AG2Runner(ModelConfigs(settings), mcp_env={"MOZAIKS_MCP_WEATHER_URL": broken.url})
        wf = workflow({"auth": None})
        with pytest.raises(McpServerFailed, match="tool 'forecast' has an invalid input schema"):
            await run(runner, wf, RecordingIO())
        await runner.aclose()
    assert fake_llm.requests == []


async def test_the_sse_transport_works_too(fake_llm: FakeLLM) -> None:
    with running(transport="sse") as sse:
        settings = LLMSettings(base_url=fake_llm.url, api_key="k", model="fake-model")
        runner = AG2Runner(ModelConfigs(settings), mcp_env={"MOZAIKS_MCP_WEATHER_URL": sse.url})
        fake_llm.script(Reply.tool("forecast", {"city": "Faro"}), Reply.say("Faro is sunny."))
        io = RecordingIO()
        await run(runner, workflow({"auth": None, "transport": "sse"}), io)
        await runner.aclose()
    (result,) = io.of(ToolResult)
    assert result.status == "ok" and result.result == f"Faro: {FORECAST}"
    assert io.texts() == ["Faro is sunny."]


@dataclass
class _SignalsToolCalls(RecordingIO):
    called: asyncio.Event = field(default_factory=asyncio.Event)

    async def emit(self, event: EngineEvent) -> None:
        await super().emit(event)
        if isinstance(event, ToolCall):
            self.called.set()


async def test_cancelling_the_run_cancels_an_mcp_call_in_flight(
    fake_llm: FakeLLM, runner: AG2Runner
) -> None:
    fake_llm.script(Reply.tool("slow", {"seconds": 60}), Reply.say("never"))
    io = _SignalsToolCalls()
    task = asyncio.create_task(run(runner, workflow({"timeout_seconds": 120}), io))
    await asyncio.wait_for(io.called.wait(), 15)
    await asyncio.sleep(0.2)  # the call is at the server now
    task.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    assert time.monotonic() - started < 5
    assert io.of(ToolResult) == [] and len(fake_llm.requests) == 1


class _StopsServerBeforeTheModel(RecordingIO):
    """Stops the MCP server once the tools were listed (before the first model call)."""

    server: McpServerProcess | None = None

    async def before_model_call(self, *, agent: str) -> None:
        if self.server is not None:
            self.server.stop()
        await super().before_model_call(agent=agent)


async def test_a_server_gone_mid_run_is_a_tool_error(fake_llm: FakeLLM) -> None:
    server = McpServerProcess()
    server.start()
    settings = LLMSettings(base_url=fake_llm.url, api_key="k", model="fake-model", max_retries=0)
    runner = AG2Runner(ModelConfigs(settings), mcp_env={"MOZAIKS_MCP_WEATHER_URL": server.url})
    fake_llm.script(Reply.tool("forecast", {"city": "Braga"}), Reply.say("No forecast today."))
    io = _StopsServerBeforeTheModel()
    io.server = server
    try:
        await run(runner, workflow({"auth": None}), io)
    finally:
        server.stop()
        await runner.aclose()
    (result,) = io.of(ToolResult)
    assert result.status == "error"
    assert "MCP tool forecast (server weather) failed: ConnectError" in str(result.result)
    assert io.texts() == ["No forecast today."]


async def test_the_example_runs_on_the_demo_model_offline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `make run` does with workflows/mcp: the demo model calls `forecast` for real."""
    example = load_definition_file(REPO / "workflows" / "mcp" / "weather.json")
    io = RecordingIO()
    with running() as server:  # the example sends no auth header
        monkeypatch.setenv("MOZAIKS_MCP_WEATHER_URL", server.url)
        runner = build_runner(Settings.load(dev_auth=True, llm_base_url=None))
        request = RunRequest(
            chat_id="c", app_id="a", user_id="u", workflow=example, user_message="?"
        )
        try:
            await runner.run(request, io)
        finally:
            await runner.aclose()
    assert runner.llm.settings.is_demo
    (result,) = io.of(ToolResult)
    assert result.name == "forecast" and result.status == "ok" and FORECAST in result.result
    assert io.texts()[-1].startswith("[demo model]")
