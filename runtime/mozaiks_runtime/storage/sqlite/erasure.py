# SQL text is built only from this module's constants; every value is a bound parameter.
# ruff: noqa: S608
"""The embedded store's tables and statements for deletion, retention and erasure
(storage/sqlite/store.py: "Deletion, retention, erasure")."""

from __future__ import annotations

import json
import sqlite3

from mozaiks_runtime.storage.base import DeletedRows, ErasureAudit, to_millis
from mozaiks_runtime.storage.erasure_rows import day_start, fold_id, rollup_user

ERASURE_SCHEMA = """
CREATE INDEX IF NOT EXISTS usage_by_chat ON usage (app_id, chat_id);
CREATE INDEX IF NOT EXISTS chats_by_update ON chats (app_id, updated_at);
CREATE TABLE IF NOT EXISTS usage_rollup (
  fold_id TEXT PRIMARY KEY, app_id TEXT NOT NULL, user_id TEXT NOT NULL,
  workflow_name TEXT NOT NULL, model TEXT NOT NULL, day TEXT NOT NULL, created_at INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, total_tokens INTEGER NOT NULL,
  cost REAL NOT NULL, calls INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS usage_rollup_by_time ON usage_rollup (app_id, created_at);
CREATE INDEX IF NOT EXISTS usage_rollup_by_user ON usage_rollup (app_id, user_id, created_at);
CREATE TABLE IF NOT EXISTS erasure_audit (
  app_id TEXT NOT NULL, audit_id TEXT NOT NULL, user_id TEXT NOT NULL,
  requested_by TEXT NOT NULL, counts TEXT NOT NULL, sha256 TEXT NOT NULL,
  erased_at INTEGER NOT NULL,
  PRIMARY KEY (app_id, audit_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS erasure_audit_by_time ON erasure_audit (app_id, erased_at);
CREATE TRIGGER IF NOT EXISTS erasure_audit_no_update BEFORE UPDATE ON erasure_audit
BEGIN SELECT RAISE(ABORT, 'the erasure audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS erasure_audit_no_delete BEFORE DELETE ON erasure_audit
BEGIN SELECT RAISE(ABORT, 'the erasure audit is append-only'); END;
"""

ROLLUP_COLUMNS = (
    "fold_id, app_id, user_id, workflow_name, model, day, created_at, prompt_tokens, "
    "completion_tokens, total_tokens, cost, calls"
)
AUDIT_COLUMNS = "app_id, audit_id, user_id, requested_by, counts, sha256, erased_at"
# Children first, the chat row last: a deletion cut short leaves the chat, to be deleted again.
_CHILD_TABLES = ("events", "pending", "inbox", "usage")


def delete_chats(
    c: sqlite3.Connection, app_id: str, chat_ids: list[str], keep_user: bool
) -> DeletedRows:
    """Fold the chats' usage into rollups, then delete their rows; in one transaction."""
    marks = ",".join("?" * len(chat_ids))
    where = f"app_id=? AND chat_id IN ({marks})"
    args = (app_id, *chat_ids)
    groups = c.execute(
        "SELECT chat_id, user_id, workflow_name, model, day, SUM(prompt_tokens), "
        f"SUM(completion_tokens), SUM(cost), COUNT(*) FROM usage WHERE {where} "
        "GROUP BY chat_id, user_id, workflow_name, model, day",
        args,
    ).fetchall()
    rollups = []
    for chat_id, user_id, workflow, model, day, prompt, completion, cost, calls in groups:
        user = rollup_user(user_id, keep_user=keep_user)
        ident = fold_id(app_id, chat_id, user, workflow, model, day)
        moment = to_millis(day_start(day))
        total = prompt + completion
        rollups.append(
            (
                ident,
                app_id,
                user,
                workflow,
                model,
                day,
                moment,
                prompt,
                completion,
                total,
                cost,
                calls,
            )
        )
    c.executemany(
        f"INSERT INTO usage_rollup ({ROLLUP_COLUMNS}) VALUES ({','.join('?' * 12)}) "
        "ON CONFLICT DO NOTHING",
        rollups,
    )
    counts = {t: c.execute(f"DELETE FROM {t} WHERE {where}", args).rowcount for t in _CHILD_TABLES}
    chats = c.execute(f"DELETE FROM chats WHERE {where}", args).rowcount
    return DeletedRows(chats, counts["events"], counts["pending"], counts["inbox"], counts["usage"])


def audit_row(audit: ErasureAudit) -> tuple[object, ...]:
    return (
        audit.app_id,
        audit.audit_id,
        audit.user_id,
        audit.requested_by,
        json.dumps(dict(audit.counts), sort_keys=True),
        audit.sha256,
        to_millis(audit.erased_at),
    )
