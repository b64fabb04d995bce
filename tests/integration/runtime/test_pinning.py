"""A chat runs the exact workflow it started with, across restarts, after the file changed and
after it was deleted; only an explicit upgrade moves it, and that is in its log (both stores)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runtime.conftest import WORKFLOWS, Runtime, base_settings, serve

pytestmark = pytest.mark.integration


def _settings(tmp_path: Path, store_settings: dict[str, Any]) -> Any:
    return base_settings(tmp_path, workflows_dir=tmp_path / "wf", **store_settings)


def _rewrite(tmp_path: Path, description: str) -> None:
    path = tmp_path / "wf" / "stream.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "description": description}))


async def _run_once(rt: Runtime, text: str | None = None) -> str:
    """Open the chat (agent-driven: it runs), or send `text`; the description the run saw."""
    assert rt.runner is not None
    sock = await rt.socket("stream", "c_pin")
    if text is not None:
        await sock.until("chat_meta")
        await sock.send({"type": "user.input.submit", "text": text})
    await sock.until("chat.run_complete", replay=None)
    await sock.close()
    return rt.runner.requests[-1].workflow.description


async def test_a_chat_keeps_its_version_until_upgraded(
    tmp_path: Path, store_settings: dict[str, Any]
) -> None:
    shutil.copytree(WORKFLOWS, tmp_path / "wf")
    _rewrite(tmp_path, "first")
    settings = _settings(tmp_path, store_settings)
    async with serve(settings) as rt:
        assert rt.runner is not None
        rt.runner.stream_count, rt.runner.stream_delay = 2, 0
        assert await _run_once(rt) == "first"
        first = (await rt.http.get("/api/sessions/c_pin", headers=rt.auth())).json()
        assert first["upgrade_available"] is False
        assert first["current_workflow_version"] == first["workflow_version"]

    _rewrite(tmp_path, "second")
    async with serve(settings) as rt:  # a restart: this process never saw "first"
        assert rt.runner is not None
        rt.runner.stream_count, rt.runner.stream_delay = 2, 0
        state = (await rt.http.get("/api/sessions/c_pin", headers=rt.auth())).json()
        assert state["workflow_version"] == first["workflow_version"]
        assert state["upgrade_available"] is True
        assert await _run_once(rt, "again") == "first"

        # Someone else's chat: 404, nothing moves.
        other = await rt.http.post("/api/sessions/c_pin/upgrade", headers=rt.auth("bob"))
        assert other.status_code == 404 and other.json()["error_code"] == "NOT_FOUND"
        upgraded = await rt.http.post("/api/sessions/c_pin/upgrade", headers=rt.auth())
        assert upgraded.status_code == 200, upgraded.text
        body = upgraded.json()
        assert body["upgraded"] is True and body["previous_version"] == first["workflow_version"]
        again = await rt.http.post("/api/sessions/c_pin/upgrade", headers=rt.auth())
        assert again.json()["upgraded"] is False  # idempotent
        assert await _run_once(rt, "after the upgrade") == "second"
        events = (await rt.http.get("/api/sessions/c_pin/events", headers=rt.auth())).json()
        moves = [e["data"] for e in events["events"] if e["type"] == "chat.workflow_upgraded"]
        assert moves == [
            {
                "from_version": first["workflow_version"],
                "to_version": body["workflow_version"],
                "version": "1",
                "by": "alice",
            }
        ]

    (tmp_path / "wf" / "stream.json").unlink()
    async with serve(settings) as rt:  # the workflow is gone: the chat still runs its version
        assert rt.runner is not None
        rt.runner.stream_count, rt.runner.stream_delay = 2, 0
        state = (await rt.http.get("/api/sessions/c_pin", headers=rt.auth())).json()
        assert state["current_workflow_version"] is None and state["upgrade_available"] is False
        assert await _run_once(rt, "still here") == "second"
        gone = await rt.http.post("/api/sessions/c_pin/upgrade", headers=rt.auth())
        assert gone.status_code == 404 and gone.json()["error_code"] == "WORKFLOW_NOT_FOUND"
        new = await rt.http.post(
            "/api/sessions", headers=rt.auth(), json={"workflow_name": "stream"}
        )
        assert new.status_code == 404  # no new chat on a workflow that is not served
