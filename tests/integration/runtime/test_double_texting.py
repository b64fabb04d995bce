"""A message while a run goes on, per the workflow's `on_new_message`: reject (today's CONFLICT),
enqueue (each queued message starts the next run, in order), interrupt (cancel, then run it);
an unknown policy is refused when the workflow loads (both stores)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mozaiks_runtime.workflows.schema import WorkflowInvalid, validate_definition
from tests.integration.runtime.conftest import WORKFLOWS, Runtime, base_settings, serve

pytestmark = pytest.mark.integration


def _workflows(tmp_path: Path, policy: str) -> Path:
    directory = tmp_path / "wf"
    shutil.copytree(WORKFLOWS, directory)
    path = directory / "stream.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "on_new_message": policy}))
    return directory


async def _user_texts(rt: Runtime, chat_id: str) -> list[str]:
    found = (await rt.http.get(f"/api/sessions/{chat_id}/events", headers=rt.auth())).json()
    return [
        e["data"]["content"]
        for e in found["events"]
        if e["type"] == "chat.text" and e["data"]["role"] == "user"
    ]


@pytest.mark.parametrize("policy", ["enqueue", "interrupt"])
async def test_messages_while_a_run_goes_on(
    tmp_path: Path, store_settings: dict[str, Any], policy: str
) -> None:
    settings = base_settings(tmp_path, workflows_dir=_workflows(tmp_path, policy), **store_settings)
    async with serve(settings) as rt:
        assert rt.runner is not None
        rt.runner.stream_count, rt.runner.stream_delay = 40, 0.02
        sock = await rt.socket("stream", "c_dt")
        await sock.until("chat.text", content="message 2")
        await sock.send({"type": "user.input.submit", "text": "first"})
        queued = await sock.until("chat.message_queued")
        assert queued["data"] == {"position": 1, "policy": policy}
        if policy == "enqueue":
            await sock.send({"type": "user.input.submit", "text": "second"})
            assert (await sock.until("chat.message_queued"))["data"]["position"] == 2
            ends = ["chat.run_complete"] * 3
        else:
            ends = ["chat.run_cancelled", "chat.run_complete"]
        for end in ends:
            await sock.until(end, wait=20)
        await rt.wait_idle("c_dt")
        await sock.close()
        expected = ["first", "second"] if policy == "enqueue" else ["first"]
        assert await _user_texts(rt, "c_dt") == expected  # each once, in the order sent
        events = (await rt.http.get("/api/sessions/c_dt/events", headers=rt.auth())).json()
        kinds = [e["type"] for e in events["events"]]
        assert kinds.count("chat.run_start") == len(ends)
        texts = [e["data"]["content"] for e in events["events"] if e["type"] == "chat.text"]
        if policy == "enqueue":  # the first run was not cut short
            assert [t for t in texts if t.startswith("message")] == [
                f"message {n}" for n in range(1, 41)
            ]


async def test_reject_is_the_default(tmp_path: Path) -> None:
    async with serve(base_settings(tmp_path)) as rt:
        assert rt.runner is not None
        rt.runner.stream_count, rt.runner.stream_delay = 40, 0.02
        sock = await rt.socket("stream", "c_rej")
        await sock.until("chat.text", content="message 2")
        await sock.send({"type": "user.input.submit", "text": "too soon"})
        error = await sock.until("chat.error")
        assert error["data"]["error_code"] == "CONFLICT"
        await sock.until("chat.run_complete", wait=20)
        await sock.close()
        assert await _user_texts(rt, "c_rej") == []


def test_an_unknown_policy_is_refused() -> None:
    data = json.loads((WORKFLOWS / "stream.json").read_text())
    with pytest.raises(WorkflowInvalid) as info:
        validate_definition({**data, "on_new_message": "rollback"}, "stream.json")
    assert any("on_new_message" in problem for problem in info.value.errors)
