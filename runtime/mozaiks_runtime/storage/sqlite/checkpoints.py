"""WAL checkpoints off the write path.

By default SQLite checkpoints inside the COMMIT that grows the WAL past 1000 pages, so every few
hundred commits one writer stalls for milliseconds while pages are copied back into the
database file, and every event of that round waits with it. Here a connection of its own
checkpoints every second in a worker thread (`PASSIVE`: it never blocks the writer, which goes on
appending to the WAL meanwhile); the writer only checkpoints itself past a far larger WAL, as a
safety net should this fall behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

EVERY_SECONDS = 1.0
WRITER_CHECKPOINT_PAGES = 20_000  # the writer's own threshold (about 80 MiB of WAL)


class Checkpointer:
    def __init__(self, path: Path, every: float = EVERY_SECONDS) -> None:
        self._path = path
        self._every = every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sqlite-checkpoints")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        conn = await asyncio.to_thread(self._connect)
        running: asyncio.Future[tuple[int, int, int]] | None = None
        try:
            while True:
                await asyncio.sleep(self._every)
                running = asyncio.ensure_future(asyncio.to_thread(checkpoint, conn))
                try:
                    await asyncio.shield(running)
                except sqlite3.Error as exc:  # busy or failing: the writer's threshold holds
                    log.debug("WAL checkpoint skipped: %s", exc)
        finally:
            # Stopped while a checkpoint runs in its thread: closing the connection under it
            # crashes the process (SIGSEGV in sqlite3), so let it finish first.
            if running is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.wait([running])
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=1000")
        return conn


def checkpoint(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """(busy, WAL frames, frames checkpointed), as `PRAGMA wal_checkpoint` reports them."""
    busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(busy), int(frames), int(done)
