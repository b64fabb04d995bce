"""Rate limits, metrics and logs on a real server."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mozaiks_runtime.logs import configure_logging
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import Runtime, base_settings, serve

pytestmark = pytest.mark.integration


async def test_rate_limits_hold_one_user_without_touching_another(tmp_path: Path) -> None:
    settings = base_settings(
        tmp_path, rate_limit_new_chats_per_minute=2, rate_limit_messages_per_minute=3
    )
    async with serve(settings) as rt:

        async def create(user: str) -> tuple[int, dict[str, str], dict[str, str]]:
            response = await rt.http.post(
                "/api/sessions", json={"workflow_name": "scripted"}, headers=rt.auth(user)
            )
            return response.status_code, response.json(), dict(response.headers)

        first = (await create("alice"))[1]["chat_id"]
        assert (await create("alice"))[0] == 201
        status, body, headers = await create("alice")
        assert (status, body["error_code"]) == (429, "RATE_LIMITED")
        assert int(headers["retry-after"]) >= 1
        bob_status, bob_body, _ = await create("bob")
        assert bob_status == 201

        # Messages: three go through (and fail on their own merits), the fourth is limited.
        alice = await rt.socket("scripted", first)
        bob = await rt.socket("scripted", bob_body["chat_id"], "bob")

        async def message(sock_user: str) -> str:
            sock, chat = (alice, first) if sock_user == "alice" else (bob, bob_body["chat_id"])
            await sock.send(
                {
                    "type": "user.input.submit",
                    "chat_id": chat,
                    "text": "x",
                    "input_request_id": "r_unknown",
                }
            )
            return str((await sock.until("chat.error"))["data"]["error_code"])

        assert [await message("alice") for _ in range(3)] == ["INPUT_REQUEST_NOT_FOUND"] * 3
        assert await message("alice") == "RATE_LIMITED"
        assert [await message("bob") for _ in range(3)] == ["INPUT_REQUEST_NOT_FOUND"] * 3
        # The limited socket stays open and usable.
        await alice.send({"type": "ping"})
        assert (await alice.until("pong"))["type"] == "pong"
        await alice.close()
        await bob.close()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def drive_scripted_chat(rt: Runtime, chat_id: str) -> None:
    sock = await rt.socket("scripted", chat_id)
    await sock.send({"type": "user.input.submit", "chat_id": chat_id, "text": "hi"})
    request_id = (await sock.until("chat.input_request"))["data"]["request_id"]
    await sock.send(
        {
            "type": "user.input.submit",
            "chat_id": chat_id,
            "text": "Ada",
            "input_request_id": request_id,
        }
    )
    ui = await sock.until("chat.tool_call", awaiting_response=True)
    await sock.send({"type": "ui_tool_response", "eventId": ui["data"]["corr"], "response": {}})
    await sock.until("chat.run_complete")
    open_now = samples((await rt.http.get("/metrics")).text)
    assert value(open_now, "mozaiks_ws_open") == 1
    await sock.close()
    await rt.wait_idle(chat_id)


async def test_metrics_show_the_expected_series_after_a_chat(tmp_path: Path) -> None:
    async with serve(base_settings(tmp_path)) as rt:
        created = await rt.http.post(
            "/api/sessions", json={"workflow_name": "scripted"}, headers=rt.auth("alice")
        )
        chat_id = created.json()["chat_id"]
        await rt.http.get(f"/api/sessions/{chat_id}", headers=rt.auth("alice"))
        await rt.http.get("/api/sessions/c_missing", headers=rt.auth("alice"))
        await drive_scripted_chat(rt, chat_id)

        response = await rt.http.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        found = samples(response.text)
        http = "mozaiks_http_requests_total"
        assert value(found, http, route="/api/sessions", method="POST", status="201") == 1
        assert value(found, http, route="/api/sessions/{chat_id}", method="GET", status="200") == 1
        assert value(found, http, route="/api/sessions/{chat_id}", method="GET", status="404") == 1
        assert value(found, "mozaiks_ws_open") == 0
        assert value(found, "mozaiks_events_sent_total", type="chat.text") >= 3
        assert value(found, "mozaiks_events_sent_total", type="chat.run_complete") == 1
        assert value(found, "mozaiks_runs_total", workflow="scripted", outcome="started") == 1
        assert value(found, "mozaiks_runs_total", workflow="scripted", outcome="completed") == 1
        tokens = {"app": "demo", "workflow": "scripted", "model": "scripted-model"}
        assert value(found, "mozaiks_tokens_total", kind="prompt", **tokens) == 10
        assert value(found, "mozaiks_tokens_total", kind="completion", **tokens) == 5
        assert value(found, "mozaiks_model_call_seconds_count", model="scripted-model") == 1
        # Bounded labels: no user or chat id anywhere in the exposition.
        assert "alice" not in response.text and chat_id not in response.text
        assert "c_missing" not in response.text


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


async def test_logs_are_json_and_carry_no_token(tmp_path: Path, log_lines: io.StringIO) -> None:
    settings = base_settings(tmp_path)
    configure_logging(settings, log_lines)
    async with serve(settings) as rt:
        token = rt.token("alice")
        created = await rt.http.post(
            "/api/sessions",
            json={"workflow_name": "scripted"},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-42"},
        )
        assert created.headers["x-request-id"] == "req-42"
        chat_id = created.json()["chat_id"]
        sock = await ChatSocket.open(rt.ws_url("scripted", chat_id), token, via="query")
        await sock.until("chat_meta")
        await sock.close()
        await rt.http.get("/api/sessions", params={"access_token": token})
    text = log_lines.getvalue()
    entries = [json.loads(line) for line in text.splitlines()]
    assert entries, "nothing was logged"
    assert all({"ts", "level", "logger", "message"} <= set(e) for e in entries)
    assert token not in text and "eyJ" not in text
    assert settings.jwt_secret is not None and settings.jwt_secret.get_secret_value() not in text
    assert any("access_token=[redacted]" in e["message"] for e in entries), text
    assert any(e.get("request_id") == "req-42" for e in entries), text
