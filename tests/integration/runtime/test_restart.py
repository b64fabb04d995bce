"""SIGKILL the runtime process mid-run, start it again, reconnect: the chat continues from its
persisted history with no event lost or duplicated (both stores; scripted and real engine)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mozaiks_runtime.auth.mint import mint_token
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, SECRET, WORKFLOWS, free_port
from tests.integration.runtime.processes import REPO, RuntimeProcess, runtime_env, stored_events

pytestmark = pytest.mark.integration


@pytest.fixture
async def scripted_process(
    tmp_path: Path, store_settings: dict[str, Any]
) -> AsyncIterator[RuntimeProcess]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.integration.runtime.server", "--port", str(port)]
    process = RuntimeProcess(
        argv, runtime_env(tmp_path, store_settings, WORKFLOWS), port, tmp_path / "log"
    )
    yield process
    await process.stop()


async def test_sigkill_mid_stream_then_resume(scripted_process: RuntimeProcess) -> None:
    proc = scripted_process
    token = mint_token(SECRET, user="alice", app=APP)
    await proc.start()
    sock = await ChatSocket.open(proc.ws_url("stream", "c_kill"), token)
    await sock.until("chat.text", content="message 5")
    await proc.kill()
    seen = sock.seqs()
    await proc.start()

    again = await ChatSocket.open(proc.ws_url("stream", "c_kill", last_seq=seen[-1]), token)
    meta = await again.recv()
    assert meta["data"]["status"] == "running" and meta["data"]["last_seq"] >= seen[-1]
    await again.until("chat.run_complete", wait=30)
    await again.close()

    # On the wire: the second socket continued exactly after the first one.
    assert seen == list(range(1, len(seen) + 1))
    assert again.seqs() == list(range(seen[-1] + 1, seen[-1] + 1 + len(again.seqs())))
    # In the store: every message once, in order, seqs gap-free.
    stored = await stored_events(proc.port, "c_kill")
    assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
    texts = [e["data"]["content"] for e in stored if e["type"] == "chat.text"]
    assert texts == [f"message {n}" for n in range(1, 31)]
    assert [e["type"] for e in stored].count("chat.run_start") == 2  # the run, then its resumption
    assert stored[-1]["type"] == "chat.run_complete"


async def test_sigkill_while_waiting_for_input_with_the_real_engine(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "mozaiks_cli", "runtime", "--host", "127.0.0.1"]
    env = runtime_env(tmp_path, {}, REPO / "workflows")
    proc = RuntimeProcess([*argv, "--port", str(port)], env, port, tmp_path / "log")
    token = mint_token(SECRET, user="alice", app=APP)
    try:
        await proc.start()
        sock = await ChatSocket.open(proc.ws_url("hello", "c_hello"), token)
        request = await sock.until("chat.input_request", wait=30)
        assert request["data"]["prompt"] == "Hello! What is your name?"
        await proc.kill()
        before = await sock.closed()
        assert before[0] != 1000  # the process died; no clean close
        await proc.start()

        again = await ChatSocket.open(
            proc.ws_url("hello", "c_hello", last_seq=sock.seqs()[-1]), token
        )
        meta = await again.recv()
        assert meta["data"]["status"] == "waiting"
        boundary = await again.until("chat.resume_boundary")
        assert boundary["data"]["replayed_events"] == 0
        # The question asked before the crash is still open and answerable.
        request_id = request["data"]["request_id"]
        await again.send(
            {"type": "user.input.submit", "text": "Ada", "input_request_id": request_id}
        )
        await again.until("chat.input_ack", request_id=request_id, wait=30)
        while True:
            frame = await again.recv(wait=30)
            if frame["type"] == "chat.input_request":  # the demo model may ask once more
                await again.send(
                    {
                        "type": "user.input.submit",
                        "text": "Ada",
                        "input_request_id": frame["data"]["request_id"],
                    }
                )
            if frame["type"] == "chat.run_complete":
                break
        await again.close()
        stored = await stored_events(port, "c_hello")
        assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
        assert [e["seq"] for e in stored[: len(sock.seqs())]] == sock.seqs()
        users = [
            e["data"]["content"]
            for e in stored
            if e["type"] == "chat.text" and e["data"]["role"] == "user"
        ]
        assert users[0] == "Ada"
        assert stored[-1]["data"]["status"] == "completed"
    finally:
        await proc.stop()


async def test_sigkill_at_the_approval_resumes_with_the_agent_that_asked(tmp_path: Path) -> None:
    """Killed while the Booker (the third agent) waits for approval: after the restart the answer
    resumes the Booker's turn, which books; the Concierge and the Planner do not run again."""
    port = free_port()
    argv = [sys.executable, "-m", "mozaiks_cli", "runtime", "--host", "127.0.0.1"]
    env = runtime_env(tmp_path, {}, REPO / "workflows")
    proc = RuntimeProcess([*argv, "--port", str(port)], env, port, tmp_path / "log")
    token = mint_token(SECRET, user="alice", app=APP)
    try:
        await proc.start()
        sock = await ChatSocket.open(proc.ws_url("trip_planner", "c_trip"), token)
        await sock.send({"type": "user.input.submit", "text": "Somewhere sunny"})
        form = await sock.until("chat.tool_call", awaiting_response=True, wait=30)
        answer = {"destination": "Lisbon", "days": 3, "travellers": 2}
        await sock.send(
            {"type": "ui_tool_response", "eventId": form["data"]["corr"], "response": answer}
        )
        approval = await sock.until("chat.input_request", agent="Booker", wait=30)
        await proc.kill()
        await sock.closed()
        await proc.start()

        again = await ChatSocket.open(
            proc.ws_url("trip_planner", "c_trip", last_seq=sock.seqs()[-1]), token
        )
        await again.until("chat.resume_boundary")
        request_id = approval["data"]["request_id"]
        await again.send(
            {"type": "user.input.submit", "text": "yes", "input_request_id": request_id}
        )
        resumed = await again.until("chat.run_start", wait=30)
        assert resumed["data"]["agent"] == "Booker"
        # The demo model starts the Booker's turn over, so it asks once more; a real model
        # sees its question and the answer in the history it is given.
        again_asked = await again.until("chat.input_request", agent="Booker", wait=30)
        await again.send(
            {
                "type": "user.input.submit",
                "text": "yes",
                "input_request_id": again_asked["data"]["request_id"],
            }
        )
        booking = await again.until("chat.tool_call", tool_name="confirm_booking", wait=30)
        await again.send(
            {"type": "ui_tool_response", "eventId": booking["data"]["corr"], "response": {}}
        )
        assert (await again.until("chat.run_complete", wait=30))["data"]["status"] == "completed"
        await again.close()

        stored = await stored_events(port, "c_trip")
        assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
        asked = [e for e in stored if e["type"] == "chat.input_request"]
        assert {e["data"]["agent"] for e in asked} == {"Booker"}
        after_restart = [e for e in stored if e["seq"] > sock.seqs()[-1]]
        speakers = [e["data"]["agent"] for e in after_restart if e["type"] == "chat.select_speaker"]
        assert "Planner" not in speakers and "Concierge" not in speakers
    finally:
        await proc.stop()
