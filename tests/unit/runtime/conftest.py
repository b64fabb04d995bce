"""Fixtures shared by the runtime's unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mozaiks_runtime.storage.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """A real embedded store in a fresh file (fast enough for unit tests, and no fake)."""
    adapter = SqliteStore(tmp_path / "store.sqlite3")
    await adapter.start()
    yield adapter
    await adapter.close()
