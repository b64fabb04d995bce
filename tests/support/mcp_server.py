"""A real MCP server for tests, written with the official `mcp` SDK (`MCPServer`, once FastMCP).

Run in its own process (`python -m tests.support.mcp_server --port N [...]`), it serves over
streamable HTTP at `/mcp` (or SSE at `/sse` with `--transport sse`) on 127.0.0.1:

| tool         | does                                                                      |
|--------------|---------------------------------------------------------------------------|
| `forecast`   | a fixed forecast for `city` (what the happy path calls)                   |
| `air-quality`| a hyphenated name, as MCP servers often use                                |
| `wipe_disk`  | never meant to be offered: workflows leave it off their allow-lists       |
| `huge`       | a text of `size` characters (an over-large result)                        |
| `slow`       | sleeps `seconds`, then answers (a call that outlives its timeout)         |
| `fail`       | raises: the server answers with a tool error (`isError`)                  |

`--token T` makes every request without `Authorization: Bearer T` a 401, so the auth header a
workflow takes from the environment is really sent. `--malformed` lists `forecast` with an input
schema that is not a valid JSON Schema (a broken server). `McpServerProcess` starts it on a free
port and waits until it answers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import Tool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

REPO = Path(__file__).resolve().parents[2]
FORECAST = "Sunny, 21 degrees, light wind"


class _BrokenListing(MCPServer):
    """Lists `forecast` with a schema whose `type` is a number: not a JSON Schema at all."""

    async def list_tools(self) -> list[Tool]:
        tools = await super().list_tools()
        return [
            t.model_copy(update={"input_schema": {"type": "object", "properties": {"city": 7}}})
            if t.name == "forecast"
            else t
            for t in tools
        ]


def build_server(*, malformed: bool = False) -> MCPServer:
    server = (_BrokenListing if malformed else MCPServer)("mozaiks-test-mcp", log_level="WARNING")

    @server.tool(description="The weather forecast for a city.")
    def forecast(city: str) -> str:
        return f"{city}: {FORECAST}"

    @server.tool(name="air-quality", description="The air quality in a city.")
    def air_quality(city: str) -> str:
        return f"{city}: air quality good"

    @server.tool(description="Erase everything (a tool no workflow should ever be offered).")
    def wipe_disk() -> str:
        return "wiped"

    @server.tool(description="A text of `size` characters.")
    def huge(size: int) -> str:
        return "x" * size

    @server.tool(description="Sleep for `seconds`, then answer.")
    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "finally"

    @server.tool(description="Always fails.")
    def fail() -> str:
        raise ToolError("the weather service is down")

    return server


class _RequireToken:
    """Answers 401 to any request without the expected bearer token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.expected = app, f"Bearer {token}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and Request(scope).headers.get("authorization") != self.expected:
            response: Response = JSONResponse({"error": "unauthorized"}, status_code=401)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the test suite's MCP server")
    parser.add_argument("--port", type=int, required=True)
    transports = ["streamable_http", "sse"]
    parser.add_argument("--transport", choices=transports, default=transports[0])
    parser.add_argument("--token")
    parser.add_argument("--malformed", action="store_true")
    args = parser.parse_args(argv)
    server = build_server(malformed=args.malformed)
    app: ASGIApp = server.sse_app() if args.transport == "sse" else server.streamable_http_app()
    if args.token:
        app = _RequireToken(app, args.token)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


# ── the handle tests use ────────────────────────────────────────────────────


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class McpServerProcess:
    """The server in a child process on a free loopback port; `url` is its endpoint."""

    def __init__(self, *flags: str, transport: str = "streamable_http") -> None:
        self.port = free_port()
        self.transport = transport
        path = "/sse" if transport == "sse" else "/mcp"
        self.url = f"http://127.0.0.1:{self.port}{path}"
        self._argv = [
            sys.executable,
            "-m",
            "tests.support.mcp_server",
            "--port",
            str(self.port),
            "--transport",
            transport,
            *flags,
        ]
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self._proc = subprocess.Popen(self._argv, cwd=REPO, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the MCP test server exited with {self._proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the MCP test server did not start")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)


@contextmanager
def running(*flags: str, transport: str = "streamable_http") -> Iterator[McpServerProcess]:
    server = McpServerProcess(*flags, transport=transport)
    server.start()
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":
    main()
