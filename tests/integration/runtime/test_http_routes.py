"""The HTTP routes of docs/protocol.md over a real server: sessions, the widget's routes, workflows,
probes; each route that names a chat has a not-found and a not-the-owner case."""

from __future__ import annotations

import pytest

from tests.integration.runtime.conftest import Runtime

pytestmark = pytest.mark.integration


async def _session(rt: Runtime, user: str = "alice", workflow: str = "scripted") -> str:
    response = await rt.http.post(
        "/api/sessions", json={"workflow_name": workflow}, headers=rt.auth(user)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["chat_id"])


async def test_sessions_create_resume_read_list(runtime: Runtime) -> None:
    rt = runtime
    chat_id = await _session(rt)
    resumed = await rt.http.post(
        "/api/sessions",
        json={"workflow_name": "scripted", "chat_id": chat_id},
        headers=rt.auth(),
    )
    assert resumed.status_code == 200
    assert resumed.json()["created"] is False and resumed.json()["chat_id"] == chat_id
    named = await rt.http.post(
        "/api/sessions",
        json={"workflow_name": "scripted", "chat_id": "c_named", "context": {"plan": "x"}},
        headers=rt.auth(),
    )
    assert named.status_code == 201 and named.json()["chat_id"] == "c_named"
    state = await rt.http.get(f"/api/sessions/{chat_id}", headers=rt.auth())
    assert state.status_code == 200
    assert state.json()["status"] == "created" and state.json()["last_seq"] == 0
    await _session(rt, user="bob")
    listed = await rt.http.get("/api/sessions", params={"limit": 1}, headers=rt.auth())
    body = listed.json()
    assert [s["chat_id"] for s in body["sessions"]] == ["c_named"]
    assert body["next_cursor"]
    rest = await rt.http.get(
        "/api/sessions", params={"cursor": body["next_cursor"]}, headers=rt.auth()
    )
    assert [s["chat_id"] for s in rest.json()["sessions"]] == [chat_id]
    assert rest.json()["next_cursor"] is None


async def test_other_users_chats_do_not_exist(runtime: Runtime) -> None:
    rt = runtime
    chat_id = await _session(rt)
    for path in (f"/api/sessions/{chat_id}", f"/api/sessions/{chat_id}/events"):
        assert (await rt.http.get(path, headers=rt.auth("bob"))).status_code == 404
        missing = await rt.http.get(path.replace(chat_id, "c_missing"), headers=rt.auth())
        assert missing.status_code == 404
        assert missing.json() == {"detail": "chat not found", "error_code": "NOT_FOUND"}
    hijack = await rt.http.post(
        "/api/sessions",
        json={"workflow_name": "scripted", "chat_id": chat_id},
        headers=rt.auth("bob"),
    )
    assert hijack.status_code == 404
    other_workflow = await rt.http.post(
        "/api/sessions", json={"workflow_name": "stream", "chat_id": chat_id}, headers=rt.auth()
    )
    assert other_workflow.status_code == 404
    bound = await rt.http.get(f"/api/sessions/{chat_id}", headers=rt.auth(chat_id="c_other"))
    assert bound.status_code == 404


async def test_listing_other_users_needs_admin(runtime: Runtime) -> None:
    rt = runtime
    await _session(rt)
    await _session(rt, user="bob")
    refused = await rt.http.get("/api/sessions", params={"user_id": "bob"}, headers=rt.auth())
    assert refused.status_code == 404
    wrong_app = await rt.http.get("/api/sessions", params={"app_id": "x"}, headers=rt.auth())
    assert wrong_app.status_code == 404
    admin = rt.auth("ops", admin=True)
    everyone = await rt.http.get("/api/sessions", params={"user_id": "*"}, headers=admin)
    assert sorted(s["user_id"] for s in everyone.json()["sessions"]) == ["alice", "bob"]
    bobs = await rt.http.get("/api/sessions", params={"user_id": "bob"}, headers=admin)
    assert [s["user_id"] for s in bobs.json()["sessions"]] == ["bob"]


