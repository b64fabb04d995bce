"""A liveness answer while this replica waits for the Lease (kopf's own probe starts only once
it leads), so that a waiting replica is not restarted for being alive but not in charge."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from aiohttp import web


@contextlib.asynccontextmanager
async def standby_probe(url: str | None, identity: str) -> AsyncIterator[None]:
    """Serve `{"standby": identity}` on the liveness URL until the block exits."""
    if url is None:
        yield
        return
    parts = urlsplit(url)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"standby": identity})

    app = web.Application()
    app.add_routes([web.get(parts.path or "/", health)])
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, parts.hostname or "localhost", parts.port or 80, reuse_address=True)
    await site.start()
    try:
        yield
    finally:
        await runner.cleanup()  # frees the port for kopf's own probe
