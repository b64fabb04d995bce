"""Entitlements over a real runtime: a workflow's `access` rules decide the catalog, `eligible`,
session creation (HTTP and the widget's start route), the socket connect and every message; a
user who loses the entitlement mid-chat cannot start another run in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.runtime.conftest import Runtime
from tests.integration.security.conftest import (
    auth,
    bearer,
    error_of,
    refused,
    socket,
    token,
)
from tests.integration.security.gated import PRO, gated_runtime, write_workflow

pytestmark = pytest.mark.integration


def pro(user: str = "alice") -> dict[str, str]:
    return auth(user, extra={"roles": ["member", "pro"]})


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    async with gated_runtime(tmp_path) as runtime:
        yield runtime


async def test_the_catalog_shows_what_the_caller_may_run(rt: Runtime) -> None:
    anonymous = await rt.http.get("/api/workflows")
    assert anonymous.status_code == 200 and sorted(anonymous.json()) == ["open"]
    free = await rt.http.get("/api/workflows", headers=auth("alice"))
    assert sorted(free.json()) == ["open"]
    paid = await rt.http.get("/api/workflows", headers=pro())
    assert sorted(paid.json()) == ["gated", "open"]
    # A token that is given must be valid: no silent fall-back to the anonymous catalog.
    assert error_of(await rt.http.get("/api/workflows", headers=bearer("x.y.z"))) == (
        401,
        "UNAUTHORIZED",
    )
    widget = await rt.http.get("/api/workflows/demo/available", headers=auth("alice"))
    assert sorted(widget.json()) == ["open"]
    widget = await rt.http.get("/api/workflows/demo/available", headers=pro())
    assert sorted(widget.json()) == ["gated", "open"]


async def test_eligible_says_why_not(rt: Runtime) -> None:
    no = await rt.http.get("/api/workflows/gated/eligible", headers=auth("alice"))
    assert no.status_code == 200
    body = no.json()
    assert (body["eligible"], body["reason"]) == (False, "NOT_ENTITLED")
    assert "gated" in body["message"]
    yes = await rt.http.get("/api/workflows/gated/eligible", headers=pro())
    assert yes.json() == {
        "workflow_name": "gated",
        "eligible": True,
        "reason": None,
        "message": None,
    }
    # Claims that look alike are not the role.
    near = auth("alice", extra={"roles": "professional", "role": "pro"})
    assert (await rt.http.get("/api/workflows/gated/eligible", headers=near)).json()[
        "eligible"
    ] is False
    assert (await rt.http.get("/api/workflows/open/eligible", headers=auth())).json()["eligible"]
    missing = await rt.http.get("/api/workflows/nope/eligible", headers=auth())
    assert error_of(missing) == (404, "WORKFLOW_NOT_FOUND")


async def test_sessions_need_the_entitlement(rt: Runtime) -> None:
    body = {"workflow_name": "gated"}
    refused_http = await rt.http.post("/api/sessions", json=body, headers=auth("alice"))
    assert error_of(refused_http) == (403, "NOT_ENTITLED")
    start = await rt.http.post("/api/chats/demo/gated/start", json={}, headers=auth("alice"))
    assert error_of(start) == (403, "NOT_ENTITLED")
    listed = await rt.http.get("/api/sessions", headers=auth("alice"))
    assert listed.json()["sessions"] == []  # nothing was created on the way

    created = await rt.http.post("/api/sessions", json=body, headers=pro())
    assert created.status_code == 201, created.text
    chat_id = created.json()["chat_id"]
    start = await rt.http.post("/api/chats/demo/gated/start", json={}, headers=pro())
    assert start.status_code == 200 and start.json()["success"] is True
    # Resuming the chat with a token that lost the role is refused too.
    again = await rt.http.post(
        "/api/sessions", json={**body, "chat_id": chat_id}, headers=auth("alice")
    )
    assert error_of(again) == (403, "NOT_ENTITLED")
    # Another user's chat stays invisible, entitled or not: 404 before any access check.
    other = await rt.http.post(
        "/api/sessions", json={**body, "chat_id": chat_id}, headers=pro("bob")
    )
    assert error_of(other) == (404, "NOT_FOUND")


async def test_the_socket_connect_needs_the_entitlement(rt: Runtime) -> None:
    sock = await socket(rt, "c_new_gated", workflow="gated")
    assert await refused(sock) == (1008, "not entitled")
    created = await rt.http.post("/api/sessions", json={"workflow_name": "gated"}, headers=pro())
    chat_id = created.json()["chat_id"]
    sock = await socket(rt, chat_id, workflow="gated")  # alice without the role
    assert await refused(sock) == (1008, "not entitled")
    sock = await socket(rt, chat_id, workflow="gated", extra={"roles": ["pro"]})
    meta = await sock.recv()
    assert meta["type"] == "chat_meta" and meta["data"]["chat_id"] == chat_id
    await sock.close()
    # chat.start_workflow on an open socket is a session creation like any other.
    sock = await socket(rt, "c_open_one", workflow="open")
    await sock.until("chat_meta")
    await sock.send({"type": "chat.start_workflow", "workflow_name": "gated"})
    error = await sock.until("chat.error")
    assert error["data"]["error_code"] == "NOT_ENTITLED"
    await sock.send({"type": "ping"})
    assert (await sock.until("pong"))["type"] == "pong"  # the socket stays open
    await sock.close()


async def test_losing_the_entitlement_mid_chat_stops_new_runs(rt: Runtime, tmp_path: Path) -> None:
    # The workflow is open when alice starts; one run goes through.
    created = await rt.http.post("/api/sessions", json={"workflow_name": "open"}, headers=auth())
    chat_id = created.json()["chat_id"]
    sock = await socket(rt, chat_id, workflow="open")
    await sock.until("chat_meta")
    await sock.send({"type": "user.input.submit", "chat_id": chat_id, "text": "go"})
    await sock.until("chat.run_complete", wait=20)

    # The operator tightens the rules (a new file version); the open socket keeps its token.
    write_workflow(tmp_path / "workflows", "open", PRO)
    assert await rt.services.registry.refresh()

    runs_before = len(rt.runner.requests) if rt.runner else 0
    await sock.send({"type": "user.input.submit", "chat_id": chat_id, "text": "again"})
    error = await sock.until("chat.error")
    assert error["data"]["error_code"] == "NOT_ENTITLED"
    await sock.send({"type": "ping"})
    await sock.until("pong")
    assert len(sock.of_type("chat.run_start")) == 1  # no second run
    assert rt.runner is not None and len(rt.runner.requests) == runs_before
    await sock.close()

    # Every other way in is closed as well, and says why.
    assert await refused(await socket(rt, chat_id, workflow="open")) == (1008, "not entitled")
    resume = await rt.http.post(
        "/api/sessions", json={"workflow_name": "open", "chat_id": chat_id}, headers=auth()
    )
    assert error_of(resume) == (403, "NOT_ENTITLED")
    eligible = await rt.http.get("/api/workflows/open/eligible", headers=auth())
    assert eligible.json()["reason"] == "NOT_ENTITLED"
    # Her history stays hers to read.
    history = await rt.http.get(f"/api/sessions/{chat_id}/events", headers=auth())
    assert history.status_code == 200 and history.json()["last_seq"] > 0

    # With the role back (a fresh token), the chat goes on.
    sock = await socket(rt, chat_id, workflow="open", extra={"roles": ["pro"]})
    await sock.until("chat.resume_boundary")
    await sock.send({"type": "user.input.submit", "chat_id": chat_id, "text": "more"})
    await sock.until("chat.run_start", wait=20)
    await sock.until("chat.run_complete", wait=20)
    await sock.close()


async def test_rules_are_refused_at_load_and_the_last_good_version_serves(
    rt: Runtime, tmp_path: Path
) -> None:
    bad = {"anyOf": [{"claim": "roles", "contains": "pro", "equals": "x"}]}
    write_workflow(tmp_path / "workflows", "gated", bad)
    await rt.services.registry.refresh()
    errors = rt.services.registry.errors()
    assert any("set exactly one of" in e for e in errors["gated.json"]), errors
    # The last good version (with its rules) still decides.
    assert sorted((await rt.http.get("/api/workflows")).json()) == ["open"]
    no = await rt.http.get("/api/workflows/gated/eligible", headers=auth())
    assert no.json()["reason"] == "NOT_ENTITLED"
    assert token("alice")  # the helper still mints


async def test_a_workflow_no_longer_served_is_judged_by_the_pinned_rules(
    rt: Runtime, tmp_path: Path
) -> None:
    created = await rt.http.post("/api/sessions", json={"workflow_name": "gated"}, headers=pro())
    chat_id = created.json()["chat_id"]
    (tmp_path / "workflows" / "gated.json").unlink()
    await rt.services.registry.refresh()
    assert "gated" not in (await rt.http.get("/api/workflows", headers=pro())).json()

    sock = await socket(rt, chat_id, workflow="gated")  # without the role: the pinned rules
    assert await refused(sock) == (1008, "not entitled")
    sock = await socket(rt, chat_id, workflow="gated", extra={"roles": ["pro"]})
    await sock.until("chat_meta")
    await sock.send({"type": "user.input.submit", "chat_id": chat_id, "text": "still here"})
    await sock.until("chat.run_complete", wait=20)
    await sock.close()
    fresh = await rt.http.post("/api/sessions", json={"workflow_name": "gated"}, headers=pro())
    assert error_of(fresh) == (404, "WORKFLOW_NOT_FOUND")  # no new chats on it, though
