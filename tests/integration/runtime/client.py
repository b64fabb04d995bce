"""A small WebSocket client for the runtime tests (the `websockets` library, a real socket)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol


def _small_buffer_socket(url: str) -> socket.socket:
    """A client socket with a tiny receive buffer, so the server feels backpressure at once
    (set before connecting: the TCP window is fixed at the handshake)."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, port))
    sock.setblocking(False)
    return sock


def _bearer(token: str) -> list[Subprotocol]:
    """The token as the `bearer` WebSocket subprotocol pair."""
    return [Subprotocol("bearer"), Subprotocol(token)]


class ChatSocket:
    """Keeps every frame it received, in order, so tests can check seqs afterwards."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str, token: str | None, *, via: str = "subprotocol") -> ChatSocket:
        if token is not None and via == "subprotocol":
            ws = await connect(url, subprotocols=_bearer(token), open_timeout=10)
        elif token is not None and via == "slow":
            ws = await connect(
                url,
                subprotocols=_bearer(token),
                sock=_small_buffer_socket(url),
                max_queue=1,
                open_timeout=10,
            )
        elif token is not None:
            sep = "&" if "?" in url else "?"
            ws = await connect(f"{url}{sep}access_token={token}", open_timeout=10)
        else:
            ws = await connect(url, open_timeout=10)
        return cls(ws)

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, wait: float = 10) -> dict[str, Any]:
        async with asyncio.timeout(wait):
            frame: dict[str, Any] = json.loads(await self.ws.recv())
        self.frames.append(frame)
        return frame

    async def until(self, type_: str, wait: float = 10, **data: Any) -> dict[str, Any]:
        """Receive until a frame of this type (whose data has these values) arrives."""
        async with asyncio.timeout(wait):
            while True:
                frame = await self.recv(wait)
                if frame["type"] == type_ and all(
                    frame["data"].get(k) == v for k, v in data.items()
                ):
                    return frame

    async def closed(self, wait: float = 10) -> tuple[int | None, str]:
        """Wait for the server to close; (code, reason). Frames received meanwhile are kept."""
        async with asyncio.timeout(wait):
            with contextlib.suppress(ConnectionClosed):
                while True:
                    self.frames.append(json.loads(await self.ws.recv()))
        return self.ws.close_code, self.ws.close_reason or ""

    def seqs(self) -> list[int]:
        return [f["seq"] for f in self.frames if "seq" in f]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == type_]

    async def close(self) -> None:
        await self.ws.close()
