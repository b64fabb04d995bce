"""The whole session-broker flow in a real browser: the app's own backend (the reference broker,
examples/broker/app.py, as its own process on its own origin) signs the user in, starts the chat
with its service credential, and its page chats through the widget with the chat-bound token the
runtime minted. A user without the workflow's role gets the runtime's NOT_ENTITLED instead."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.harness import (
    REPO,
    RUNTIME_SECRET,
    START_TIMEOUT,
    BrowserSession,
    RuntimeProcess,
    free_port,
    serve,
)
from tests.browser.widget import (
    answer_input,
    send_message,
    wait_connected,
    wait_run_complete,
    widget_state,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

BROKER_SECRET = "browser-suite-broker-secret-0123456789abcdef"


@pytest.fixture
def gated_runtime(tmp_path: Path) -> Iterator[RuntimeProcess]:
    """A runtime with a broker secret, serving `hello` for users with the `pro` role only."""
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    hello = json.loads((REPO / "workflows" / "hello.json").read_text())
    hello["access"] = {"anyOf": [{"claim": "roles", "contains": "pro"}]}
    (workflows / "hello.json").write_text(json.dumps(hello))
    env = {"MOZAIKS_JWT_SECRET": RUNTIME_SECRET, "MOZAIKS_BROKER_JWT_SECRET": BROKER_SECRET}
    workdir = tmp_path / "runtime"
    workdir.mkdir()
    yield from serve(workdir, workflows, env)


@pytest.fixture
def broker(gated_runtime: RuntimeProcess, tmp_path: Path) -> Iterator[str]:
    """The reference broker as the README runs it (uvicorn --factory), on its own port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOZAIKS_")}
    env.update(
        MOZAIKS_RUNTIME_URL=gated_runtime.url,
        MOZAIKS_APP_ID="demo",
        MOZAIKS_BROKER_JWT_SECRET=BROKER_SECRET,
        BROKER_WORKFLOW="hello",
    )
    log = (tmp_path / "broker.log").open("wb")
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "examples.broker.app:create_app"]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, (tmp_path / "broker.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/login?user=nobody", timeout=2).status_code == 404:
                    break
            assert time.monotonic() < deadline, "the broker did not start"
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def test_a_user_chats_through_the_broker(
    session: BrowserSession, gated_runtime: RuntimeProcess, broker: str
) -> None:
    page = session.page
    await page.goto(broker + "/login?user=alice")  # the app's own sign-in, then its page
    await expect(page.locator("#status")).to_contain_text("chat c_")
    await wait_connected(page)
    state = await widget_state(page)
    assert state["workflow_name"] == "hello"
    await expect(page.locator(".mzk-input-request")).to_contain_text("name")
    await answer_input(page, "Ada")
    await wait_run_complete(page)
    await session.screenshot("20-broker-session")
    assert session.probe.page_errors == []

    # A fresh token for the chat, as the widget gets before each reconnect.
    chat_id = str(state["chat_id"])
    token = await page.evaluate(
        """async (chatId) => {
            const res = await fetch("/api/workflows/start", {method: "POST",
              headers: {"Content-Type": "application/json"},
              body: JSON.stringify({workflow_name: "hello", chat_id: chatId})});
            return (await res.json()).runtime_token;
        }""",
        chat_id,
    )
    # The app drops the workflow from alice's plan mid-chat: her next message starts no run,
    # and the widget says why in plain words.
    hello_file = gated_runtime.workflows_dir / "hello.json"
    hello = json.loads(hello_file.read_text())
    hello["access"] = {"anyOf": [{"claim": "roles", "contains": "vip"}]}
    hello_file.write_text(json.dumps(hello))
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=gated_runtime.url, timeout=10) as client:
        deadline = time.monotonic() + 30
        while (await client.get("/api/workflows/hello/eligible", headers=auth)).json()[
            "eligible"
        ]:  # the runtime picks the file up within its poll period
            assert time.monotonic() < deadline, "the tightened rule never applied"
            await page.wait_for_timeout(250)
    await send_message(page, "One more thing")
    refused = page.locator('.mzk-note[data-error-code="NOT_ENTITLED"]')
    await expect(refused).to_have_text("Your account does not include this assistant.")
    await expect(page.locator('.mzk-note[data-run-status="completed"]')).to_have_count(1)
    await session.screenshot("21-broker-not-entitled")

    # That token opens this chat only; the runtime keeps the chat as alice's.
    async with httpx.AsyncClient(base_url=gated_runtime.url, timeout=10) as client:
        mine = await client.get(f"/api/sessions/{chat_id}", headers=auth)
        assert mine.status_code == 200 and mine.json()["user_id"] == "alice"
        other = await client.get("/api/sessions/c_someone_else", headers=auth)
        assert (other.status_code, other.json()["error_code"]) == (404, "NOT_FOUND")


async def test_a_user_without_the_role_is_refused(session: BrowserSession, broker: str) -> None:
    page = session.page
    await page.goto(broker + "/login?user=bob")
    await expect(page.locator("#status")).to_have_text("refused: NOT_ENTITLED")
    assert session.probe.page_errors == []
