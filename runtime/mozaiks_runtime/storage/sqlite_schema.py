# SQL text is built only from this module's constants; every value is a bound parameter.
"""The embedded store's tables and the SQL helpers its methods share (storage/sqlite.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from mozaiks_runtime import jsontext
from mozaiks_runtime.storage import rows
from mozaiks_runtime.storage.base import (
    ChatRecord,
    NewEvent,
    PendingRequest,
    StoredEvent,
    to_millis,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
  app_id TEXT NOT NULL, chat_id TEXT NOT NULL, user_id TEXT NOT NULL,
  workflow_name TEXT NOT NULL, workflow_version TEXT NOT NULL, status TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,
  last_agent TEXT, context TEXT NOT NULL DEFAULT '{}', total_tokens INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, chat_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chats_by_user ON chats (app_id, user_id, created_at DESC, chat_id DESC);
CREATE INDEX IF NOT EXISTS chats_by_app ON chats (app_id, created_at DESC, chat_id DESC);
CREATE TABLE IF NOT EXISTS events (
  app_id TEXT NOT NULL, chat_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
  data TEXT NOT NULL, ts INTEGER NOT NULL,
  PRIMARY KEY (app_id, chat_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (
  app_id TEXT NOT NULL, request_id TEXT NOT NULL, chat_id TEXT NOT NULL, user_id TEXT NOT NULL,
  kind TEXT NOT NULL, agent TEXT NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, status TEXT NOT NULL, answer TEXT, answered_at INTEGER,
  PRIMARY KEY (app_id, request_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_open ON pending (app_id, chat_id, status, created_at);
CREATE TABLE IF NOT EXISTS usage (
  id INTEGER PRIMARY KEY, app_id TEXT NOT NULL, chat_id TEXT NOT NULL, user_id TEXT NOT NULL,
  workflow_name TEXT NOT NULL, agent TEXT NOT NULL, model TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, total_tokens INTEGER NOT NULL,
  cost REAL NOT NULL, duration_sec REAL NOT NULL, created_at INTEGER NOT NULL, day TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS usage_by_time ON usage (app_id, created_at);
CREATE INDEX IF NOT EXISTS usage_by_user ON usage (app_id, user_id, created_at);
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
"""

CHAT_COLUMNS = (
    "app_id, chat_id, user_id, workflow_name, workflow_version, status, created_at, updated_at, "
    "last_seq, last_agent, context, total_tokens"
)
PENDING_COLUMNS = (
    "app_id, request_id, chat_id, user_id, kind, agent, payload, created_at, expires_at, status, "
    "answer, answered_at"
)
GROUP_COLUMNS: dict[str, str] = {
    "day": "day",
    "user": "user_id",
    "workflow": "workflow_name",
    "model": "model",
}


def append_one(
    c: sqlite3.Connection, app_id: str, chat_id: str, events: Sequence[NewEvent]
) -> list[StoredEvent]:
    (last,) = c.execute(
        "SELECT COALESCE(MAX(seq), 0) FROM events WHERE app_id=? AND chat_id=?", (app_id, chat_id)
    ).fetchone()
    stored = [
        StoredEvent(
            app_id, chat_id, last + i, e.type, e.data, e.timestamp, jsontext.dumps(dict(e.data))
        )
        for i, e in enumerate(events, start=1)
    ]
    c.executemany(
        "INSERT INTO events (app_id, chat_id, seq, type, data, ts) VALUES (?,?,?,?,?,?)",
        [(app_id, chat_id, s.seq, s.type, s.encoded, to_millis(s.timestamp)) for s in stored],
    )
    c.execute(
        "UPDATE chats SET last_seq=? WHERE app_id=? AND chat_id=?",
        (stored[-1].seq, app_id, chat_id),
    )
    return stored


def chat_row(row: Sequence[Any]) -> ChatRecord:
    return rows.chat_from(dict(zip(CHAT_COLUMNS.split(", "), row, strict=True)))


def pending_row(row: Sequence[Any]) -> PendingRequest:
    return rows.pending_from(dict(zip(PENDING_COLUMNS.split(", "), row, strict=True)))
