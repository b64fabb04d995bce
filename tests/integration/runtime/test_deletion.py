"""Deleting a chat, retention, and a user's export and erasure, through the real runtime on
both stores: owner or admin only (others 404), 409 while a run holds the chat unless forced,
sockets closed with 4410, billing totals kept, and nobody else's rows touched."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mozaiks_runtime.refs import ChatRef
from mozaiks_runtime.storage.base import ChatRecord, ChatStatus, NewEvent, Store, utcnow
from tests.integration.runtime.conftest import APP, Runtime, base_settings, serve

pytestmark = pytest.mark.integration


def _today() -> str:
    return utcnow().strftime("%Y-%m-%d")


async def _usage(rt: Runtime, user: str) -> dict[str, Any]:
    """The usage report of today, as an admin sees it (`*`: the whole app)."""
    query = {"user_id": user, "from": _today(), "to": _today(), "group_by": "model"}
    got = await rt.http.get("/api/usage", params=query, headers=rt.auth("admin", admin=True))
    assert got.status_code == 200
    body: dict[str, Any] = got.json()
    return {"groups": body["groups"], "total": body["total"]}


async def _waiting_chat(rt: Runtime, chat_id: str, user: str = "alice") -> Any:
    """A scripted chat whose run made one model call and now waits for the user (lease held)."""
    sock = await rt.socket("scripted", chat_id, user)
    await sock.until("chat_meta")
    await sock.send({"type": "user.input.submit", "text": "hi"})
    await sock.until("chat.input_request")
    return sock


async def _idle_chat(rt: Runtime, chat_id: str, user: str = "alice") -> None:
    """A scripted chat with one model call whose run was cancelled: idle, no lease."""
    sock = await _waiting_chat(rt, chat_id, user)
    stopped = await rt.http.post(f"/api/sessions/{chat_id}/cancel", headers=rt.auth(user))
    assert stopped.status_code == 200
    await rt.wait_idle(chat_id)
    await sock.close()


async def _events(rt: Runtime, chat_id: str, user: str) -> list[dict[str, Any]]:
    got = await rt.http.get(f"/api/sessions/{chat_id}/events", headers=rt.auth(user))
    assert got.status_code == 200
    events: list[dict[str, Any]] = got.json()["events"]
    return events


async def test_deleting_a_chat(runtime: Runtime) -> None:
    rt = runtime
    sock = await _waiting_chat(rt, "c_del")
    await _idle_chat(rt, "c_bob", "bob")
    bob_events = await _events(rt, "c_bob", "bob")
    usage = {u: await _usage(rt, u) for u in ("*", "alice", "bob")}
    assert usage["alice"]["total"]["calls"] == 1

    # A run waits in it (its lease is held): refused without force.
    busy = await rt.http.delete("/api/sessions/c_del", headers=rt.auth())
    assert busy.status_code == 409 and busy.json()["error_code"] == "RUN_IN_PROGRESS"
    # Another user's chat, an unknown chat: 404 alike, even with force.
    for chat_id, user in (("c_del", "bob"), ("c_nope", "alice")):
        missing = await rt.http.delete(
            f"/api/sessions/{chat_id}", params={"force": "true"}, headers=rt.auth(user)
        )
        assert missing.status_code == 404 and missing.json()["error_code"] == "NOT_FOUND"

    forced = await rt.http.delete(
        "/api/sessions/c_del", params={"force": "true"}, headers=rt.auth()
    )
    assert forced.status_code == 200, forced.text
    deleted = forced.json()["deleted"]
    assert deleted["chats"] == 1 and deleted["usage"] == 1 and deleted["events"] >= 5
    # The socket is told, then closed with the chat-deleted code.
    code, reason = await sock.closed()
    assert (code, reason) == (4410, "chat deleted")
    assert sock.of_type("chat.error")[-1]["data"]["error_code"] == "CHAT_DELETED"

    gone = await rt.http.get("/api/sessions/c_del", headers=rt.auth())
    assert gone.status_code == 404
    again = await rt.http.delete("/api/sessions/c_del", headers=rt.auth())
    assert again.status_code == 404
    # Billing keeps every call; bob's chat is as it was.
    assert {u: await _usage(rt, u) for u in usage} == usage
    assert await _events(rt, "c_bob", "bob") == bob_events

    # An admin deletes any chat of the app (bob's, idle: no force needed).
    by_admin = await rt.http.delete("/api/sessions/c_bob", headers=rt.auth("root", admin=True))
    assert by_admin.status_code == 200 and by_admin.json()["deleted"]["chats"] == 1
    assert {u: await _usage(rt, u) for u in usage} == usage


async def test_export_then_erase_a_user(runtime: Runtime) -> None:
    rt = runtime
    for chat_id in ("c_a1", "c_a2"):
        await _idle_chat(rt, chat_id)
    await _idle_chat(rt, "c_b1", "bob")
    bob_events = await _events(rt, "c_b1", "bob")
    app_usage = await _usage(rt, "*")

    # Only the user themselves or an admin; a chat-bound token not at all.
    for user, headers in (
        ("alice", rt.auth("bob")),
        ("alice", rt.auth("alice", chat_id="c_a1")),
    ):
        export = await rt.http.get(f"/api/users/{user}/export", headers=headers)
        erase = await rt.http.delete(f"/api/users/{user}", headers=headers)
        for refused in (export, erase):
            assert refused.status_code in (403, 404)
            assert refused.json()["error_code"] in ("FORBIDDEN", "NOT_FOUND")
    audit = await rt.http.get("/api/erasures", headers=rt.auth())
    assert audit.status_code == 403 and audit.json()["error_code"] == "FORBIDDEN"

    export = await rt.http.get("/api/users/alice/export", headers=rt.auth())
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in export.text.splitlines()]
    kinds = [line["kind"] for line in lines]
    assert kinds.count("chat") == 2 and kinds.count("usage") == 2 and "event" in kinds
    # Each run's question, closed when the run was cancelled, is exported with the chat.
    questions = [line for line in lines if line["kind"] == "pending"]
    assert [q["status"] for q in questions] == ["cancelled", "cancelled"]
    assert questions[0]["asked"]["prompt"] == "What is your name?"
    assert {line["chat_id"] for line in lines} == {"c_a1", "c_a2"}
    by_admin = await rt.http.get("/api/users/alice/export", headers=rt.auth("root", admin=True))
    assert by_admin.content == export.content

    erased = await rt.http.delete("/api/users/alice", headers=rt.auth("root", admin=True))
    assert erased.status_code == 200, erased.text
    receipt = erased.json()
    assert receipt["user_id"] == "alice" and receipt["requested_by"] == "root"
    assert receipt["counts"]["chats"] == 2 and receipt["counts"]["usage"] == 2
    assert receipt["counts"]["events"] == kinds.count("event")
    assert receipt["counts"]["pending"] == kinds.count("pending")
    # The hash is that of the export taken just before.
    assert receipt["sha256"] == hashlib.sha256(export.content).hexdigest()

    after = await rt.http.get("/api/users/alice/export", headers=rt.auth())
    assert after.status_code == 200 and after.content == b""
    listed = await rt.http.get("/api/sessions", headers=rt.auth())
    assert listed.json()["sessions"] == []
    assert await _events(rt, "c_b1", "bob") == bob_events
    assert await _usage(rt, "*") == app_usage  # billing totals stay, attributed to nobody
    assert (await _usage(rt, "alice"))["total"]["calls"] == 0

    # The audit keeps the receipt, never the content.
    audit = await rt.http.get("/api/erasures", headers=rt.auth("root", admin=True))
    assert audit.status_code == 200
    [kept] = audit.json()["erasures"]
    assert kept == receipt


async def test_erasing_a_user_stops_their_running_chat(runtime: Runtime) -> None:
    rt = runtime
    sock = await _waiting_chat(rt, "c_run")
    erased = await rt.http.delete("/api/users/alice", headers=rt.auth())
    assert erased.status_code == 200, erased.text
    assert erased.json()["counts"]["chats"] == 1
    code, _ = await sock.closed()
    assert code == 4410
    assert (await rt.http.get("/api/sessions/c_run", headers=rt.auth())).status_code == 404


async def test_retention_deletes_idle_chats_past_it(
    tmp_path: Path, store_settings: dict[str, Any]
) -> None:
    settings = base_settings(
        tmp_path, retention_chats_days=30, retention_sweep_seconds=0.2, **store_settings
    )
    async with serve(settings) as rt:
        store: Store = rt.services.store
        old = utcnow() - timedelta(days=31)
        statuses: list[tuple[str, ChatStatus]] = [("c_old", "idle"), ("c_old_waiting", "waiting")]
        for chat_id, status in statuses:
            await store.create_chat(
                ChatRecord(APP, chat_id, "alice", "scripted", "v", status, old, old)
            )
            await store.append_events(APP, chat_id, [NewEvent("chat.text", {"n": 1})])
        await store.create_chat(
            ChatRecord("other-app", "c_old", "alice", "s", "v", "idle", old, old)
        )
        await _idle_chat(rt, "c_new")
        async with asyncio.timeout(10):  # the sweeper runs every 0.2 s
            while True:
                if await store.get_chat(APP, "c_old") is None:
                    break
                await asyncio.sleep(0.05)
        assert await store.events_after(APP, "c_old") == []
        assert await store.get_chat(APP, "c_old_waiting") is not None  # a run may go on
        assert await store.get_chat(APP, "c_new") is not None
        assert await store.get_chat("other-app", "c_old") is not None  # another tenant's


async def test_force_delete_through_another_replica(
    tmp_path: Path, ferretdb: str, mongo_database: str
) -> None:
    """Replica A runs the chat; B deletes it with force: the stop reaches A through the store,
    and A's socket, which B's hub cannot reach, closes with 4410 at its next heartbeat."""
    store = {"mongo_uri": ferretdb, "mongo_database": mongo_database, "heartbeat_seconds": 0.5}
    async with (
        serve(base_settings(tmp_path, replica_id="replica-a", **store)) as a,
        serve(base_settings(tmp_path, replica_id="replica-b", **store)) as b,
    ):
        sock = await _waiting_chat(a, "c_far")
        busy = await b.http.delete("/api/sessions/c_far", headers=b.auth())
        assert busy.status_code == 409 and busy.json()["error_code"] == "RUN_IN_PROGRESS"
        forced = await b.http.delete(
            "/api/sessions/c_far", params={"force": "true"}, headers=b.auth()
        )
        assert forced.status_code == 200, forced.text
        assert forced.json()["deleted"]["chats"] == 1
        assert not a.services.runs.is_running(ChatRef(APP, "c_far"))
        code, reason = await sock.closed()
        assert (code, reason) == (4410, "chat deleted")
        assert (await a.http.get("/api/sessions/c_far", headers=a.auth())).status_code == 404
