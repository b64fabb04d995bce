"""The reference broker (examples/broker/app.py) against a real runtime, both served by uvicorn:
its user signs in, it starts the chat with its service credential, and the session it hands out
works on the runtime's socket; refusals come back as the runtime's stable JSON."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import uvicorn

from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, Runtime, free_port
from tests.integration.security.conftest import auth, refused
from tests.integration.security.gated import BROKER_SECRET, gated_runtime

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "broker" / "app.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference_broker", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while they are built
    spec.loader.exec_module(module)
    return module


@contextlib.asynccontextmanager
async def broker_app(runtime: Runtime, workflow: str = "gated") -> AsyncIterator[httpx.AsyncClient]:
    example = load_example()
    config = example.Config(
        runtime_url=f"http://127.0.0.1:{runtime.port}",
        app_id=APP,
        broker_secret=BROKER_SECRET,
        workflow=workflow,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(example.create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        try:
            yield client
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 20)


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    async with gated_runtime(tmp_path, broker_jwt_secret=BROKER_SECRET) as runtime:
        yield runtime


async def login(client: httpx.AsyncClient, user: str) -> None:
    response = await client.get("/login", params={"user": user})
    assert response.status_code == 303 and "broker_session" in client.cookies


async def test_the_reference_broker_end_to_end(rt: Runtime) -> None:
    async with broker_app(rt) as browser:
        # Not signed in: the app's own 401, nothing reaches the runtime.
        anonymous = await browser.post("/api/workflows/start", json={"workflow_name": "gated"})
        assert anonymous.status_code == 401
        assert (await browser.get("/")).status_code == 401

        await login(browser, "alice")  # alice has the `pro` role the workflow requires
        started = await browser.post("/api/workflows/start", json={"workflow_name": "gated"})
        assert started.status_code == 200, started.text
        session = started.json()
        assert set(session) == {"chat_id", "workflow_name", "runtime_ws_url", "runtime_token"}
        chat_id = session["chat_id"]
        assert session["runtime_ws_url"] == rt.ws_url("gated", chat_id, "alice")

        sock = await ChatSocket.open(session["runtime_ws_url"], session["runtime_token"])
        await sock.until("chat_meta")
        await sock.send({"type": "user.input.submit", "chat_id": chat_id, "text": "hi"})
        await sock.until("chat.run_complete", wait=20)
        await sock.close()

        # Resuming hands out a fresh token for the same chat; it opens no other chat.
        again = await browser.post(
            "/api/workflows/start", json={"workflow_name": "gated", "chat_id": chat_id}
        )
        assert again.json()["chat_id"] == chat_id
        other = (await browser.post("/api/workflows/start", json={"workflow_name": "open"})).json()
        sock = await ChatSocket.open(other["runtime_ws_url"], again.json()["runtime_token"])
        assert await refused(sock) == (1008, "chat not found")

        # The page the browser loads embeds the widget from the runtime.
        page = await browser.get("/")
        assert page.status_code == 200
        assert f"http://127.0.0.1:{rt.port}/static/mozaiks-chat.js" in page.text
        assert '"userId": "alice"' in page.text


async def test_a_user_without_the_role_is_refused_with_the_runtimes_code(rt: Runtime) -> None:
    async with broker_app(rt) as browser:
        await login(browser, "bob")  # a member, not pro
        refused_start = await browser.post("/api/workflows/start", json={"workflow_name": "gated"})
        assert refused_start.status_code == 403
        assert refused_start.json()["error_code"] == "NOT_ENTITLED"
        opened = await browser.post("/api/workflows/start", json={"workflow_name": "open"})
        assert opened.status_code == 200  # an open workflow needs no role
        listed = await rt.http.get("/api/sessions", headers=auth("bob"))
        assert [s["workflow_name"] for s in listed.json()["sessions"]] == ["open"]
