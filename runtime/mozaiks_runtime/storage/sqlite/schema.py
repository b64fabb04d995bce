# SQL text is built only from this module's constants; every value is a bound parameter.
# ruff: noqa: S608
"""The embedded store's tables and the SQL helpers its methods share (storage/sqlite/store.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from mozaiks_runtime import jsontext
from mozaiks_runtime.errors import Conflict
from mozaiks_runtime.refs import ChatRef
from mozaiks_runtime.storage import rows
from mozaiks_runtime.storage.base import (
    ChatRecord,
    NewEvent,
    PendingRequest,
    StoredEvent,
    WebhookDelivery,
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
CREATE INDEX IF NOT EXISTS chats_by_status ON chats (app_id, status, updated_at);
CREATE TABLE IF NOT EXISTS inbox (
  app_id TEXT NOT NULL, chat_id TEXT NOT NULL, n INTEGER NOT NULL, kind TEXT NOT NULL,
  payload TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (app_id, chat_id, n)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS workflow_versions (
  app_id TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, definition TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (app_id, name, version)) WITHOUT ROWID;
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


# The appends of a round are written together: a handful of statements whatever the number of
# chats (the worker thread hands the GIL to the busy event loop at every statement step, and
# per-chat, per-row steps made the writes of 200 streaming chats the bottleneck). Each statement
# carries many rows; the connection caches one prepared statement per size.
INSERT_ROWS = 500  # rows per INSERT (6 parameters each, far below SQLite's 32766)
KEYS_PER_STATEMENT = 200  # chats per seq lookup / last_seq update
CACHED_STATEMENTS = INSERT_ROWS + 2 * KEYS_PER_STATEMENT + 128
Append = tuple[str, str, Sequence[NewEvent]]  # (app_id, chat_id, events)


def append_batch(
    c: sqlite3.Connection, appends: list[Append]
) -> list[list[StoredEvent] | Exception]:
    """Append for many chats at once. When one of them collides with another writer (a
    duplicate seq), each is retried alone, so that only the colliding one fails."""
    c.execute("SAVEPOINT appends")
    try:
        together: list[list[StoredEvent] | Exception] = list(_append_together(c, appends))
    except sqlite3.IntegrityError:
        c.execute("ROLLBACK TO appends")
        c.execute("RELEASE appends")
        return [_append_alone(c, append) for append in appends]
    c.execute("RELEASE appends")
    return together


def _append_alone(c: sqlite3.Connection, append: Append) -> list[StoredEvent] | Exception:
    c.execute("SAVEPOINT one_append")
    try:
        stored = _append_together(c, [append])[0]
    except sqlite3.IntegrityError:
        c.execute("ROLLBACK TO one_append")
        c.execute("RELEASE one_append")
        return Conflict("another writer appended to this chat")
    c.execute("RELEASE one_append")
    return stored


def _append_together(c: sqlite3.Connection, appends: list[Append]) -> list[list[StoredEvent]]:
    refs = [ChatRef(app_id, chat_id) for app_id, chat_id, _ in appends]
    keys = list(dict.fromkeys(refs))
    last = _last_seqs(c, keys)
    results: list[list[StoredEvent]] = []
    rows: list[Any] = []
    for ref, (app_id, chat_id, events) in zip(refs, appends, strict=True):
        base = last[ref]
        stored = [
            StoredEvent(
                app_id, chat_id, base + i, e.type, e.data, e.timestamp, jsontext.dumps(dict(e.data))
            )
            for i, e in enumerate(events, start=1)
        ]
        if stored:
            last[ref] = stored[-1].seq
        rows += [
            (app_id, chat_id, s.seq, s.type, s.encoded, to_millis(s.timestamp)) for s in stored
        ]
        results.append(stored)
    for start in range(0, len(rows), INSERT_ROWS):
        chunk = rows[start : start + INSERT_ROWS]
        c.execute(
            "INSERT INTO events (app_id, chat_id, seq, type, data, ts) VALUES "
            + ",".join(["(?,?,?,?,?,?)"] * len(chunk)),
            [value for row in chunk for value in row],
        )
    for start in range(0, len(keys), KEYS_PER_STATEMENT):
        chunk_keys = keys[start : start + KEYS_PER_STATEMENT]
        c.execute(
            "UPDATE chats SET last_seq=v.column3 FROM (VALUES "
            + ",".join(["(?,?,?)"] * len(chunk_keys))
            + ") AS v WHERE chats.app_id=v.column1 AND chats.chat_id=v.column2",
            [value for ref in chunk_keys for value in (ref.app_id, ref.chat_id, last[ref])],
        )
    return results


def _last_seqs(c: sqlite3.Connection, keys: list[ChatRef]) -> dict[ChatRef, int]:
    """Each chat's highest seq: one row of scalar subqueries (each one an index seek)."""
    found: dict[ChatRef, int] = {}
    one = "(SELECT COALESCE(MAX(seq), 0) FROM events WHERE app_id=? AND chat_id=?)"
    for start in range(0, len(keys), KEYS_PER_STATEMENT):
        chunk = keys[start : start + KEYS_PER_STATEMENT]
        row = c.execute(
            "SELECT " + ",".join([one] * len(chunk)),
            [value for ref in chunk for value in (ref.app_id, ref.chat_id)],
        ).fetchone()
        found.update(zip(chunk, row, strict=True))
    return found


