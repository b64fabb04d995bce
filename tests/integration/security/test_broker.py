"""The session broker over a real runtime: a backend's service token creates sessions on behalf
of users and gets chat-bound user tokens; every misuse is refused with a stable JSON error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mozaiks_runtime.auth.mint import mint_broker_token
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, Runtime
from tests.integration.security.conftest import auth, bearer, error_of, refused
from tests.integration.security.gated import BROKER_SECRET, gated_runtime
from tests.integration.security.test_every_route import operations

pytestmark = pytest.mark.integration

OTHER_SECRET = "another-tenants-broker-secret-0123456789"
PRO = {"roles": ["pro"]}


def broker(app: str = APP, secret: str = BROKER_SECRET, **kw: Any) -> dict[str, str]:
    return bearer(mint_broker_token(secret, service="shop-backend", app=app, **kw))


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    async with gated_runtime(
        tmp_path, broker_jwt_secret=BROKER_SECRET, broker_token_ttl_seconds=120
    ) as runtime:
        yield runtime


async def start(rt: Runtime, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
    body.setdefault("user_id", "alice")
    body.setdefault("workflow_name", "gated")
    body.setdefault("claims", PRO)
    return await rt.http.post("/api/broker/sessions", json=body, headers=headers or broker())


async def test_the_whole_flow(rt: Runtime) -> None:
    created = await start(rt, context={"plan": "gold"})
    assert created.status_code == 201, created.text
    session = created.json()
    chat_id = session["chat_id"]
    assert session["workflow_name"] == "gated" and session["created"] is True
    assert session["status"] == "created"
    assert session["ws_url"] == rt.ws_url("gated", chat_id, "alice")
    expires = datetime.fromisoformat(session["expires_at"])
    assert timedelta(seconds=100) < expires - datetime.now(UTC) <= timedelta(seconds=120)

    # The browser uses the token as it is: HTTP reads and the socket of that chat.
    user = bearer(session["token"])
    state = await rt.http.get(f"/api/sessions/{chat_id}", headers=user)
    assert state.status_code == 200 and state.json()["user_id"] == "alice"
    sock = await ChatSocket.open(session["ws_url"], session["token"])
    meta = await sock.until("chat_meta")
    assert meta["data"]["chat_id"] == chat_id and meta["data"]["user_id"] == "alice"
    await sock.send({"type": "user.input.submit", "chat_id": chat_id, "text": "hello"})
    await sock.until("chat.run_complete", wait=20)
    await sock.close()
    assert rt.runner is not None
    run = rt.runner.requests[-1]
    assert (run.chat_id, run.user_id, run.context.get("plan")) == (chat_id, "alice", "gold")

    # Resuming: the same chat, a fresh token, 200.
    resumed = await start(rt, chat_id=chat_id)
    assert resumed.status_code == 200
    assert (resumed.json()["chat_id"], resumed.json()["created"]) == (chat_id, False)
    # The chat is alice's like any other: her own token sees it too.
    listed = await rt.http.get("/api/sessions", headers=auth("alice"))
    assert [s["chat_id"] for s in listed.json()["sessions"]] == [chat_id]


async def test_the_broker_asks_for_eligibility_on_behalf_of_a_user(rt: Runtime) -> None:
    async def ask(headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
        body = {"user_id": "alice", "workflow_name": "gated", **body}
        return await rt.http.post("/api/broker/eligible", json=body, headers=headers or broker())

    yes = await ask(claims=PRO)
    assert yes.json() == {
        "workflow_name": "gated",
        "eligible": True,
        "reason": None,
        "message": None,
    }
    no = (await ask(claims={"roles": ["free"]})).json()
    assert (no["eligible"], no["reason"]) == (False, "NOT_ENTITLED")
    assert (await ask(workflow_name="open")).json()["eligible"] is True
    assert error_of(await ask(workflow_name="nope")) == (404, "WORKFLOW_NOT_FOUND")
    assert error_of(await ask(claims={"scope": "mozaiks:admin"})) == (400, "BAD_REQUEST")
    assert error_of(await ask(headers=auth("alice"))) == (401, "UNAUTHORIZED")
    listed = await rt.http.get("/api/sessions", headers=auth("alice"))
    assert listed.json()["sessions"] == []  # asking creates nothing


async def test_a_chat_scoped_token_opens_no_other_chat(rt: Runtime) -> None:
    first = (await start(rt)).json()
    second = (await start(rt, workflow_name="open")).json()
    token = first["token"]
    other = second["chat_id"]
    assert error_of(await rt.http.get(f"/api/sessions/{other}", headers=bearer(token))) == (
        404,
        "NOT_FOUND",
    )
    events = await rt.http.get(f"/api/sessions/{other}/events", headers=bearer(token))
    assert error_of(events) == (404, "NOT_FOUND")
    resume = await rt.http.post(
        "/api/sessions",
        json={"workflow_name": "open", "chat_id": other},
        headers=bearer(token),
    )
    assert error_of(resume) == (404, "NOT_FOUND")
    sock = await ChatSocket.open(rt.ws_url("open", other, "alice"), token)
    assert await refused(sock) == (1008, "chat not found")
    # Nor a brand-new chat: a new session on this token lands on its own chat.
    again = await rt.http.post(
        "/api/sessions", json={"workflow_name": "gated"}, headers=bearer(token)
    )
    assert again.status_code == 200 and again.json()["chat_id"] == first["chat_id"]


async def test_a_user_who_is_not_entitled_gets_no_session(rt: Runtime) -> None:
    for claims in ({}, {"roles": ["free"]}, {"roles": "professional"}):
        response = await start(rt, claims=claims)
        assert error_of(response) == (403, "NOT_ENTITLED"), response.text
    listed = await rt.http.get("/api/sessions", headers=auth("alice"))
    assert listed.json()["sessions"] == []
    # An open workflow needs no claims at all.
    assert (await start(rt, workflow_name="open", claims={})).status_code == 201
    assert error_of(await start(rt, workflow_name="nope")) == (404, "WORKFLOW_NOT_FOUND")


async def test_a_broker_token_is_not_a_user_token(rt: Runtime) -> None:
    """On every operation the app publishes (so routes added later are covered) but its own,
    and on the socket; the catalog too, since a token that is given must be valid."""
    service = broker()
    checked = 0
    for method, path in operations(rt):
        if path in ("/api/health", "/api/ready") or path.startswith("/api/broker/"):
            continue
        body = {} if method in ("POST", "PUT", "PATCH") else None
        response = await rt.http.request(method, path, json=body, headers=service)
        assert error_of(response) == (401, "UNAUTHORIZED"), (method, path, response.text)
        checked += 1
    assert checked >= 14
    sock = await ChatSocket.open(
        rt.ws_url("open", "c_broker", "shop-backend"), service["Authorization"][7:]
    )
    assert await refused(sock) == (1008, "unauthorized")


async def test_only_this_tenants_broker_may_call(rt: Runtime) -> None:
    cases = {
        "a user token": auth("alice"),
        "an admin token": auth("alice", admin=True),
        "another tenant's broker": broker(app="other", secret=OTHER_SECRET),
        "another key, this app": broker(secret=OTHER_SECRET),
        "this key, another app": broker(app="other"),
        "no broker scope": broker(scope="read"),
        "expired": broker(now=datetime.now(UTC) - timedelta(hours=1)),
        "a session token": bearer((await start(rt)).json()["token"]),
        "none": {},
    }
    for name, headers in cases.items():
        response = await rt.http.post(
            "/api/broker/sessions",
            json={"user_id": "alice", "workflow_name": "open"},
            headers=headers,
        )
        assert error_of(response) == (401, "UNAUTHORIZED"), name


async def test_bad_requests_are_refused(rt: Runtime) -> None:
    alice = (await start(rt)).json()
    # Another user's chat: as if it did not exist.
    stolen = await start(rt, user_id="bob", chat_id=alice["chat_id"])
    assert error_of(stolen) == (404, "NOT_FOUND")
    # Claims a broker cannot set or grant.
    for claims in ({"sub": "bob"}, {"chat_id": "c_x"}, {"scope": "mozaiks:admin"}):
        assert error_of(await start(rt, claims=claims)) == (400, "BAD_REQUEST"), claims
    # Malformed bodies.
    for body in (
        {"user_id": "a/b", "workflow_name": "open"},
        {"user_id": "", "workflow_name": "open"},
        {"workflow_name": "open"},
        {"user_id": "alice", "workflow_name": "open", "extra": 1},
    ):
        response = await rt.http.post("/api/broker/sessions", json=body, headers=broker())
        assert response.status_code == 422, body


async def test_without_a_broker_secret_the_route_is_shut(tmp_path: Path) -> None:
    async with gated_runtime(tmp_path) as plain:
        response = await start(plain)
        assert error_of(response) == (401, "UNAUTHORIZED")
