"""A real webhook receiver for the tests: uvicorn on 127.0.0.1 in the test process, recording
every request; it fails the first attempts of each delivery (by its id) when told to."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.integration.runtime.conftest import free_port

PATH = "/hooks/mozaiks"


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what the receiver answered

    @property
    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    fail_first: int = 0  # attempts of each delivery answered with `failure`
    failure: int = 500
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    async def _hook(self, request: Request) -> Response:
        delivery = request.headers.get("mozaiks-delivery")
        seen = sum(1 for r in self.received if r.headers.get("mozaiks-delivery") == delivery)
        status = self.failure if seen < self.fail_first else 200
        self.received.append(Received(dict(request.headers), await request.body(), status))
        return Response(status_code=status)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[Receiver]:
        app = Starlette(routes=[Route(PATH, self._hook, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, lifespan="off", log_config=None, access_log=False
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        try:
            yield self
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 10)

    def of_type(self, event_type: str, *, ok: bool | None = None) -> list[Received]:
        return [
            r
            for r in self.received
            if r.headers.get("mozaiks-event") == event_type
            and (ok is None or (r.status < 300) == ok)
        ]

    async def until(self, check: Callable[[], bool], wait: float = 15) -> None:
        async with asyncio.timeout(wait):
            while not check():  # noqa: ASYNC110  (metrics and lists offer no event to wait on)
                await asyncio.sleep(0.02)
