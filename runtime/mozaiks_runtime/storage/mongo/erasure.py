"""The MongoDB store's collections and steps for deletion, retention and erasure
(storage/mongo/store.py: "Deletion, retention, erasure"). FerretDB 1.x: no transactions, so each
step is safe to repeat: rollups are inserted under deterministic ids (a repeat is a duplicate,
skipped), the detail goes next, the chat documents last."""

from __future__ import annotations

import json
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from mozaiks_runtime.storage.base import DeletedRows, ErasureAudit
from mozaiks_runtime.storage.erasure_rows import day_start, fold_id, rollup_user

Doc = dict[str, Any]
ROLLUPS = "usage_rollup"
AUDIT = "erasure_audit"
DUPLICATE_KEY = 11000
READ_BATCH = 1000  # documents per cursor batch of an export or erasure
EVENTS_PER_DELETE = 20_000  # see _delete_events
MONGO_DELETE_CHUNK = 100  # chats per delete_chats step

ERASURE_INDEXES: list[tuple[str, list[tuple[str, int]], Doc]] = [
    ("usage", [("app_id", ASCENDING), ("chat_id", ASCENDING)], {"name": "usage_by_chat"}),
    ("chats", [("app_id", ASCENDING), ("updated_at", ASCENDING)], {"name": "chats_by_update"}),
    (
        ROLLUPS,
        [("app_id", ASCENDING), ("user_id", ASCENDING), ("created_at", ASCENDING)],
        {"name": "rollup_by_user"},
    ),
    (ROLLUPS, [("app_id", ASCENDING), ("created_at", ASCENDING)], {"name": "rollup_by_time"}),
    (
        AUDIT,
        [("app_id", ASCENDING), ("audit_id", ASCENDING)],
        {"unique": True, "name": "audit_key"},
    ),
    (AUDIT, [("app_id", ASCENDING), ("erased_at", DESCENDING)], {"name": "audit_by_time"}),
]


async def fold_usage(
    db: AsyncDatabase[Doc], app_id: str, chat_ids: list[str], keep_user: bool
) -> None:
    """Insert the chats' per-call usage as rollups (summed here: FerretDB 1.x's $group sums
    only its first accumulator correctly)."""
    sums: dict[tuple[str, str, str, str, str], list[float]] = {}
    fields = ("chat_id", "user_id", "workflow_name", "model", "day")
    wanted = {f: True for f in (*fields, "prompt_tokens", "completion_tokens", "cost")}
    query = {"app_id": app_id, "chat_id": {"$in": chat_ids}}
    async for doc in db.usage.find(query, {**wanted, "_id": False}):
        key = (doc["chat_id"], doc["user_id"], doc["workflow_name"], doc["model"], doc["day"])
        acc = sums.setdefault(key, [0, 0, 0.0, 0])
        acc[0] += doc["prompt_tokens"]
        acc[1] += doc["completion_tokens"]
        acc[2] += doc["cost"]
        acc[3] += 1
    docs = []
    for (chat_id, user_id, workflow, model, day), (prompt, completion, cost, calls) in sums.items():
        user = rollup_user(user_id, keep_user=keep_user)
        docs.append(
            {
                "_id": fold_id(app_id, chat_id, user, workflow, model, day),
                "app_id": app_id,
                "user_id": user,
                "workflow_name": workflow,
                "model": model,
                "day": day,
                "created_at": day_start(day),
                "prompt_tokens": int(prompt),
                "completion_tokens": int(completion),
                "total_tokens": int(prompt + completion),
                "cost": float(cost),
                "calls": int(calls),
            }
        )
    if not docs:
        return
    try:
        await db[ROLLUPS].insert_many(docs, ordered=False)
    except BulkWriteError as exc:  # folded by an earlier try that was cut short
        errors = (exc.details or {}).get("writeErrors") or []
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise


async def delete_chats(
    db: AsyncDatabase[Doc], app_id: str, chat_ids: list[str], keep_user: bool
) -> DeletedRows:
    await fold_usage(db, app_id, chat_ids, keep_user)
    query = {"app_id": app_id, "chat_id": {"$in": chat_ids}}
    counts = {"events": await _delete_events(db, app_id, chat_ids)}
    for collection in ("pending", "inbox", "usage"):
        counts[collection] = (await db[collection].delete_many(query)).deleted_count
    chats = (await db.chats.delete_many(query)).deleted_count
    return DeletedRows(chats, counts["events"], counts["pending"], counts["inbox"], counts["usage"])


async def _delete_events(db: AsyncDatabase[Doc], app_id: str, chat_ids: list[str]) -> int:
    """The chats' events, at most EVENTS_PER_DELETE per delete: FerretDB 1.x's SQLite backend
    deletes what a filter matched with one statement binding every matched id, which fails past
    SQLite's 32,766 variables. Chats are grouped by their last seq (a group's delete takes all
    of its chats' events); a longer log goes in seq windows, then a sweep takes any event past
    its recorded last seq (an append cut short between its insert and that update)."""
    last: dict[str, int] = {}
    query = {"app_id": app_id, "chat_id": {"$in": chat_ids}}
    async for doc in db.chats.find(query, {"chat_id": True, "last_seq": True, "_id": False}):
        last[doc["chat_id"]] = int(doc.get("last_seq") or 0)
    deleted = 0
    group: list[str] = []
    size = 0
    long_logs: list[str] = []
    for chat_id in chat_ids:
        n = last.get(chat_id, 0)
        if n > EVENTS_PER_DELETE:
            long_logs.append(chat_id)
            for low in range(0, n, EVENTS_PER_DELETE):
                seqs = {"$gt": low, "$lte": low + EVENTS_PER_DELETE}
                window = {"app_id": app_id, "chat_id": chat_id, "seq": seqs}
                deleted += (await db.events.delete_many(window)).deleted_count
            continue
        if group and size + n > EVENTS_PER_DELETE:
            deleted += await _delete_group(db, app_id, group)
            group, size = [], 0
        group.append(chat_id)
        size += n
    if group:
        deleted += await _delete_group(db, app_id, group)
    if long_logs:  # events past a long log's recorded last seq
        deleted += await _delete_group(db, app_id, long_logs)
    return deleted


async def _delete_group(db: AsyncDatabase[Doc], app_id: str, chat_ids: list[str]) -> int:
    result = await db.events.delete_many({"app_id": app_id, "chat_id": {"$in": chat_ids}})
    return result.deleted_count


def audit_doc(audit: ErasureAudit) -> Doc:
    return {
        "app_id": audit.app_id,
        "audit_id": audit.audit_id,
        "user_id": audit.user_id,
        "requested_by": audit.requested_by,
        "counts": json.dumps(dict(audit.counts), sort_keys=True),
        "sha256": audit.sha256,
        "erased_at": audit.erased_at,
    }
