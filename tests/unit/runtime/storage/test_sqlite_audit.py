"""The embedded store's erasure audit is append-only in the database itself: its triggers refuse
an UPDATE or a DELETE, whoever issues it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mozaiks_runtime.storage.base import ErasureAudit, utcnow
from mozaiks_runtime.storage.sqlite import SqliteStore

pytestmark = pytest.mark.unit


async def test_the_audit_refuses_updates_and_deletes(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.sqlite3")
    await store.start()
    audit = ErasureAudit("er_1", "app", "alice", "admin", {"chats": 1}, "ab" * 32, utcnow())
    try:
        await store.append_audit(audit)
    finally:
        await store.close()
    conn = sqlite3.connect(tmp_path / "a.sqlite3")
    for statement in ("UPDATE erasure_audit SET sha256 = 'x'", "DELETE FROM erasure_audit"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
    assert conn.execute("SELECT audit_id, sha256 FROM erasure_audit").fetchall() == [
        ("er_1", "ab" * 32)
    ]
    conn.close()
