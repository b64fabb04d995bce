"""WAL checkpoints run beside the writer (storage/sqlite/checkpoints.py): pages the writer left
in the WAL reach the database file without the writer checkpointing itself."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mozaiks_runtime.storage.sqlite import checkpoints
from mozaiks_runtime.storage.sqlite.checkpoints import Checkpointer

pytestmark = pytest.mark.unit


async def test_the_checkpointer_moves_wal_pages_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # the writer never checkpoints here
    writer.execute("CREATE TABLE t (v TEXT)")
    writer.executemany("INSERT INTO t VALUES (?)", [("x" * 500,) for _ in range(2000)])
    before = path.stat().st_size
    checkpointer = Checkpointer(path, every=0.05)
    checkpointer.start()
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if path.stat().st_size > before + 500_000:
                break
    finally:
        await checkpointer.stop()
        writer.close()
    assert path.stat().st_size > before + 500_000  # the rows' pages are in the database file


async def test_stopping_waits_for_a_checkpoint_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing the connection under a running checkpoint crashed the process at shutdown."""
    started, outcomes = threading.Event(), []

    def slow_checkpoint(conn: sqlite3.Connection) -> Any:
        started.set()
        time.sleep(0.3)  # stop() arrives now
        try:
            outcomes.append(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
        except sqlite3.Error as exc:
            outcomes.append(exc)
        return (0, 0, 0)

    monkeypatch.setattr(checkpoints, "checkpoint", slow_checkpoint)
    sqlite3.connect(tmp_path / "c.sqlite3").execute("PRAGMA journal_mode=WAL").close()
    checkpointer = Checkpointer(tmp_path / "c.sqlite3", every=0.01)
    checkpointer.start()
    await asyncio.to_thread(started.wait, 5)
    await checkpointer.stop()
    assert len(outcomes) == 1 and isinstance(outcomes[0], tuple), outcomes
