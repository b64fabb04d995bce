"""Cancel: a run stops where it waits, ends with `chat.run_cancelled` (who, why), keeps what it
stored, and leaves the chat ready; owner-checked, repeatable, a clear 409 with no run (both
stores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.runtime.conftest import Runtime, base_settings, serve

pytestmark = pytest.mark.integration


async def test_cancel_over_the_socket_stops_a_streaming_run(runtime: Runtime) -> None:
    assert runtime.runner is not None
    runtime.runner.stream_count, runtime.runner.stream_delay = 1000, 0.02
    sock = await runtime.socket("stream", "c_stop")
    await sock.until("chat.text", content="message 3")
    await sock.send({"type": "chat.cancel", "reason": "enough"})
    ended = await sock.until("chat.run_cancelled")
    assert ended["data"] == {"by": "alice", "reason": "enough", "agent": "Streamer"}
    await runtime.wait_idle("c_stop")

    state = (await runtime.http.get("/api/sessions/c_stop", headers=runtime.auth())).json()
    assert state["status"] == "idle"
    events = (await runtime.http.get("/api/sessions/c_stop/events", headers=runtime.auth())).json()
    kinds = [e["type"] for e in events["events"]]
    assert kinds[-1] == "chat.run_cancelled" and "chat.run_complete" not in kinds
    texts = [e["data"]["content"] for e in events["events"] if e["type"] == "chat.text"]
    assert texts == [f"message {n}" for n in range(1, len(texts) + 1)] and len(texts) < 1000
    assert [e["seq"] for e in events["events"]] == list(range(1, len(kinds) + 1))

    # Repeated: not an error. Someone else's chat: 404, as if it did not exist.
    again = await runtime.http.post("/api/sessions/c_stop/cancel", headers=runtime.auth())
    assert again.status_code == 200 and again.json() == {
        "chat_id": "c_stop",
        "status": "idle",
        "cancelled": False,
    }
    other = await runtime.http.post("/api/sessions/c_stop/cancel", headers=runtime.auth("bob"))
    assert other.status_code == 404 and other.json()["error_code"] == "NOT_FOUND"

    # The chat takes the next message; that run is cancelled over HTTP, with the default reason.
    await sock.send({"type": "user.input.submit", "text": "go on"})
    await sock.until("chat.run_start")
    stopped = await runtime.http.post(
        "/api/sessions/c_stop/cancel", headers=runtime.auth(), json={}
    )
    assert stopped.status_code == 200 and stopped.json()["cancelled"] is True
    ended = await sock.until("chat.run_cancelled")
    assert ended["data"]["reason"] == "cancelled by the user"
    await sock.close()


async def test_cancel_with_no_run_is_a_clear_409(runtime: Runtime) -> None:
    sock = await runtime.socket("scripted", "c_none")
    await sock.until("chat_meta")
    await sock.send({"type": "chat.cancel"})
    error = await sock.until("chat.error")
    assert error["data"]["error_code"] == "NO_ACTIVE_RUN"
    await sock.send({"type": "ping"})
    await sock.until("pong")  # the socket stays open
    await sock.close()
    refused = await runtime.http.post("/api/sessions/c_none/cancel", headers=runtime.auth())
    assert refused.status_code == 409 and refused.json()["error_code"] == "NO_ACTIVE_RUN"
    bad = await runtime.http.post(
        "/api/sessions/c_none/cancel", headers=runtime.auth(), json={"reason": "x" * 501}
    )
    assert bad.status_code == 422


async def test_cancel_while_the_run_waits_for_the_user(runtime: Runtime) -> None:
    sock = await runtime.socket("scripted", "c_wait")
    await sock.until("chat_meta")
    await sock.send({"type": "user.input.submit", "text": "hi"})
    await sock.until("chat.input_request")
    stopped = await runtime.http.post(
        "/api/sessions/c_wait/cancel", headers=runtime.auth(), json={"reason": "changed my mind"}
    )
    assert stopped.status_code == 200 and stopped.json()["status"] == "idle"
    ended = await sock.until("chat.run_cancelled")
    assert ended["data"]["by"] == "alice"
    state = (await runtime.http.get("/api/sessions/c_wait", headers=runtime.auth())).json()
    assert state["pending"] == [] and state["status"] == "idle"
    await sock.close()


async def test_cancel_a_run_left_waiting_by_a_restart(tmp_path: Path) -> None:
    settings = base_settings(tmp_path)
    async with serve(settings) as rt:
        sock = await rt.socket("scripted", "c_left")
        await sock.until("chat_meta")
        await sock.send({"type": "user.input.submit", "text": "hi"})
        await sock.until("chat.input_request")
        await sock.close()
    async with serve(settings) as rt:  # nobody runs the chat now; it still waits
        state = (await rt.http.get("/api/sessions/c_left", headers=rt.auth())).json()
        assert state["status"] == "waiting" and len(state["pending"]) == 1
        stopped = await rt.http.post("/api/sessions/c_left/cancel", headers=rt.auth())
        assert stopped.status_code == 200 and stopped.json()["cancelled"] is True
        state = (await rt.http.get("/api/sessions/c_left", headers=rt.auth())).json()
        assert state["status"] == "idle" and state["pending"] == []
        events = (await rt.http.get("/api/sessions/c_left/events", headers=rt.auth())).json()
        assert events["events"][-1]["type"] == "chat.run_cancelled"
