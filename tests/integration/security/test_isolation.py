"""User isolation on a real server: Alice, with a valid token, against Bob's chats, his pending
input request and his pending UI tool, over every HTTP route and the WebSocket. Bob's chat must
look exactly like a chat that does not exist, and nothing Alice tries may touch it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import Runtime
from tests.integration.security.conftest import auth, create_chat, refused, socket

pytestmark = pytest.mark.integration

NOBODY = "c_0000000000000000000000000000dead"  # a chat id that exists for no one
NO_REQUEST = "r_does_not_exist"


@dataclass
class BobsChats:
    waiting_input: str  # a chat whose run waits for Bob's text answer
    request_id: str
    waiting_ui: str  # a chat whose run waits for Bob's UI tool answer
    event_id: str
    sockets: list[ChatSocket]


async def bobs_chats(rt: Runtime) -> BobsChats:
    first = await create_chat(rt, "bob")
    one = await socket(rt, first, user="bob")
    await one.send({"type": "user.input.submit", "chat_id": first, "text": "hi"})
    request_id = (await one.until("chat.input_request"))["data"]["request_id"]

    second = await create_chat(rt, "bob")
    two = await socket(rt, second, user="bob")
    await two.send({"type": "user.input.submit", "chat_id": second, "text": "hi"})
    asked = (await two.until("chat.input_request"))["data"]["request_id"]
    await two.send(
        {"type": "user.input.submit", "chat_id": second, "text": "Bob", "input_request_id": asked}
    )
    event_id = (await two.until("chat.tool_call", awaiting_response=True))["data"]["corr"]
    return BobsChats(first, request_id, second, event_id, [one, two])


async def bob_can_still_answer(bob: BobsChats) -> None:
    """Both of Bob's questions are still open, and Bob (only Bob) can answer them."""
    one, two = bob.sockets
    await one.send(
        {
            "type": "user.input.submit",
            "chat_id": bob.waiting_input,
            "text": "Bob",
            "input_request_id": bob.request_id,
        }
    )
    ack = await one.until("chat.input_ack", request_id=bob.request_id)
    assert ack["data"]["status"] == "accepted"
    await two.send({"type": "ui_tool_response", "eventId": bob.event_id, "response": {"ok": 1}})
    assert (await two.until("ack.ui_tool_response"))["data"]["status"] == "accepted"
    assert (await two.until("chat.run_complete"))["data"]["status"] == "completed"
    for sock in bob.sockets:
        await sock.close()


def reads(chat_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", f"/api/sessions/{chat_id}", None),
        ("GET", f"/api/sessions/{chat_id}/events", None),
        ("GET", f"/api/sessions/{chat_id}/events?after_seq=0&limit=5", None),
        ("GET", f"/api/chats/exists/demo/scripted/{chat_id}", None),
        ("GET", f"/api/chats/meta/demo/scripted/{chat_id}", None),
    ]


def answers(request_id: str, event_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("POST", "/api/user-input/submit", {"input_request_id": request_id, "user_input": "x"}),
        ("POST", "/api/ui-tool/submit", {"event_id": event_id, "response_data": {"ok": 0}}),
    ]


async def test_http_routes_treat_bobs_chat_as_missing(rt: Runtime) -> None:
    bob = await bobs_chats(rt)
    alice = auth("alice")
    probes = [
        (reads(bob.waiting_input), reads(NOBODY)),
        (reads(bob.waiting_ui), reads(NOBODY)),
        (answers(bob.request_id, bob.event_id), answers(NO_REQUEST, NO_REQUEST)),
        # Even the right kind of request for the other chat: input id as a UI event and back.
        (answers(bob.event_id, bob.request_id), answers(NO_REQUEST, NO_REQUEST)),
    ]
    for bobs, missing in probes:
        for (method, path, body), (_, other_path, other_body) in zip(bobs, missing, strict=True):
            got = await rt.http.request(method, path, json=body, headers=alice)
            baseline = await rt.http.request(method, other_path, json=other_body, headers=alice)
            assert got.status_code in (404, 200), (path, got.status_code)
            assert (got.status_code, got.json()) == (baseline.status_code, baseline.json()), path
            if got.status_code == 200:
                assert got.json() == {"exists": False}
    # Resuming Bob's chat by id is refused, and does not create or change anything.
    response = await rt.http.post(
        "/api/sessions",
        json={"workflow_name": "scripted", "chat_id": bob.waiting_input},
        headers=alice,
    )
    assert response.status_code == 404
    await bob_can_still_answer(bob)


