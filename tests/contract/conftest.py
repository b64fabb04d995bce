"""The contract suite runs every test against both Store adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mozaiks_runtime.storage.base import Store
from mozaiks_runtime.storage.mongo import MongoStore
from mozaiks_runtime.storage.sqlite import SqliteStore


@pytest.fixture(params=["sqlite", "mongo"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    adapter: Store
    if request.param == "sqlite":
        adapter = SqliteStore(tmp_path / "store.sqlite3")
    else:
        uri = request.getfixturevalue("ferretdb")
        adapter = MongoStore(uri, request.getfixturevalue("mongo_database"))
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.close()
