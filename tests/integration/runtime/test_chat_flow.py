"""Whole conversations over a real uvicorn server and real sockets, on both storage adapters."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import Runtime, base_settings, serve

pytestmark = pytest.mark.integration


async def _create(rt: Runtime, workflow: str = "scripted", user: str = "alice") -> str:
    response = await rt.http.post(
        "/api/sessions", json={"workflow_name": workflow}, headers=rt.auth(user)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["ws_url"].startswith(f"ws://127.0.0.1:{rt.port}/ws/{workflow}/demo/")
    return str(body["chat_id"])


async def _drive_to_input(sock: ChatSocket, chat_id: str) -> str:
    await sock.send({"type": "user.input.submit", "chat_id": chat_id, "text": "Plan a trip"})
    request = await sock.until("chat.input_request")
    return str(request["data"]["request_id"])


def assert_gap_free(seqs: list[int], start: int = 1) -> None:
    assert seqs == list(range(start, start + len(seqs))), seqs


async def test_full_round_trip(runtime: Runtime) -> None:
    chat_id = await _create(runtime)
    sock = await runtime.socket("scripted", chat_id)
    meta = await sock.recv()
    assert meta["type"] == "chat_meta"
    assert "seq" not in meta
    assert meta["data"]["chat_exists"] is True
    assert meta["data"]["status"] == "created"
    assert meta["data"]["last_seq"] == 0

    request_id = await _drive_to_input(sock, chat_id)
    greeting = next(f for f in sock.of_type("chat.text") if f["data"]["agent"] == "Planner")
    assert greeting["data"] == {
        "agent": "Planner",
        "content": "Hello! You said: Plan a trip",
        "role": "assistant",
        "visible": True,
    }
    user_text = sock.of_type("chat.text")[0]
    assert user_text["data"]["role"] == "user" and user_text["data"]["content"] == "Plan a trip"
    chunk = sock.of_type("chat.text_chunk")[0]
    assert "seq" not in chunk and chunk["data"]["content"] == "Hel"
    usage = sock.of_type("chat.usage_delta")[0]["data"]
    assert (usage["model_name"], usage["total_tokens"], usage["user_id"]) == (
        "scripted-model",
        15,
        "alice",
    )

    await sock.send(
        {
            "type": "user.input.submit",
            "chat_id": chat_id,
            "text": "Ada",
            "input_request_id": request_id,
        }
    )
    ack = await sock.until("chat.input_ack")
    assert ack["data"]["request_id"] == request_id and ack["data"]["status"] == "accepted"
    call = await sock.until("chat.tool_call", call_id="call_1")
    assert call["data"]["arguments"] == {"name": "Ada"}
    result = await sock.until("chat.tool_response")
    assert result["data"]["result"] == {"found": "ADA"} and result["data"]["status"] == "ok"
    ui = await sock.until("chat.tool_call", awaiting_response=True)
    assert ui["data"]["component_type"] == "confirmation"
    assert ui["data"]["payload"] == {"question": "Book it for Ada?"}
    assert ui["data"]["display"] == "inline"

    await sock.send(
        {"type": "ui_tool_response", "eventId": ui["data"]["corr"], "response": {"ok": True}}
    )
    assert (await sock.until("ack.ui_tool_response"))["data"]["eventId"] == ui["data"]["corr"]
    done = await sock.until("chat.ui_tool_complete")
    assert done["data"]["status"] == "completed"
    closing = await sock.until("chat.text", agent="Planner", content='Done, Ada: {"ok": true}')
    assert closing["data"]["role"] == "assistant"
    summary = await sock.until("chat.usage_summary")
    assert summary["data"]["total_tokens"] == 15 and summary["data"]["calls"] == 1
    complete = await sock.until("chat.run_complete")
    assert complete["data"]["status"] == "completed"
    assert_gap_free(sock.seqs())
    await sock.close()

    await runtime.wait_idle(chat_id)
    state = (await runtime.http.get(f"/api/sessions/{chat_id}", headers=runtime.auth())).json()
    assert state["status"] == "completed"
    assert state["last_seq"] == sock.seqs()[-1]
    assert state["total_tokens"] == 15
    assert state["pending"] == []
    history = await runtime.http.get(f"/api/sessions/{chat_id}/events", headers=runtime.auth())
    stored = history.json()["events"]
    assert [e["seq"] for e in stored] == sock.seqs()
    assert [e["type"] for e in stored] == [f["type"] for f in sock.frames if "seq" in f]


async def test_two_sockets_on_one_chat_both_get_every_event(runtime: Runtime) -> None:
    chat_id = await _create(runtime)
    first = await runtime.socket("scripted", chat_id)
    second = await runtime.socket("scripted", chat_id)
    await first.until("chat_meta")
    await second.until("chat_meta")
    request_id = await _drive_to_input(first, chat_id)
    await second.until("chat.input_request")
    # The second tab answers; both see the rest.
    await second.send(
        {
            "type": "user.input.submit",
            "chat_id": chat_id,
            "text": "Bo",
            "input_request_id": request_id,
        }
    )
    ui = await first.until("chat.tool_call", awaiting_response=True)
    await second.until("chat.tool_call", awaiting_response=True)
    await first.send({"type": "ui.tool.response", "eventId": ui["data"]["corr"], "response": {}})
    await first.until("chat.run_complete")
    await second.until("chat.run_complete")
    assert first.seqs() == second.seqs()
    assert_gap_free(first.seqs())
    await first.close()
    await second.close()


async def test_disconnect_mid_run_and_resume_with_last_seq(runtime: Runtime) -> None:
    chat_id = await _create(runtime)
    sock = await runtime.socket("scripted", chat_id)
    request_id = await _drive_to_input(sock, chat_id)
    seen = sock.seqs()[-1]
    await sock.close()

    # While no socket is open, the answer arrives over HTTP and the run goes on.
    answered = await runtime.http.post(
        "/api/user-input/submit",
        json={"input_request_id": request_id, "user_input": "Cy"},
        headers=runtime.auth(),
    )
    assert answered.status_code == 200, answered.text
    for _ in range(100):  # until the run has asked its UI question
        page = await runtime.http.get(f"/api/sessions/{chat_id}/events", headers=runtime.auth())
        if any(e["data"].get("awaiting_response") for e in page.json()["events"]):
            break
        await asyncio.sleep(0.05)

    again = await runtime.socket("scripted", chat_id, last_seq=seen)
    meta = await again.recv()
    assert meta["type"] == "chat_meta" and meta["data"]["last_seq"] > seen
    boundary = await again.until("chat.resume_boundary")
    replayed = [f for f in again.frames if "seq" in f]
    assert replayed and all(f["data"].get("replay") is True for f in replayed), again.frames
    assert_gap_free(again.seqs(), start=seen + 1)
    assert boundary["data"]["last_seq"] == again.seqs()[-1]
    assert boundary["data"]["replayed_events"] == len(replayed)
    ui = next(f for f in replayed if f["data"].get("awaiting_response"))
    await again.send(
        {"type": "ui_tool_response", "eventId": ui["data"]["corr"], "response": {"a": 1}}
    )
    await again.until("chat.run_complete")
    assert_gap_free(again.seqs(), start=seen + 1)
    await again.close()


async def test_reload_replays_history_then_client_resume_sends_nothing_twice(
    runtime: Runtime,
) -> None:
    chat_id = await _create(runtime)
    sock = await runtime.socket("scripted", chat_id)
    await _drive_to_input(sock, chat_id)
    total = sock.seqs()[-1]
    await sock.close()

    # A reloaded page: empty message list, no last_seq: the whole history, then a boundary.
    reloaded = await runtime.socket("scripted", chat_id)
    await reloaded.until("chat.resume_boundary")
    assert reloaded.seqs() == list(range(1, total + 1))
    # It asks again for everything: the socket's mark says it has it all.
    await reloaded.send({"type": "client.resume", "chat_id": chat_id, "lastClientIndex": 0})
    boundary = await reloaded.until("chat.resume_boundary")
    assert boundary["data"] == {"chat_id": chat_id, "last_seq": total, "replayed_events": 0}
    assert reloaded.seqs() == list(range(1, total + 1))
    await reloaded.close()


async def test_agent_driven_run_outlives_its_socket(runtime: Runtime) -> None:
    sock = await runtime.socket("stream", "c_stream")
    meta = await sock.recv()
    assert meta["data"]["chat_exists"] is False
    await sock.until("chat.text", content="message 3")
    await sock.close()
    await runtime.wait_idle("c_stream")
    page = await runtime.http.get(
        "/api/sessions/c_stream/events", params={"limit": 1000}, headers=runtime.auth()
    )
    texts = [e["data"]["content"] for e in page.json()["events"] if e["type"] == "chat.text"]
    assert texts == [f"message {n}" for n in range(1, 31)]
    assert page.json()["events"][-1]["type"] == "chat.run_complete"


async def test_a_slow_socket_catches_up_from_the_store(tmp_path: Path) -> None:
    async with serve(base_settings(tmp_path, ws_queue_frames=8)) as rt:
        slow = await ChatSocket.open(rt.ws_url("flood", "c_flood"), rt.token(), via="slow")
        await asyncio.sleep(1.0)  # not reading: the server's buffers fill, its hub queue overflows
        await slow.until("chat.run_complete", wait=60)
        texts = [f["data"]["content"].split(":")[0] for f in slow.of_type("chat.text")]
        assert texts == [str(n) for n in range(1, 301)]
        assert_gap_free(slow.seqs())
        await slow.close()


async def test_start_workflow_moves_the_socket_to_a_new_chat(runtime: Runtime) -> None:
    sock = await runtime.socket("scripted", "c_first")
    await sock.until("chat_meta")
    await sock.send(
        {
            "type": "chat.start_workflow",
            "workflow_name": "scripted",
            "initial_message": "Second chat",
            "frontend_context": {"page": "pricing"},
        }
    )
    started = await sock.until("chat.workflow_started")
    new_id = started["data"]["chat_id"]
    assert new_id != "c_first"
    assert started["data"] | {"chat_id": ""} == {
        "chat_id": "",
        "workflow_name": "scripted",
        "app_id": "demo",
        "user_id": "alice",
    }
    text = await sock.until("chat.text", agent="Planner")
    assert text["chat_id"] == new_id and text["data"]["content"] == "Hello! You said: Second chat"
    request = await sock.until("chat.input_request")
    assert request["chat_id"] == new_id
    assert runtime.runner is not None
    assert runtime.runner.requests[-1].context["page"] == "pricing"
    await sock.send({"type": "chat.start_workflow", "workflow_name": "nope"})
    assert (await sock.until("chat.error"))["data"]["error_code"] == "WORKFLOW_NOT_FOUND"
    await sock.close()
    listed = await runtime.http.get("/api/sessions", headers=runtime.auth())
    assert {s["chat_id"] for s in listed.json()["sessions"]} == {"c_first", new_id}


async def test_the_next_message_right_after_run_complete_is_taken(runtime: Runtime) -> None:
    sock = await runtime.socket("stream", "c_next")
    await sock.until("chat.run_complete", wait=20)
    await sock.send({"type": "user.input.submit", "text": "again"})
    echo = await sock.until("chat.text", role="user")
    assert echo["data"]["content"] == "again"
    assert sock.of_type("chat.error") == []
    await sock.until("chat.run_start")
    await sock.close()