async def test_auth_is_required_and_checked(runtime: Runtime) -> None:
    rt = runtime
    assert (await rt.http.get("/api/sessions")).status_code == 401
    bad = await rt.http.get("/api/sessions", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error_code"] == "UNAUTHORIZED"
    other_app = await rt.http.get("/api/sessions", headers=rt.auth(app="other-app"))
    assert other_app.status_code == 401


async def test_bad_bodies(runtime: Runtime) -> None:
    rt = runtime
    unknown = await rt.http.post("/api/sessions", json={"workflow_name": "nope"}, headers=rt.auth())
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "WORKFLOW_NOT_FOUND"
    extra = await rt.http.post(
        "/api/sessions", json={"workflow_name": "scripted", "x": 1}, headers=rt.auth()
    )
    assert extra.status_code == 422
    bad_id = await rt.http.post(
        "/api/sessions", json={"workflow_name": "scripted", "chat_id": "a b/c"}, headers=rt.auth()
    )
    assert bad_id.status_code == 422
    cursor = await rt.http.get("/api/sessions", params={"cursor": "!!"}, headers=rt.auth())
    assert cursor.status_code == 400
    limit = await rt.http.get("/api/sessions", params={"limit": 0}, headers=rt.auth())
    assert limit.status_code == 422


async def test_event_history_pages(runtime: Runtime) -> None:
    rt = runtime
    sock = await rt.socket("stream", "c_hist")
    await sock.until("chat.run_complete", wait=20)
    await sock.close()
    first = await rt.http.get(
        "/api/sessions/c_hist/events", params={"limit": 10}, headers=rt.auth()
    )
    page = first.json()
    assert [e["seq"] for e in page["events"]] == list(range(1, 11))
    assert page["last_seq"] == sock.seqs()[-1]
    after = await rt.http.get(
        "/api/sessions/c_hist/events", params={"after_seq": 10, "limit": 5}, headers=rt.auth()
    )
    assert [e["seq"] for e in after.json()["events"]] == list(range(11, 16))


async def test_widget_routes(runtime: Runtime) -> None:
    rt = runtime
    started = await rt.http.post("/api/chats/demo/scripted/start", headers=rt.auth())
    assert started.status_code == 200
    body = started.json()
    assert body["success"] is True and body["user_id"] == "alice" and body["app_id"] == "demo"
    chat_id = body["chat_id"]
    assert body["websocket_url"].endswith(f"/ws/scripted/demo/{chat_id}/alice")
    exists = f"/api/chats/exists/demo/scripted/{chat_id}"
    assert (await rt.http.get(exists, headers=rt.auth())).json() == {"exists": True}
    assert (await rt.http.get(exists, headers=rt.auth("bob"))).json() == {"exists": False}
    other = exists.replace("/scripted/", "/stream/")
    assert (await rt.http.get(other, headers=rt.auth())).json() == {"exists": False}
    meta = await rt.http.get(f"/api/chats/meta/demo/scripted/{chat_id}", headers=rt.auth())
    assert meta.json()["chat_id"] == chat_id and meta.json()["chat_exists"] is True
    foreign = await rt.http.get(f"/api/chats/meta/demo/scripted/{chat_id}", headers=rt.auth("bob"))
    assert foreign.status_code == 404
    listed = await rt.http.get("/api/sessions/list/demo/alice", headers=rt.auth())
    assert [s["chat_id"] for s in listed.json()["sessions"]] == [chat_id]
    assert (
        await rt.http.get("/api/sessions/list/demo/alice", headers=rt.auth("bob"))
    ).status_code == 404
    assert (
        await rt.http.get("/api/sessions/list/other/alice", headers=rt.auth())
    ).status_code == 404
    available = await rt.http.get("/api/workflows/demo/available", headers=rt.auth())
    assert set(available.json()) == {"scripted", "stream", "flood", "vault"}
    wrong_app = await rt.http.post("/api/chats/other/scripted/start", headers=rt.auth())
    assert wrong_app.status_code == 404
    assert (await rt.http.post("/api/chats/demo/scripted/start")).status_code == 401


async def test_widget_answers_over_http(runtime: Runtime) -> None:
    rt = runtime
    sock = await rt.socket("scripted", "c_http")
    await sock.send({"type": "user.input.submit", "text": "go"})
    request_id = (await sock.until("chat.input_request"))["data"]["request_id"]
    missing = await rt.http.post(
        "/api/user-input/submit",
        json={"input_request_id": "in_missing", "user_input": "x"},
        headers=rt.auth(),
    )
    assert missing.status_code == 404
    answered = await rt.http.post(
        "/api/user-input/submit",
        json={"input_request_id": request_id, "user_input": "Ada", "extra": "ignored"},
        headers=rt.auth(),
    )
    assert answered.json() == {"success": True}
    ui = await sock.until("chat.tool_call", awaiting_response=True)
    event_id = ui["data"]["corr"]
    as_bob = await rt.http.post(
        "/api/ui-tool/submit",
        json={"event_id": event_id, "response_data": {"ok": True}},
        headers=rt.auth("bob"),
    )
    assert as_bob.status_code == 404
    done = await rt.http.post(
        "/api/ui-tool/submit",
        json={"event_id": event_id, "response_data": {"ok": True}},
        headers=rt.auth(),
    )
    assert done.status_code == 200
    await sock.until("chat.run_complete")
    twice = await rt.http.post(
        "/api/ui-tool/submit",
        json={"event_id": event_id, "response_data": {"ok": True}},
        headers=rt.auth(),
    )
    assert twice.status_code == 404
    await sock.close()


async def test_public_catalog_and_eligibility(sqlite_runtime: Runtime) -> None:
    rt = sqlite_runtime
    catalog = await rt.http.get("/api/workflows")
    assert catalog.status_code == 200
    assert set(catalog.json()) == {"scripted", "stream", "flood", "vault"}
    assert "Scripted by the tests" not in catalog.text  # system prompts never leave
    eligible = await rt.http.get("/api/workflows/scripted/eligible", headers=rt.auth())
    assert eligible.json() == {
        "workflow_name": "scripted",
        "eligible": True,
        "reason": None,
        "message": None,
    }
    unknown = await rt.http.get("/api/workflows/nope/eligible", headers=rt.auth())
    assert unknown.status_code == 404
    assert (await rt.http.get("/api/workflows/scripted/eligible")).status_code == 401


async def test_probes(sqlite_runtime: Runtime) -> None:
    rt = sqlite_runtime
    assert (await rt.http.get("/api/health")).json() == {"status": "ok"}
    ready = await rt.http.get("/api/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "workflows": 4}
    metrics = await rt.http.get("/metrics")
    assert "mozaiks_ws_open" in metrics.text
