"""WAL checkpoints run beside the writer (storage/sqlite_checkpoints.py): pages the writer left
in the WAL reach the database file without the writer checkpointing itself."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from mozaiks_runtime.storage.sqlite_checkpoints import Checkpointer

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
