"""How uvicorn serves the runtime: its options, and a server that tells the runtime as soon as a
shutdown begins (`mozaiks runtime`, the tests and the benchmark all serve through here)."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette

from mozaiks_runtime.config import Settings
from mozaiks_runtime.container import runtime_of


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's settings for the runtime."""
    return {
        "log_config": None,  # logs.configure_logging already routes uvicorn's loggers
        "proxy_headers": True,
        # Our own heartbeat (`ping` frames) keeps sockets alive; protocol pings would double it.
        "ws_ping_interval": None,
        # A hard cap far above the app's limit: frames between the two get a chat.error.
        "ws_max_size": settings.max_frame_bytes * 4,
        # No permessage-deflate: its zlib state costs about 50 KiB per socket (idle ones too)
        # and CPU on every frame, to shrink frames that are mostly a few hundred bytes.
        "ws_per_message_deflate": False,
        # uvicorn closes sockets itself on shutdown (1012) but waits for open HTTP responses,
        # without end by default; past this, what is left of them is cut.
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
    }


class RuntimeServer(uvicorn.Server):
    """uvicorn's server, which marks the runtime draining when a shutdown begins, before it
    waits for open responses: AG-UI streams then end by themselves within a second (RUN_ERROR
    `OVERLOADED`: run again to follow the chat), not at the grace period's cut."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        app = self.config.app
        if isinstance(app, Starlette) and getattr(app.state, "runtime", None) is not None:
            runtime_of(app).traffic.draining = True
        await super().shutdown(sockets)


def serve(app: Starlette, settings: Settings, *, host: str, port: int) -> bool:
    """Serve until a signal stops the server; False when the app failed to start."""
    config = uvicorn.Config(app, host=host, port=port, **server_options(settings))
    server = RuntimeServer(config)
    # uvicorn raises the signal that stopped it again once it is down: Ctrl-C ends here.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return server.started
