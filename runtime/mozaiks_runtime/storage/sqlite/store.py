# SQL text is built only from constants (schema.py); every value is a bound parameter.
# ruff: noqa: S608
"""The embedded Store: one SQLite file, the zero-configuration default.

Why the standard `sqlite3` module on one dedicated thread (worker.py) rather than
aiosqlite: aiosqlite also runs a thread per connection, but commits each call on its own; ours
groups the writes that queue up into one transaction. One connection on one thread serialises
every write of this process, which is what keeps `seq` gap-free; `BEGIN IMMEDIATE` covers a
second process on the same file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from mozaiks_runtime.storage.base import (
    ERASED_USER,
    ChatPage,
    ChatRecord,
    ChatStatus,
    DeletedRows,
    ErasureAudit,
    GroupBy,
    InboxItem,
    InboxKind,
    Lease,
    NewEvent,
    PendingRequest,
    PendingStatus,
    StoredEvent,
    UsageRecord,
    UsageRollup,
    UsageTotal,
    WebhookDelivery,
    decode_cursor,
    from_millis,
    to_millis,
    utcnow,
)
from mozaiks_runtime.storage.erasure_rows import audit_from, chunks, merge_rollups
from mozaiks_runtime.storage.sqlite.checkpoints import WRITER_CHECKPOINT_PAGES, Checkpointer
from mozaiks_runtime.storage.sqlite.erasure import (
    AUDIT_COLUMNS,
    ERASURE_SCHEMA,
    audit_row,
    delete_chats,
)
from mozaiks_runtime.storage.sqlite.schema import (
    CACHED_STATEMENTS,
    CHAT_COLUMNS,
    DELIVERY_COLUMNS,
    GROUP_COLUMNS,
    OUTBOX_SCHEMA,
    PENDING_COLUMNS,
    SCHEMA,
    append_batch,
    chat_row,
    delivery_row,
    enqueue_delivery,
    pending_row,
)
from mozaiks_runtime.storage.sqlite.worker import SqliteWorker

T = TypeVar("T")
READ_PAGE = 1000  # rows per read of an export or erasure


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._worker = SqliteWorker(self._open)
        self._checkpointer = Checkpointer(path)

    def _open(self) -> sqlite3.Connection:
        if sqlite3.sqlite_version_info < (3, 35):  # UPDATE ... FROM, RETURNING
            raise RuntimeError(f"SQLite 3.35 or newer is needed, found {sqlite3.sqlite_version}")
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self._path,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=CACHED_STATEMENTS,
        )
        # WAL: readers never block the writer; NORMAL sync is durable across process crashes
        # (SIGKILL), which is the failure we promise to survive, and much faster than FULL.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
        conn.executescript(SCHEMA)
        conn.executescript(OUTBOX_SCHEMA)
        conn.executescript(ERASURE_SCHEMA)
        return conn

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        result: T = await self._worker.submit(fn)
        return result

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A write of one statement (each of ours is: see update_chat's RETURNING)."""
        result: T = await self._worker.submit(fn, write=True, atomic=True)
        return result

    async def start(self) -> None:
        await self._worker.start()
        self._checkpointer.start()

    async def close(self) -> None:
        await self._checkpointer.stop()
        await self._worker.stop()

    async def ping(self) -> None:
        await self._read(lambda c: c.execute("SELECT 1").fetchone())

    # Chats

    async def create_chat(self, chat: ChatRecord) -> ChatRecord:
        values = (
            chat.app_id,
            chat.chat_id,
            chat.user_id,
            chat.workflow_name,
            chat.workflow_version,
            chat.status,
            to_millis(chat.created_at),
            to_millis(chat.updated_at),
            chat.last_seq,
            chat.last_agent,
            json.dumps(dict(chat.context)),
            chat.total_tokens,
        )
        sql = f"INSERT INTO chats ({CHAT_COLUMNS}) VALUES ({','.join('?' * len(values))})"
        await self._write(lambda c: c.execute(sql, values))
        return chat

    async def get_chat(self, app_id: str, chat_id: str) -> ChatRecord | None:
        sql = f"SELECT {CHAT_COLUMNS} FROM chats WHERE app_id=? AND chat_id=?"
        row = await self._read(lambda c: c.execute(sql, (app_id, chat_id)).fetchone())
        return chat_row(row) if row else None

    async def list_chats(
        self,
        app_id: str,
        *,
        user_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ChatPage:
        where: list[str] = ["app_id=?"]
        args: list[Any] = [app_id]
        if user_id is not None:
            where.append("user_id=?")
            args.append(user_id)
        if cursor:
            millis, after_chat = decode_cursor(cursor)
            where.append("(created_at < ? OR (created_at = ? AND chat_id < ?))")
            args += [millis, millis, after_chat]
        sql = (
            f"SELECT {CHAT_COLUMNS} FROM chats WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC, chat_id DESC LIMIT ?"
        )
        found = await self._read(lambda c: c.execute(sql, (*args, limit + 1)).fetchall())
        return ChatPage.from_overfetch([chat_row(r) for r in found], limit)

    async def update_chat(
        self,
        app_id: str,
        chat_id: str,
        *,
        status: ChatStatus | None = None,
        last_agent: str | None = None,
        context: Mapping[str, Any] | None = None,
        add_tokens: int = 0,
        workflow_version: str | None = None,
    ) -> ChatRecord | None:
        sets = ["updated_at=?", "total_tokens=total_tokens+?"]
        args: list[Any] = [to_millis(utcnow()), add_tokens]
        for column, value in (
            ("status", status),
            ("last_agent", last_agent),
            ("workflow_version", workflow_version),
        ):
            if value is not None:
                sets.append(f"{column}=?")
                args.append(value)
        if context is not None:
            sets.append("context=?")
            args.append(json.dumps(dict(context)))
        sql = (
            f"UPDATE chats SET {','.join(sets)} WHERE app_id=? AND chat_id=? "
            f"RETURNING {CHAT_COLUMNS}"
        )
        found = await self._write(lambda c: c.execute(sql, (*args, app_id, chat_id)).fetchall())
        return chat_row(found[0]) if found else None

    async def chats_in_status(
        self, app_id: str, statuses: Collection[ChatStatus], limit: int = 500
    ) -> list[ChatRecord]:
        wanted = list(statuses)
        sql = (
            f"SELECT {CHAT_COLUMNS} FROM chats WHERE app_id=? "
            f"AND status IN ({','.join('?' * len(wanted))}) ORDER BY updated_at LIMIT ?"
        )
        found = await self._read(lambda c: c.execute(sql, (app_id, *wanted, limit)).fetchall())
        return [chat_row(r) for r in found]

    # Events

    async def append_events(
        self, app_id: str, chat_id: str, events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        if not events:
            return []
        stored: list[StoredEvent] = await self._worker.submit_batched(
            append_batch, (app_id, chat_id, events)
        )
        return stored

    async def events_after(
        self, app_id: str, chat_id: str, after_seq: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        sql = (
            "SELECT app_id, chat_id, seq, type, data, ts FROM events "
            "WHERE app_id=? AND chat_id=? AND seq>? ORDER BY seq LIMIT ?"
        )
        found = await self._read(
            lambda c: c.execute(sql, (app_id, chat_id, after_seq, limit)).fetchall()
        )
        return [
            StoredEvent(a, ch, s, t, json.loads(d), from_millis(ts), d)
            for a, ch, s, t, d, ts in found
        ]

    async def last_seq(self, app_id: str, chat_id: str) -> int:
        sql = "SELECT COALESCE(MAX(seq), 0) FROM events WHERE app_id=? AND chat_id=?"
        row = await self._read(lambda c: c.execute(sql, (app_id, chat_id)).fetchone())
        return int(row[0])

    # Pending requests

    async def create_pending(self, request: PendingRequest) -> None:
        values = (
            request.app_id,
            request.request_id,
            request.chat_id,
            request.user_id,
            request.kind,
            request.agent,
            json.dumps(dict(request.payload)),
            to_millis(request.created_at),
            to_millis(request.expires_at),
            request.status,
            json.dumps(request.answer),
            to_millis(request.answered_at) if request.answered_at else None,
        )
        sql = f"INSERT INTO pending ({PENDING_COLUMNS}) VALUES ({','.join('?' * len(values))})"
        await self._write(lambda c: c.execute(sql, values))

    async def get_pending(self, app_id: str, request_id: str) -> PendingRequest | None:
        sql = f"SELECT {PENDING_COLUMNS} FROM pending WHERE app_id=? AND request_id=?"
        row = await self._read(lambda c: c.execute(sql, (app_id, request_id)).fetchone())
        return pending_row(row) if row else None

    async def resolve_pending(
        self, app_id: str, request_id: str, *, answer: Any, status: PendingStatus = "answered"
    ) -> PendingRequest | None:
        sql = (
            "UPDATE pending SET status=?, answer=?, answered_at=? "
            f"WHERE app_id=? AND request_id=? AND status='open' RETURNING {PENDING_COLUMNS}"
        )
        args = (status, json.dumps(answer), to_millis(utcnow()), app_id, request_id)
        found = await self._write(lambda c: c.execute(sql, args).fetchall())
        return pending_row(found[0]) if found else None

    async def list_open_pending(self, app_id: str, chat_id: str) -> list[PendingRequest]:
        sql = (
            f"SELECT {PENDING_COLUMNS} FROM pending WHERE app_id=? AND chat_id=? "
            "AND status='open' ORDER BY created_at, request_id"
        )
        found = await self._read(lambda c: c.execute(sql, (app_id, chat_id)).fetchall())
        return [pending_row(r) for r in found]

    async def forget_answer(self, app_id: str, request_id: str) -> None:
        sql = "UPDATE pending SET answer=NULL WHERE app_id=? AND request_id=? AND status!='open'"
        await self._write(lambda c: c.execute(sql, (app_id, request_id)))

    async def expire_pending(self, app_id: str, now: datetime) -> int:
        sql = (
            "UPDATE pending SET status='expired' WHERE app_id=? AND status='open' AND expires_at<=?"
        )
        return await self._write(lambda c: c.execute(sql, (app_id, to_millis(now))).rowcount)

    # Usage

    async def record_usage(self, record: UsageRecord) -> None:
        values = (
            record.app_id,
            record.chat_id,
            record.user_id,
            record.workflow_name,
            record.agent,
            record.model,
            record.prompt_tokens,
            record.completion_tokens,
            record.total_tokens,
            record.cost,
            record.duration_sec,
            to_millis(record.created_at),
            record.created_at.strftime("%Y-%m-%d"),
        )
        sql = (
            "INSERT INTO usage (app_id, chat_id, user_id, workflow_name, agent, model, "
            "prompt_tokens, completion_tokens, total_tokens, cost, duration_sec, created_at, day) "
            f"VALUES ({','.join('?' * len(values))})"
        )
        await self._write(lambda c: c.execute(sql, values))

    async def sum_tokens(self, app_id: str, user_id: str | None, since: datetime) -> int:
        # Per-call rows and the rollups of deleted chats (storage/sqlite/erasure.py) alike.
        where = "app_id=? AND created_at>=?"
        args: tuple[Any, ...] = (app_id, to_millis(since))
        if user_id is not None:
            where += " AND user_id=?"
            args += (user_id,)
        sql = (
            f"SELECT COALESCE(SUM(t), 0) FROM (SELECT total_tokens AS t FROM usage WHERE {where} "
            f"UNION ALL SELECT total_tokens FROM usage_rollup WHERE {where})"
        )
        row = await self._read(lambda c: c.execute(sql, args + args).fetchone())
        return int(row[0])

    async def usage_totals(
        self,
        app_id: str,
        user_id: str | None,
        *,
        start: datetime,
        end: datetime,
        group_by: GroupBy,
    ) -> list[UsageTotal]:
        column = GROUP_COLUMNS[group_by]
        where = "app_id=? AND created_at>=? AND created_at<?"
        args: tuple[Any, ...] = (app_id, to_millis(start), to_millis(end))
        if user_id is not None:
            where += " AND user_id=?"
            args += (user_id,)
        fields = f"{column} AS k, prompt_tokens, completion_tokens, total_tokens, cost"
        sql = (
            "SELECT k, SUM(prompt_tokens), SUM(completion_tokens), SUM(total_tokens), SUM(cost), "
            f"SUM(n) FROM (SELECT {fields}, 1 AS n FROM usage WHERE {where} "
            f"UNION ALL SELECT {fields}, calls FROM usage_rollup WHERE {where}) "
            "GROUP BY k ORDER BY k"
        )
        found = await self._read(lambda c: c.execute(sql, args + args).fetchall())
        return [
            UsageTotal(k, int(p), int(co), int(t), float(cost), int(n))
            for k, p, co, t, cost, n in found
        ]

    # Leases

    async def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> Lease | None:
        now = utcnow()
        expires = to_millis(now) + int(ttl_seconds * 1000)
        sql = (
            "INSERT INTO leases (name, owner, expires_at) VALUES (?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET owner=excluded.owner, expires_at=excluded.expires_at "
            "WHERE leases.owner=excluded.owner OR leases.expires_at<=?"
        )
        args = (name, owner, expires, to_millis(now))
        changed = await self._write(lambda c: c.execute(sql, args).rowcount)
        return Lease(name, owner, from_millis(expires)) if changed == 1 else None

    async def release_lease(self, name: str, owner: str) -> None:
        sql = "DELETE FROM leases WHERE name=? AND owner=?"
        await self._write(lambda c: c.execute(sql, (name, owner)))

    async def held_leases(self, names: Sequence[str]) -> set[str]:
        wanted = list(names)
        if not wanted:
            return set()
        sql = (
            f"SELECT name FROM leases WHERE name IN ({','.join('?' * len(wanted))}) "
            "AND expires_at>?"
        )
        now = to_millis(utcnow())
        found = await self._read(lambda c: c.execute(sql, (*wanted, now)).fetchall())
        return {name for (name,) in found}

    # Chat inboxes

    async def push_inbox(
        self, app_id: str, chat_id: str, kind: InboxKind, payload: Mapping[str, Any]
    ) -> InboxItem:
        # One statement: SQLite's write lock orders pushes of every process on the file.
        now = utcnow()
        sql = (
            "INSERT INTO inbox (app_id, chat_id, n, kind, payload, created_at) "
            "SELECT ?, ?, COALESCE(MAX(n), 0) + 1, ?, ?, ? FROM inbox "
            "WHERE app_id=? AND chat_id=? RETURNING n"
        )
        args = (app_id, chat_id, kind, json.dumps(dict(payload)), to_millis(now), app_id, chat_id)
        found = await self._write(lambda c: c.execute(sql, args).fetchall())
        return InboxItem(app_id, chat_id, int(found[0][0]), kind, dict(payload), now)

    async def list_inbox(
        self, app_id: str, chat_ids: Sequence[str], kind: InboxKind | None = None
    ) -> list[InboxItem]:
        wanted = list(chat_ids)
        if not wanted:
            return []
        sql = (
            "SELECT chat_id, n, kind, payload, created_at FROM inbox WHERE app_id=? "
            f"AND chat_id IN ({','.join('?' * len(wanted))})"
        )
        args: list[Any] = [app_id, *wanted]
        if kind is not None:
            sql += " AND kind=?"
            args.append(kind)
        sql += " ORDER BY chat_id, n"
        found = await self._read(lambda c: c.execute(sql, args).fetchall())
        return [
            InboxItem(app_id, chat, n, k, json.loads(p), from_millis(ts))
            for chat, n, k, p, ts in found
        ]

    async def remove_inbox(self, app_id: str, chat_id: str, n: int) -> bool:
        sql = "DELETE FROM inbox WHERE app_id=? AND chat_id=? AND n=?"
        removed = await self._write(lambda c: c.execute(sql, (app_id, chat_id, n)).rowcount)
        return bool(removed)

    # Workflow versions

    async def save_workflow_version(
        self, app_id: str, name: str, version: str, definition: str
    ) -> None:
        sql = (
            "INSERT INTO workflow_versions (app_id, name, version, definition, created_at) "
            "VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING"
        )
        args = (app_id, name, version, definition, to_millis(utcnow()))
        await self._write(lambda c: c.execute(sql, args))

    async def get_workflow_version(self, app_id: str, name: str, version: str) -> str | None:
        sql = "SELECT definition FROM workflow_versions WHERE app_id=? AND name=? AND version=?"
        row = await self._read(lambda c: c.execute(sql, (app_id, name, version)).fetchone())
        return str(row[0]) if row else None

    # Webhook outbox

    async def enqueue_delivery(self, delivery: WebhookDelivery, *, max_outbox: int) -> list[str]:
        dropped: list[str] = await self._worker.submit(
            lambda c: enqueue_delivery(c, delivery, max_outbox), write=True
        )
        return dropped

    async def claim_deliveries(
        self, app_id: str, *, now: datetime, claim_seconds: float, limit: int
    ) -> list[WebhookDelivery]:
        # One statement: atomic, and BEGIN IMMEDIATE keeps another process on the file out.
        sql = (
            "UPDATE webhook_outbox SET next_attempt_at=? WHERE app_id=? AND delivery_id IN ("
            "SELECT delivery_id FROM webhook_outbox WHERE app_id=? AND next_attempt_at<=? "
            f"ORDER BY next_attempt_at, created_at LIMIT ?) RETURNING {DELIVERY_COLUMNS}"
        )
        until = to_millis(now) + int(claim_seconds * 1000)
        args = (until, app_id, app_id, to_millis(now), limit)
        found = await self._write(lambda c: c.execute(sql, args).fetchall())
        return sorted((delivery_row(r) for r in found), key=lambda d: (d.created_at, d.id))

    async def reschedule_delivery(
        self,
        app_id: str,
        delivery_id: str,
        *,
        next_attempt_at: datetime,
        attempts: int,
        last_error: str | None,
    ) -> None:
        sql = (
            "UPDATE webhook_outbox SET next_attempt_at=?, attempts=?, last_error=? "
            "WHERE app_id=? AND delivery_id=?"
        )
        args = (to_millis(next_attempt_at), attempts, last_error, app_id, delivery_id)
        await self._write(lambda c: c.execute(sql, args))

    async def delete_delivery(self, app_id: str, delivery_id: str) -> None:
        sql = "DELETE FROM webhook_outbox WHERE app_id=? AND delivery_id=?"
        await self._write(lambda c: c.execute(sql, (app_id, delivery_id)))

    async def count_deliveries(self, app_id: str) -> int:
        sql = "SELECT COUNT(*) FROM webhook_outbox WHERE app_id=?"
        row = await self._read(lambda c: c.execute(sql, (app_id,)).fetchone())
        return int(row[0])

    # Deletion, retention, erasure

    async def delete_chats(
        self, app_id: str, chat_ids: Sequence[str], *, keep_user: bool = True
    ) -> DeletedRows:
        total = DeletedRows()
        for chunk in chunks(list(dict.fromkeys(chat_ids))):
            total += await self._delete_chunk(app_id, chunk, keep_user)
        return total

    async def _delete_chunk(self, app_id: str, ids: list[str], keep_user: bool) -> DeletedRows:
        deleted: DeletedRows = await self._worker.submit(
            lambda c: delete_chats(c, app_id, ids, keep_user), write=True
        )
        return deleted

    async def idle_chats(self, app_id: str, before: datetime, limit: int) -> list[ChatRecord]:
        sql = (
            f"SELECT {CHAT_COLUMNS} FROM chats WHERE app_id=? AND updated_at<? "
            "AND status NOT IN ('running', 'waiting') ORDER BY updated_at, chat_id LIMIT ?"
        )
        args = (app_id, to_millis(before), limit)
        found = await self._read(lambda c: c.execute(sql, args).fetchall())
        return [chat_row(r) for r in found]

    async def _rows(self, sql: str, args: Sequence[Any]) -> list[Any]:
        found: list[Any] = await self._read(lambda c: c.execute(sql, args).fetchall())
        return found

    async def events_of_chats(
        self, app_id: str, chat_ids: Sequence[str]
    ) -> AsyncIterator[StoredEvent]:
        for chunk in chunks(sorted(set(chat_ids))):
            sql = (
                "SELECT app_id, chat_id, seq, type, data, ts FROM events WHERE app_id=? "
                f"AND chat_id IN ({','.join('?' * len(chunk))}) "
                "AND (chat_id>? OR (chat_id=? AND seq>?)) ORDER BY chat_id, seq LIMIT ?"
            )
            after: tuple[str, int] = ("", 0)
            while True:
                args = (app_id, *chunk, after[0], after[0], after[1], READ_PAGE)
                found = await self._rows(sql, args)
                for a, ch, seq, t, d, ts in found:
                    yield StoredEvent(a, ch, seq, t, json.loads(d), from_millis(ts), d)
                if len(found) < READ_PAGE:
                    break
                after = (found[-1][1], found[-1][2])

    async def usage_of_chats(
        self, app_id: str, chat_ids: Sequence[str]
    ) -> AsyncIterator[UsageRecord]:
        for chunk in chunks(sorted(set(chat_ids))):
            sql = (
                "SELECT id, app_id, chat_id, user_id, workflow_name, agent, model, prompt_tokens, "
                "completion_tokens, duration_sec, cost, created_at FROM usage WHERE app_id=? "
                f"AND chat_id IN ({','.join('?' * len(chunk))}) "
                "AND (chat_id>? OR (chat_id=? AND (created_at>? OR (created_at=? AND id>?)))) "
                "ORDER BY chat_id, created_at, id LIMIT ?"
            )
            after: tuple[str, int, int] = ("", -1, 0)
            while True:
                ch0, ts0, id0 = after
                args = (app_id, *chunk, ch0, ch0, ts0, ts0, id0, READ_PAGE)
                found = await self._rows(sql, args)
                for _, a, ch, u, wf, ag, m, p, co, d, cost, ts in found:
                    yield UsageRecord(a, ch, u, wf, ag, m, p, co, d, cost, from_millis(ts))
                if len(found) < READ_PAGE:
                    break
                after = (found[-1][2], found[-1][11], found[-1][0])

    async def pending_of_chats(
        self, app_id: str, chat_ids: Sequence[str]
    ) -> AsyncIterator[PendingRequest]:
        for chunk in chunks(sorted(set(chat_ids))):
            sql = (
                f"SELECT {PENDING_COLUMNS} FROM pending WHERE app_id=? "
                f"AND chat_id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY chat_id, created_at, request_id"
            )
            for row in await self._rows(sql, (app_id, *chunk)):
                yield pending_row(row)

    async def usage_rollups(self, app_id: str, user_id: str) -> list[UsageRollup]:
        sql = (
            "SELECT day, workflow_name, model, prompt_tokens, completion_tokens, cost, calls "
            "FROM usage_rollup WHERE app_id=? AND user_id=?"
        )
        found = await self._read(lambda c: c.execute(sql, (app_id, user_id)).fetchall())
        names = ("day", "workflow_name", "model", "prompt_tokens", "completion_tokens", "cost")
        return merge_rollups(
            app_id, user_id, (dict(zip((*names, "calls"), r, strict=True)) for r in found)
        )

    async def anonymize_rollups(self, app_id: str, user_id: str) -> int:
        sql = "UPDATE usage_rollup SET user_id=? WHERE app_id=? AND user_id=?"
        args = (ERASED_USER, app_id, user_id)
        return await self._write(lambda c: c.execute(sql, args).rowcount)

    async def append_audit(self, audit: ErasureAudit) -> None:
        sql = f"INSERT INTO erasure_audit ({AUDIT_COLUMNS}) VALUES ({','.join('?' * 7)})"
        values = audit_row(audit)
        await self._write(lambda c: c.execute(sql, values))

    async def list_audit(self, app_id: str, *, limit: int = 50) -> list[ErasureAudit]:
        sql = (
            f"SELECT {AUDIT_COLUMNS} FROM erasure_audit WHERE app_id=? "
            "ORDER BY erased_at DESC, audit_id DESC LIMIT ?"
        )
        found = await self._read(lambda c: c.execute(sql, (app_id, limit)).fetchall())
        names = AUDIT_COLUMNS.split(", ")
        return [audit_from(dict(zip(names, r, strict=True)), from_millis(r[-1])) for r in found]
