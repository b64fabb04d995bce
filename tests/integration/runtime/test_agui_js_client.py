"""The published AG-UI client in JavaScript (@ag-ui/client's HttpAgent, what CopilotKit's
runtime uses; pinned in tests/agui_client/package-lock.json) runs a thread of the scripted
workflow against a real runtime: its own stream verifier accepts every run, it answers the
questions as tool results, and it ends up with the chat's conversation and state."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runtime.conftest import Runtime

pytestmark = pytest.mark.integration
CLIENT = Path(__file__).resolve().parents[2] / "agui_client"


async def drive(rt: Runtime, thread_id: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed (make test installs the client with npm ci)"
    assert (CLIENT / "node_modules" / "@ag-ui" / "client").is_dir(), "run: make node-deps"
    url = f"http://127.0.0.1:{rt.port}/api/agui/scripted"
    process = await asyncio.create_subprocess_exec(
        node,
        str(CLIENT / "drive.mjs"),
        url,
        rt.token("alice"),
        thread_id,
        cwd=CLIENT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    seen: dict[str, Any] = json.loads(out)
    return seen


async def test_the_js_client_runs_a_whole_thread(runtime: Runtime) -> None:
    rt = runtime  # on SQLite and on FerretDB
    seen = await drive(rt, "t_js")
    runs = seen["runs"]
    assert [r["errors"] for r in runs] == [[], [], [], []]
    assert all(r["types"][0] == "RUN_STARTED" and r["types"][-1] == "RUN_FINISHED" for r in runs)
    # A question, a UI tool, the end; then a run with nothing new.
    assert [len(r["pending"]) for r in runs] == [1, 1, 0, 0]
    assert [r["outcome"] for r in runs] == ["success"] * 4
    assert "TEXT_MESSAGE_CONTENT" in runs[0]["types"] and "TOOL_CALL_RESULT" in runs[1]["types"]
    assert runs[3]["types"] == ["RUN_STARTED", "STATE_SNAPSHOT", "RUN_FINISHED"]

    said = [m.get("content") for m in seen["messages"] if m["role"] == "assistant"]
    assert said[0] == "Hello! You said: hi" and said[-1] == 'Done, Ada: {"ok": true}'
    asked = [c["function"]["name"] for m in seen["messages"] for c in m.get("toolCalls") or []]
    assert asked == ["human_input", "lookup", "confirm"]

    # The thread is the caller's chat: the same conversation in its log.
    await rt.wait_idle("t_js")
    chat = await rt.http.get("/api/sessions/t_js", headers=rt.auth())
    assert chat.json()["status"] == "completed"
    log = await rt.http.get("/api/sessions/t_js/events?limit=1000", headers=rt.auth())
    texts = [e["data"]["content"] for e in log.json()["events"] if e["type"] == "chat.text"]
    assert texts == ["hi", "Hello! You said: hi", "Ada", 'Done, Ada: {"ok": true}']
    # Another user's client gets nothing of it.
    other = await rt.http.get("/api/sessions/t_js", headers=rt.auth("bob"))
    assert other.status_code == 404
