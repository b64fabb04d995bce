"""Bad frames and bad requests on the socket: each gets a clear chat.error (or a close code),
and the socket, the chat and other chats carry on."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import Runtime, base_settings, serve

pytestmark = pytest.mark.integration


async def _open(rt: Runtime, chat_id: str = "c_bad", workflow: str = "scripted") -> ChatSocket:
    sock = await rt.socket(workflow, chat_id)
    assert (await sock.recv())["type"] == "chat_meta"
    return sock


async def _still_alive(sock: ChatSocket) -> None:
    await sock.send({"type": "ping"})
    await sock.until("pong")


async def test_malformed_json_and_unknown_type(sqlite_runtime: Runtime) -> None:
    sock = await _open(sqlite_runtime)
    for frame, reason in [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"type": "chat.explode"}), "unknown message type 'chat.explode'"),
        (json.dumps({"no": "type"}), "type"),
        (json.dumps({"type": "user.input.submit", "text": ""}), "text"),
        (json.dumps({"type": "client.resume", "last_seq": -1}), "last_seq"),
    ]:
        await sock.send(frame)
        error = await sock.until("chat.error")
        assert error["data"]["error_code"] == "SCHEMA_VALIDATION_FAILED"
        assert reason in error["data"]["message"]
        assert "seq" not in error
    await _still_alive(sock)
    await sock.close()


async def test_pong_is_accepted_silently(sqlite_runtime: Runtime) -> None:
    sock = await _open(sqlite_runtime)
    await sock.send({"type": "pong"})
    await _still_alive(sock)
    assert sock.of_type("chat.error") == []
    await sock.close()


async def test_oversized_frames_get_errors_then_a_close(sqlite_runtime: Runtime) -> None:
    sock = await _open(sqlite_runtime)
    big = json.dumps({"type": "user.input.submit", "text": "x" * 70_000})
    await sock.send(big)
    error = await sock.until("chat.error")
    assert error["data"]["error_code"] == "FRAME_TOO_LARGE"
    await _still_alive(sock)
    await sock.send(big)
    await sock.until("chat.error", error_code="FRAME_TOO_LARGE")
    await sock.send(big)
    code, reason = await sock.closed()
    assert (code, reason) == (1009, "frame too large")


async def test_a_flood_is_limited_then_closed(sqlite_runtime: Runtime) -> None:
    sock = await _open(sqlite_runtime)
    for _ in range(60):
        await sock.send({"type": "ping"})
    code, reason = await sock.closed()
    assert (code, reason) == (1008, "flood")
    limited = [f for f in sock.of_type("chat.error") if f["data"]["error_code"] == "RATE_LIMITED"]
    assert limited


async def test_answering_unknown_or_foreign_requests(sqlite_runtime: Runtime) -> None:
    rt = sqlite_runtime
    # Chat A waits for input.
    a = await _open(rt, "c_a")
    await a.send({"type": "user.input.submit", "chat_id": "c_a", "text": "go"})
    request_id = (await a.until("chat.input_request"))["data"]["request_id"]
    # On chat B's socket, the same user names chat A's request: unknown here.
    b = await _open(rt, "c_b")
    await b.send({"type": "user.input.submit", "text": "x", "input_request_id": request_id})
    error = await b.until("chat.error")
    assert error["data"]["error_code"] == "INPUT_REQUEST_NOT_FOUND"
    await b.send({"type": "user.input.submit", "text": "x", "input_request_id": "in_nope"})
    assert (await b.until("chat.error"))["data"]["error_code"] == "INPUT_REQUEST_NOT_FOUND"
    await b.send({"type": "ui_tool_response", "eventId": request_id, "response": {}})
    assert (await b.until("chat.error"))["data"]["error_code"] == "INPUT_REQUEST_NOT_FOUND"
    # A message naming another chat on this socket is refused as unknown.
    await b.send({"type": "user.input.submit", "chat_id": "c_a", "text": "x"})
    assert (await b.until("chat.error"))["data"]["error_code"] == "NOT_FOUND"
    # Bob cannot answer Alice's request over HTTP either.
    bob = await rt.http.post(
        "/api/user-input/submit",
        json={"input_request_id": request_id, "user_input": "hi"},
        headers=rt.auth("bob"),
    )
    assert bob.status_code == 404
    # Chat A is unharmed: its owner answers, once.
    await a.send({"type": "user.input.submit", "text": "Ada", "input_request_id": request_id})
    await a.until("chat.input_ack", request_id=request_id)
    await a.send({"type": "user.input.submit", "text": "again", "input_request_id": request_id})
    assert (await a.until("chat.error"))["data"]["error_code"] == "INPUT_REQUEST_NOT_FOUND"
    await a.close()
    await b.close()


async def test_resume_from_the_future(sqlite_runtime: Runtime) -> None:
    sock = await _open(sqlite_runtime)
    await sock.send({"type": "client.resume", "chat_id": "c_bad", "last_seq": 999})
    error = await sock.until("chat.error")
    assert error["data"]["error_code"] == "BAD_REQUEST"
    assert "ahead" in error["data"]["message"]
    await _still_alive(sock)
    await sock.close()
    future = await sqlite_runtime.socket("scripted", "c_bad", last_seq=5)
    await future.until("chat.error", error_code="BAD_REQUEST")
    await future.close()


async def test_busy_chat_refuses_a_second_message(sqlite_runtime: Runtime) -> None:
    sock = await _open(sqlite_runtime, "c_busy", workflow="stream")
    await sock.until("chat.text", content="message 1")
    await sock.send({"type": "user.input.submit", "text": "hello?"})
    error = await sock.until("chat.error")
    assert error["data"]["error_code"] == "CONFLICT"
    await sock.close()


@pytest.mark.parametrize(
    ("path", "token_user", "reason"),
    [
        (("nope", "demo", "c_1", "alice"), "alice", "unknown workflow"),
        (("scripted", "demo", "c_1", "bob"), "alice", "forbidden"),
        (("scripted", "other-app", "c_1", "alice"), "alice", "forbidden"),
    ],
)
async def test_refused_sockets_close_1008(
    sqlite_runtime: Runtime, path: tuple[str, str, str, str], token_user: str, reason: str
) -> None:
    workflow, app, chat_id, user = path
    url = sqlite_runtime.ws_url(workflow, chat_id, user, app=app)
    sock = await ChatSocket.open(url, sqlite_runtime.token(token_user))
    assert await sock.closed() == (1008, reason)
    assert sock.frames == []


async def test_tokens_are_checked_before_accept(sqlite_runtime: Runtime) -> None:
    rt = sqlite_runtime
    url = rt.ws_url("scripted", "c_tok")
    for token in (None, "not-a-jwt", rt.token(app="other-app")):
        sock = await ChatSocket.open(url, token)
        assert await sock.closed() == (1008, "unauthorized")
    # The query parameter the widget uses works too.
    sock = await ChatSocket.open(url, rt.token(), via="query")
    assert (await sock.recv())["type"] == "chat_meta"
    await sock.close()
    # A token bound to another chat does not open this one.
    bound = await ChatSocket.open(url, rt.token(chat_id="c_other"))
    assert await bound.closed() == (1008, "chat not found")
    bad_seq = await ChatSocket.open(rt.ws_url("scripted", "c_tok", last_seq="x"), rt.token())
    assert await bad_seq.closed() == (1008, "invalid last_seq")


async def test_another_users_chat_is_refused_like_a_missing_one(sqlite_runtime: Runtime) -> None:
    rt = sqlite_runtime
    mine = await _open(rt, "c_private")
    await mine.close()
    theirs = await ChatSocket.open(rt.ws_url("scripted", "c_private", "bob"), rt.token("bob"))
    assert await theirs.closed() == (1008, "chat not found")
    # Same chat id under another workflow: not found either.
    other = await ChatSocket.open(rt.ws_url("stream", "c_private"), rt.token())
    assert await other.closed() == (1008, "chat not found")


async def test_query_token_can_be_turned_off(tmp_path: Path) -> None:
    async with serve(base_settings(tmp_path, allow_query_token=False)) as rt:
        sock = await ChatSocket.open(rt.ws_url("scripted", "c_q"), rt.token(), via="query")
        assert await sock.closed() == (1008, "unauthorized")
        ok = await rt.socket("scripted", "c_q")
        assert (await ok.recv())["type"] == "chat_meta"
        await ok.close()


async def test_overload_closes_1013(tmp_path: Path) -> None:
    async with serve(base_settings(tmp_path, max_connections=1)) as rt:
        first = await rt.socket("scripted", "c_o1")
        await first.recv()
        second = await rt.socket("scripted", "c_o2")
        assert await second.closed() == (1013, "overloaded")
        await first.close()
        # The slot frees once the server has seen the close: ask until it has.
        async with asyncio.timeout(10):
            while True:
                third = await rt.socket("scripted", "c_o3")
                try:
                    assert (await third.recv())["type"] == "chat_meta"
                    break
                except ConnectionClosed:
                    assert (third.ws.close_code, third.ws.close_reason) == (1013, "overloaded")
                await asyncio.sleep(0.05)
        await third.close()


async def test_dev_auth_trusts_the_path_and_header(tmp_path: Path) -> None:
    """Only with MOZAIKS_DEV_AUTH=true (never by default): no token, the caller is who they say."""
    async with serve(base_settings(tmp_path, dev_auth=True, jwt_secret=None)) as rt:
        sock = await ChatSocket.open(rt.ws_url("scripted", "c_dev", "carol"), None)
        meta = await sock.recv()
        assert meta["data"]["user_id"] == "carol"
        await sock.close()
        mine = await rt.http.get("/api/sessions/c_dev", headers={"X-Mozaiks-User": "carol"})
        assert mine.status_code == 200
        theirs = await rt.http.get("/api/sessions/c_dev", headers={"X-Mozaiks-User": "dave"})
        assert theirs.status_code == 404
