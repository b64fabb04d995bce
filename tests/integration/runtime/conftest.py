"""A real runtime for each test: uvicorn on a free port in this process, the scripted runner
(or the real engine), and the store the test asks for (SQLite in tmp_path, or FerretDB)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from mozaiks_runtime.app import create_app
from mozaiks_runtime.auth.mint import mint_token
from mozaiks_runtime.config import Settings
from mozaiks_runtime.container import Runtime as Services
from mozaiks_runtime.container import runtime_of
from mozaiks_runtime.lifespan import RunnerFactory
from mozaiks_runtime.refs import ChatRef
from mozaiks_runtime.serving import RuntimeServer, server_options
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.scripted import ScriptedRunner

SECRET = "integration-secret-0123456789abcdef"
APP = "demo"
WORKFLOWS = Path(__file__).parent / "workflows"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_id": APP,
        "jwt_secret": SECRET,
        "workflows_dir": WORKFLOWS,
        "sqlite_path": tmp_path / "runtime.sqlite3",
        "mongo_uri": None,
        "replica_id": "test-replica",
        "rate_limit_messages_per_minute": 1000,
        "rate_limit_new_chats_per_minute": 1000,
        **overrides,
    }
    return Settings.load(**values)


@dataclass
class Runtime:
    settings: Settings
    app: FastAPI
    port: int
    runner: ScriptedRunner | None
    http: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=10)

    @property
    def services(self) -> Services:
        """What the lifespan wired (the app's typed container)."""
        return runtime_of(self.app)

    def token(self, user: str = "alice", **claims: Any) -> str:
        return mint_token(SECRET, user=user, app=claims.pop("app", APP), **claims)

    def auth(self, user: str = "alice", **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user, **claims)}"}

    def ws_url(
        self, workflow: str, chat_id: str, user: str = "alice", *, app: str = APP, **query: Any
    ) -> str:
        parts = "/".join(quote(p, safe="") for p in (workflow, app, chat_id, user))
        url = f"ws://127.0.0.1:{self.port}/ws/{parts}"
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        return url

    async def socket(
        self, workflow: str, chat_id: str, user: str = "alice", **query: Any
    ) -> ChatSocket:
        return await ChatSocket.open(
            self.ws_url(workflow, chat_id, user, **query), self.token(user)
        )

    async def wait_idle(self, chat_id: str) -> None:
        """Until this process has no run for the chat (the run task ended)."""
        await self.services.runs.wait(ChatRef(APP, chat_id))


@contextlib.asynccontextmanager
async def serve(
    settings: Settings, runner_factory: RunnerFactory | None = None
) -> AsyncIterator[Runtime]:
    runner = ScriptedRunner() if runner_factory is None else None
    factory: Callable[[Settings], Any] = runner_factory or (lambda _: runner)
    app = create_app(settings, runner_factory=factory)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="on", **server_options(settings)
    )
    server = RuntimeServer(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    runtime = Runtime(settings, app, port, runner)
    try:
        yield runtime
    finally:
        await runtime.http.aclose()
        server.should_exit = True
        await asyncio.wait_for(task, 20)


@pytest.fixture(params=["sqlite", "mongo"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Settings overrides for each storage adapter."""
    if request.param == "sqlite":
        return {}
    return {
        "mongo_uri": request.getfixturevalue("ferretdb"),
        "mongo_database": request.getfixturevalue("mongo_database"),
    }


@pytest.fixture
async def runtime(tmp_path: Path, store_settings: dict[str, Any]) -> AsyncIterator[Runtime]:
    """The runtime with the scripted runner, on each storage adapter."""
    async with serve(base_settings(tmp_path, **store_settings)) as rt:
        yield rt


@pytest.fixture
async def sqlite_runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    """The scripted runtime on SQLite only, for cases the store does not change."""
    async with serve(base_settings(tmp_path)) as rt:
        yield rt
