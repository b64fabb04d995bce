"""The shipped MCP example workflow on a real server: the real engine, the fake OpenAI-compatible
model scripting the calls, and a real MCP server (official SDK) in its own process. What the
chat log keeps is read back over HTTP."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from mozaiks_runtime.lifespan import default_runner
from tests.integration.runtime.conftest import Runtime, base_settings, serve
from tests.support.fake_llm import FakeLLM, Reply
from tests.support.mcp_server import FORECAST, McpServerProcess, free_port, running

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[3] / "workflows" / "mcp" / "weather.json"


@pytest.fixture(scope="module")
def weather_server() -> Iterator[McpServerProcess]:
    with running() as server:
        yield server


@pytest.fixture
def workflows(tmp_path: Path) -> Path:
    directory = tmp_path / "workflows"
    directory.mkdir()
    shutil.copy(EXAMPLE, directory / EXAMPLE.name)
    return directory


@pytest.fixture
async def weather_runtime(
    tmp_path: Path,
    workflows: Path,
    fake_llm: FakeLLM,
    weather_server: McpServerProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Runtime]:
    monkeypatch.setenv("MOZAIKS_MCP_WEATHER_URL", weather_server.url)
    async with serve(_settings(tmp_path, workflows, fake_llm), default_runner) as rt:
        yield rt


def _settings(tmp_path: Path, workflows: Path, fake_llm: FakeLLM) -> Any:
    return base_settings(
        tmp_path,
        workflows_dir=workflows,
        llm_base_url=fake_llm.url,
        llm_api_key="test-key",
        llm_model=fake_llm.model,
    )


async def events(rt: Runtime, chat_id: str) -> list[dict[str, Any]]:
    response = await rt.http.get(
        f"/api/sessions/{chat_id}/events", params={"limit": 1000}, headers=rt.auth()
    )
    assert response.status_code == 200
    return list(response.json()["events"])


async def test_an_mcp_tool_call_and_its_result_are_in_the_chat_log(
    weather_runtime: Runtime, fake_llm: FakeLLM
) -> None:
    rt = weather_runtime
    fake_llm.script(
        Reply.tool("wipe_disk", {}),  # not on the allow-list: a tool error, the run goes on
        Reply.tool("forecast", {"city": "Lisbon"}),
        Reply.say("Lisbon: sunny, 21 degrees."),
    )
    sock = await rt.socket("weather", "c_mcp")
    await sock.until("chat_meta")
    await sock.send({"type": "user.input.submit", "text": "Weather in Lisbon?"})
    complete = await sock.until("chat.run_complete", wait=30)
    assert complete["data"]["status"] == "completed"
    await sock.close()
    await rt.wait_idle("c_mcp")

    log = await events(rt, "c_mcp")
    calls = [e["data"] for e in log if e["type"] == "chat.tool_call"]
    results = [e["data"] for e in log if e["type"] == "chat.tool_response"]
    assert [(c["name"], c["agent"], c["arguments"]) for c in calls] == [
        ("wipe_disk", "Forecaster", {}),
        ("forecast", "Forecaster", {"city": "Lisbon"}),
    ]
    assert [(r["name"], r["status"]) for r in results] == [
        ("wipe_disk", "error"),
        ("forecast", "ok"),
    ]
    assert results[1]["result"] == f"Lisbon: {FORECAST}"
    assert [r["call_id"] for r in results] == [c["call_id"] for c in calls]
    texts = [e["data"]["content"] for e in log if e["type"] == "chat.text"]
    assert texts[-1] == "Lisbon: sunny, 21 degrees."
    offered = [t["function"]["name"] for t in fake_llm.requests[0]["body"]["tools"]]
    assert offered == ["forecast"]
    assert "wiped" not in json.dumps(log)


async def test_an_unreachable_server_fails_the_run_cleanly_and_the_chat_lives_on(
    tmp_path: Path, workflows: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOZAIKS_MCP_WEATHER_URL", f"http://127.0.0.1:{free_port()}/mcp")
    async with serve(_settings(tmp_path, workflows, fake_llm), default_runner) as rt:
        sock = await rt.socket("weather", "c_down")
        await sock.until("chat_meta")
        for attempt in range(2):  # a failed start leaves the chat usable: the next run tries again
            await sock.send({"type": "user.input.submit", "text": f"Weather? ({attempt})"})
            error = await sock.until("chat.error", wait=30)
            assert error["data"]["error_code"] == "MCP_SERVER_FAILED"
            assert "MCP server weather" in error["data"]["message"]
            complete = await sock.until("chat.run_complete", wait=30)
            assert complete["data"]["status"] == "failed"
            await rt.wait_idle("c_down")
        assert fake_llm.requests == []  # no model call was ever made
        state = await rt.http.get("/api/sessions/c_down", headers=rt.auth())
        assert state.status_code == 200
        await sock.close()