def chat_row(row: Sequence[Any]) -> ChatRecord:
    return rows.chat_from(dict(zip(CHAT_COLUMNS.split(", "), row, strict=True)))


def pending_row(row: Sequence[Any]) -> PendingRequest:
    return rows.pending_from(dict(zip(PENDING_COLUMNS.split(", "), row, strict=True)))


# Webhook outbox (storage/sqlite/store.py: "Webhook outbox")

OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_outbox (
  app_id TEXT NOT NULL, delivery_id TEXT NOT NULL, event_type TEXT NOT NULL, body TEXT NOT NULL,
  created_at INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
  PRIMARY KEY (app_id, delivery_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (app_id, next_attempt_at);
CREATE INDEX IF NOT EXISTS webhook_outbox_age ON webhook_outbox (app_id, created_at, delivery_id);
"""
DELIVERY_COLUMNS = (
    "app_id, delivery_id, event_type, body, created_at, next_attempt_at, attempts, last_error"
)


def enqueue_delivery(
    c: sqlite3.Connection, delivery: WebhookDelivery, max_outbox: int
) -> list[str]:
    """Insert, then trim the app's outbox to `max_outbox` (oldest out); in one transaction."""
    values = (
        delivery.app_id,
        delivery.id,
        delivery.event_type,
        delivery.body,
        to_millis(delivery.created_at),
        to_millis(delivery.next_attempt_at),
        delivery.attempts,
        delivery.last_error,
    )
    c.execute(
        f"INSERT INTO webhook_outbox ({DELIVERY_COLUMNS}) VALUES ({','.join('?' * len(values))}) "
        "ON CONFLICT DO NOTHING",
        values,
    )
    # Newest first, skipping the `max_outbox` kept: what is left is the excess (LIMIT -1: all).
    found = c.execute(
        "DELETE FROM webhook_outbox WHERE app_id=? AND delivery_id IN ("
        "SELECT delivery_id FROM webhook_outbox WHERE app_id=? "
        "ORDER BY created_at DESC, delivery_id DESC LIMIT -1 OFFSET ?) RETURNING delivery_id",
        (delivery.app_id, delivery.app_id, max_outbox),
    ).fetchall()
    return [str(row[0]) for row in found]


def delivery_row(row: Sequence[Any]) -> WebhookDelivery:
    return rows.delivery_from(dict(zip(DELIVERY_COLUMNS.split(", "), row, strict=True)))
