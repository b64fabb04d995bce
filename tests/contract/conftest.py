"""The contract suite runs every test against both Store adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mozaiks_runtime.storage.base import Store
from mozaiks_runtime.storage.mongo import MongoStore
from mozaiks_runtime.storage.sqlite import SqliteStore


def _adapter(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if kind == "sqlite":
        return SqliteStore(tmp_path / "store.sqlite3")
    uri = request.getfixturevalue("ferretdb")
    return MongoStore(uri, request.getfixturevalue("mongo_database"))


@pytest.fixture(params=["sqlite", "mongo"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    adapter = _adapter(request.param, request, tmp_path)
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.close()


@pytest.fixture
async def other_replica(
    store: Store, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Store]:
    """A second adapter on the same database, as another replica (or process) has."""
    adapter = _adapter(request.node.callspec.params["store"], request, tmp_path)
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.close()
