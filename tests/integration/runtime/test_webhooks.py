"""Completion webhooks against a real HTTP receiver in this process: the real engine's demo
model runs `hello` (a question to the user, then the end); the receiver gets signed deliveries,
is retried while it fails, and still gets them after a restart of the runtime."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mozaiks_runtime.config import Settings, SettingsError
from mozaiks_runtime.lifespan import default_runner
from mozaiks_runtime.storage.base import utcnow
from mozaiks_runtime.storage.sqlite import SqliteStore
from mozaiks_runtime.webhooks.signing import SignatureError, verify
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, Runtime, base_settings, serve
from tests.integration.runtime.receiver import Received, Receiver
from tests.integration.runtime.test_real_engine import EXAMPLES

pytestmark = pytest.mark.integration
HOOK_SECRET = "webhook-secret-0123456789abcdef"


def hook_settings(tmp_path: Path, receiver: Receiver, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "workflows_dir": EXAMPLES,
        "webhook_url": receiver.url,
        "webhook_secret": HOOK_SECRET,
        # Retries within a test's patience.
        "webhook_retry_base_seconds": 0.05,
        "webhook_retry_max_seconds": 0.2,
        "webhook_timeout_seconds": 2,
        **overrides,
    }
    return base_settings(tmp_path, **values)


async def run_hello(rt: Runtime, chat_id: str) -> ChatSocket:
    """A whole run: the Greeter asks for a name (chat.input_request), then greets and ends."""
    sock = await rt.socket("hello", chat_id)
    request = await sock.until("chat.input_request", wait=30)
    await sock.send(
        {
            "type": "user.input.submit",
            "text": "Ada",
            "input_request_id": request["data"]["request_id"],
        }
    )
    await sock.until("chat.run_complete", wait=30)
    await sock.close()
    return sock


def assert_signed(received: Received) -> dict[str, Any]:
    """A valid signature now, the headers agree with the body; returns the body."""
    verify(HOOK_SECRET, received.body, received.headers["mozaiks-signature"], now=time.time())
    body = received.json
    assert received.headers["mozaiks-delivery"] == body["id"]
    assert received.headers["mozaiks-event"] == body["type"]
    assert received.headers["content-type"] == "application/json"
    return body


def counter(rt: Runtime, name: str, **labels: str) -> float:
    value = rt.services.metrics.registry.get_sample_value(name, labels)
    return float(value or 0)


async def test_input_request_and_run_complete_arrive_signed(
    tmp_path: Path, store_settings: dict[str, Any]
) -> None:
    receiver = Receiver()
    settings = hook_settings(tmp_path, receiver, **store_settings)
    async with receiver.serving(), serve(settings, runner_factory=default_runner) as rt:
        sock = await run_hello(rt, "c_hook")
        await receiver.until(lambda: bool(receiver.of_type("chat.run_complete")))
        await rt.wait_idle("c_hook")
        await receiver.until(
            lambda: counter(rt, "mozaiks_webhook_deliveries_total", outcome="delivered") == 2
        )
        assert await rt.services.store.count_deliveries(APP) == 0

    (asked,) = receiver.of_type("chat.input_request")
    (done,) = receiver.of_type("chat.run_complete")
    assert len(receiver.received) == 2  # nothing else is notified
    question = assert_signed(asked)
    frame = sock.of_type("chat.input_request")[0]
    assert question["chat_id"] == "c_hook" and question["seq"] == frame["seq"]
    assert (question["app_id"], question["user_id"], question["workflow_name"]) == (
        APP,
        "alice",
        "hello",
    )
    # Who asked and which request, never what was asked (the prompt stays in the chat).
    assert question["data"] == {
        "request_id": frame["data"]["request_id"],
        "agent": frame["data"]["agent"],
    }
    assert question["occurred_at"] == frame["timestamp"]
    end = assert_signed(done)
    assert end["seq"] == sock.of_type("chat.run_complete")[0]["seq"]
    assert end["data"]["status"] == "completed" and end["data"]["total_tokens"] > 0
    assert set(end) == {
        "id", "type", "app_id", "chat_id", "user_id", "workflow_name", "seq", "occurred_at", "data"
    }  # fmt: skip
    assert question["id"] != end["id"]


async def test_tampered_or_old_deliveries_fail_verification(tmp_path: Path) -> None:
    receiver = Receiver()
    async with (
        receiver.serving(),
        serve(hook_settings(tmp_path, receiver), runner_factory=default_runner) as rt,
    ):
        await run_hello(rt, "c_verify")
        await receiver.until(lambda: bool(receiver.of_type("chat.run_complete")))
    (got,) = receiver.of_type("chat.run_complete")
    header = got.headers["mozaiks-signature"]
    signed_at = verify(HOOK_SECRET, got.body, header, now=time.time())
    with pytest.raises(SignatureError, match="does not match"):
        verify(HOOK_SECRET, got.body.replace(b"completed", b"failed"), header, now=time.time())
    with pytest.raises(SignatureError, match="does not match"):
        verify("another-secret", got.body, header, now=time.time())
    with pytest.raises(SignatureError, match="replay window"):
        verify(HOOK_SECRET, got.body, header, now=signed_at + 301)
    assert verify(HOOK_SECRET, got.body, header, now=signed_at + 299) == signed_at
    with pytest.raises(SignatureError, match="malformed"):
        verify(HOOK_SECRET, got.body, "v1=abc", now=time.time())


async def test_a_failing_receiver_gets_the_same_delivery_later(tmp_path: Path) -> None:
    receiver = Receiver(fail_first=2, failure=503)
    async with (
        receiver.serving(),
        serve(hook_settings(tmp_path, receiver), runner_factory=default_runner) as rt,
    ):
        await run_hello(rt, "c_retry")
        await receiver.until(lambda: len(receiver.of_type("chat.run_complete", ok=True)) == 1)
        await receiver.until(lambda: len(receiver.of_type("chat.input_request", ok=True)) == 1)
        # Counted once the outbox row is gone, which is after the receiver answered.
        await receiver.until(
            lambda: counter(rt, "mozaiks_webhook_deliveries_total", outcome="delivered") == 2
        )
        assert counter(rt, "mozaiks_webhook_deliveries_total", outcome="failed") == 4
        assert await rt.services.store.count_deliveries(APP) == 0
    for event_type in ("chat.input_request", "chat.run_complete"):
        attempts = receiver.of_type(event_type)
        assert [a.status for a in attempts] == [503, 503, 200]
        # The same delivery every time: one idempotency id, one body, each attempt signed anew.
        assert len({a.headers["mozaiks-delivery"] for a in attempts}) == 1
        assert len({a.body for a in attempts}) == 1
        for attempt in attempts:
            assert_signed(attempt)
    assert len(receiver.received) == 6


async def test_a_delivery_is_dropped_as_dead_after_its_attempts(tmp_path: Path) -> None:
    receiver = Receiver(fail_first=1000)
    settings = hook_settings(tmp_path, receiver, webhook_max_attempts=3)
    async with receiver.serving(), serve(settings, runner_factory=default_runner) as rt:
        await run_hello(rt, "c_dead")
        await receiver.until(
            lambda: counter(rt, "mozaiks_webhook_deliveries_total", outcome="dead") == 2
        )
        assert await rt.services.store.count_deliveries(APP) == 0
    assert len(receiver.of_type("chat.run_complete")) == 3
    assert len(receiver.of_type("chat.input_request")) == 3


async def test_pending_deliveries_survive_a_restart(tmp_path: Path) -> None:
    receiver = Receiver()  # not serving yet: its port refuses connections
    settings = hook_settings(tmp_path, receiver, webhook_max_attempts=1000)
    async with serve(settings, runner_factory=default_runner) as rt:
        sock = await run_hello(rt, "c_restart")
        await rt.wait_idle("c_restart")
        await receiver.until(
            lambda: counter(rt, "mozaiks_webhook_deliveries_total", outcome="failed") >= 4
        )
    # What the stopped runtime left: read by claiming, then handed back due at once.
    store = SqliteStore(settings.sqlite_path)
    await store.start()
    try:
        later = utcnow() + timedelta(seconds=5)
        left = await store.claim_deliveries(APP, now=later, claim_seconds=1, limit=10)
        for d in left:
            await store.reschedule_delivery(
                APP, d.id, next_attempt_at=utcnow(), attempts=d.attempts, last_error=d.last_error
            )
    finally:
        await store.close()
    assert {d.event_type for d in left} == {"chat.input_request", "chat.run_complete"}
    assert all(d.attempts >= 1 and "ConnectError" in (d.last_error or "") for d in left)

    async with receiver.serving(), serve(settings, runner_factory=default_runner) as again:
        await receiver.until(
            lambda: counter(again, "mozaiks_webhook_deliveries_total", outcome="delivered") == 2
        )
        assert len(receiver.received) == 2
        assert await again.services.store.count_deliveries(APP) == 0
    assert {r.headers["mozaiks-delivery"] for r in receiver.received} == {d.id for d in left}
    seqs = {assert_signed(r)["seq"] for r in receiver.received}
    assert seqs == {
        sock.of_type("chat.input_request")[0]["seq"],
        sock.of_type("chat.run_complete")[0]["seq"],
    }


def test_bad_webhook_settings_are_refused_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="MOZAIKS_WEBHOOK_SECRET is required"):
        base_settings(tmp_path, webhook_url="https://backend.example/hook")
    with pytest.raises(SettingsError, match="MOZAIKS_WEBHOOK_SECRET is required"):
        base_settings(tmp_path, webhook_url="https://backend.example/hook", webhook_secret="")
    with pytest.raises(SettingsError, match=r"MOZAIKS_WEBHOOK_URL: .*http\(s\) URL"):
        base_settings(tmp_path, webhook_url="ftp://backend.example/hook", webhook_secret="k")
    with pytest.raises(SettingsError, match="MOZAIKS_WEBHOOK_URL"):
        base_settings(tmp_path, webhook_url="https:///no-host", webhook_secret="k")
    ok = base_settings(tmp_path, webhook_url="http://127.0.0.1:9/h", webhook_secret="k")
    assert ok.webhook_url == "http://127.0.0.1:9/h"
    assert base_settings(tmp_path, webhook_url="").webhook_url is None