async def test_listing_and_usage_of_others_need_the_admin_scope(rt: Runtime) -> None:
    bob = await bobs_chats(rt)
    alice = auth("alice")
    mine = await create_chat(rt, "alice")
    for path, status in (
        ("/api/sessions?user_id=bob", 404),  # sessions: "no such user", users are not revealed
        ("/api/sessions?user_id=*", 404),
        ("/api/sessions/list/demo/bob", 404),
        ("/api/usage?user_id=bob", 403),  # usage: "needs the admin scope"
        ("/api/usage?user_id=*&group_by=user", 403),
    ):
        response = await rt.http.get(path, headers=alice)
        assert response.status_code == status, path
    own = (await rt.http.get("/api/sessions", headers=alice)).json()["sessions"]
    assert [s["chat_id"] for s in own] == [mine]
    usage = (await rt.http.get("/api/usage?group_by=user", headers=alice)).json()
    assert [g["key"] for g in usage["groups"]] == []  # Alice has not used the model
    # The same calls with the admin scope see the whole app (the checks above can fail).
    admin = auth("alice", admin=True)
    everyone = (await rt.http.get("/api/sessions?user_id=*", headers=admin)).json()["sessions"]
    assert {s["chat_id"] for s in everyone} == {mine, bob.waiting_input, bob.waiting_ui}
    app_usage = (await rt.http.get("/api/usage?user_id=*&group_by=user", headers=admin)).json()
    assert [(g["key"], g["total_tokens"]) for g in app_usage["groups"]] == [("bob", 30)]
    await bob_can_still_answer(bob)


async def test_socket_refuses_bobs_path_and_bobs_chat(rt: Runtime) -> None:
    bob = await bobs_chats(rt)
    # Alice's token on Bob's path (his chat, and a fresh id): sub != path user.
    for chat_id in (bob.waiting_input, NOBODY):
        sock = await socket(rt, chat_id, user="bob", as_user="alice")
        assert await refused(sock) == (1008, "forbidden")
    # Alice's token on her own path naming Bob's chat.
    for via in ("subprotocol", "query"):
        sock = await socket(rt, bob.waiting_input, user="alice", via=via)
        assert await refused(sock) == (1008, "chat not found")
    await bob_can_still_answer(bob)


async def test_messages_on_alices_socket_cannot_reach_bobs_chat(rt: Runtime) -> None:
    bob = await bobs_chats(rt)
    mine = await create_chat(rt, "alice")
    sock = await socket(rt, mine)
    await sock.until("chat_meta")
    attempts: list[tuple[dict[str, Any], str]] = [
        ({"type": "user.input.submit", "chat_id": bob.waiting_input, "text": "x"}, "NOT_FOUND"),
        (
            {
                "type": "user.input.submit",
                "chat_id": bob.waiting_input,
                "text": "x",
                "input_request_id": bob.request_id,
            },
            "NOT_FOUND",
        ),
        (
            {
                "type": "user.input.submit",
                "chat_id": mine,
                "text": "x",
                "input_request_id": bob.request_id,
            },
            "INPUT_REQUEST_NOT_FOUND",
        ),
        (
            {"type": "user.input.submit", "text": "x", "input_request_id": bob.request_id},
            "INPUT_REQUEST_NOT_FOUND",
        ),
        (
            {"type": "ui_tool_response", "eventId": bob.event_id, "response": {}},
            "INPUT_REQUEST_NOT_FOUND",
        ),
        (
            {"type": "ui.tool.response", "eventId": bob.event_id, "response": {}},
            "INPUT_REQUEST_NOT_FOUND",
        ),
        ({"type": "client.resume", "chat_id": bob.waiting_input, "last_seq": 0}, "NOT_FOUND"),
    ]
    for message, code in attempts:
        await sock.send(message)
        error = await sock.until("chat.error")
        assert error["data"]["error_code"] == code, message
    assert all(f["chat_id"] == mine for f in sock.frames), "a frame of another chat leaked"
    await sock.close()
    await bob_can_still_answer(bob)


async def test_a_chat_bound_token_works_for_its_chat_only(rt: Runtime) -> None:
    bound_to = await create_chat(rt, "alice")
    other = await create_chat(rt, "alice")
    bound = auth("alice", chat_id=bound_to)
    assert (await rt.http.get(f"/api/sessions/{bound_to}", headers=bound)).status_code == 200
    for path in (f"/api/sessions/{other}", f"/api/sessions/{other}/events"):
        assert (await rt.http.get(path, headers=bound)).status_code == 404, path
    sock = await socket(rt, other, chat_id=bound_to)
    assert await refused(sock) == (1008, "chat not found")
    sock = await socket(rt, bound_to, chat_id=bound_to)
    assert (await sock.recv())["type"] == "chat_meta"
    await sock.close()
    # A question asked in the other chat cannot be answered with the bound token either.
    free = await socket(rt, other)
    await free.send({"type": "user.input.submit", "chat_id": other, "text": "hi"})
    request_id = (await free.until("chat.input_request"))["data"]["request_id"]
    response = await rt.http.post(
        "/api/user-input/submit",
        json={"input_request_id": request_id, "user_input": "x"},
        headers=bound,
    )
    assert response.status_code == 404
    await free.close()


async def test_another_apps_path_is_refused(rt: Runtime) -> None:
    alice = auth("alice")
    sock = await ChatSocket.open(
        rt.ws_url("scripted", "c_x", "alice", app="other-app"), alice["Authorization"][7:]
    )
    assert await refused(sock) == (1008, "forbidden")
    for method, path in (
        ("GET", "/api/chats/exists/other-app/scripted/c_x"),
        ("GET", "/api/workflows/other-app/available"),
        ("GET", "/api/sessions/list/other-app/alice"),
        ("POST", "/api/chats/other-app/scripted/start"),
    ):
        response = await rt.http.request(method, path, headers=alice)
        assert response.status_code == 404, path
