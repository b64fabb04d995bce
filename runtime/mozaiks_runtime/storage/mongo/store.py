"""The MongoDB Store, on PyMongo's native async client, limited to what FerretDB 1.x supports.

No transactions, change streams, $lookup/$facet, nested arrays or `$`/`.` keys: free-form
values are JSON strings (see rows.py), and seq numbers rely on a unique index plus a per-chat
lock in this process (the run lease keeps other replicas from writing the same chat).
Every query carries `app_id`. findAndModify takes no projection (FerretDB 1.x lacks it), so
records are built from whole documents (rows.py ignores `_id`).
"""

from __future__ import annotations

import asyncio
import json
import random
import weakref
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from mozaiks_runtime import jsontext
from mozaiks_runtime.errors import Conflict, StorageUnavailable
from mozaiks_runtime.storage import rows
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
    utcnow,
)
from mozaiks_runtime.storage.erasure_rows import audit_from, chunks, merge_rollups
from mozaiks_runtime.storage.mongo.docs import (
    INDEXES,
    OUTBOX,
    OUTBOX_INDEXES,
    chat_doc,
    delivery_doc,
    event_doc,
    event_of,
    pending_doc,
    usage_doc,
    usage_of,
)
from mozaiks_runtime.storage.mongo.erasure import (
    AUDIT,
    ERASURE_INDEXES,
    MONGO_DELETE_CHUNK,
    READ_BATCH,
    ROLLUPS,
    audit_doc,
    delete_chats,
)

Doc = dict[str, Any]
_GROUP_FIELDS: dict[str, str] = {
    "day": "day",
    "user": "user_id",
    "workflow": "workflow_name",
    "model": "model",
}
_NO_ID = {"_id": False}
DUPLICATE_KEY = 11000
SEQ_HINTS = 10_000  # chats whose last seq is remembered
INBOX_RETRIES = 32  # pushes racing for one chat's next n


def _wrote_nothing_duplicate(exc: BulkWriteError) -> bool:
    """The insert failed on its first document, on a duplicate key: nothing was written."""
    details = exc.details or {}
    errors = details.get("writeErrors") or []
    return (
        details.get("nInserted", 0) == 0
        and bool(errors)
        and errors[0].get("index") == 0
        and errors[0].get("code") == DUPLICATE_KEY
    )


@asynccontextmanager
async def _driver_errors() -> AsyncIterator[None]:
    try:
        yield
    except DuplicateKeyError as exc:
        raise Conflict("the record exists already") from exc
    except PyMongoError as exc:
        raise StorageUnavailable(f"MongoDB: {exc}") from exc


class MongoStore:
    def __init__(self, uri: str, database: str, *, timeout_ms: int = 5000) -> None:
        self._client: AsyncMongoClient[Doc] = AsyncMongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=timeout_ms, connect=False
        )
        self._db: AsyncDatabase[Doc] = self._client[database]
        self._chat_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        # Requests leave `open` one at a time in this process: FerretDB applies a conditional
        # update as a read then a write, so two concurrent answers could both find the request
        # open and both win (MongoDB itself is atomic; across replicas FerretDB stays racy).
        self._pending_lock = asyncio.Lock()
        # The last seq this process wrote per chat, most recent last (dicts keep order).
        self._seq_hints: dict[tuple[str, str], int] = {}

    async def start(self) -> None:
        async with _driver_errors():
            for collection, keys, options in [*INDEXES, *OUTBOX_INDEXES, *ERASURE_INDEXES]:
                await self._db[collection].create_index(keys, **options)

    async def close(self) -> None:
        await self._client.close()

    async def ping(self) -> None:
        async with _driver_errors():
            await self._db.command("ping")

    # Chats

    async def create_chat(self, chat: ChatRecord) -> ChatRecord:
        doc = chat_doc(chat)
        async with _driver_errors():
            await self._db.chats.insert_one(doc)
        return chat

    async def get_chat(self, app_id: str, chat_id: str) -> ChatRecord | None:
        async with _driver_errors():
            doc = await self._db.chats.find_one({"app_id": app_id, "chat_id": chat_id}, _NO_ID)
        return rows.chat_from(doc) if doc else None

    async def list_chats(
        self,
        app_id: str,
        *,
        user_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ChatPage:
        query: Doc = {"app_id": app_id}
        if user_id is not None:
            query["user_id"] = user_id
        if cursor:
            millis, after_chat = decode_cursor(cursor)
            moment = from_millis(millis)
            query["$or"] = [
                {"created_at": {"$lt": moment}},
                {"created_at": moment, "chat_id": {"$lt": after_chat}},
            ]
        async with _driver_errors():
            found = (
                await self._db.chats.find(query, _NO_ID)
                .sort([("created_at", DESCENDING), ("chat_id", DESCENDING)])
                .limit(limit + 1)
                .to_list()
            )
        return ChatPage.from_overfetch([rows.chat_from(d) for d in found], limit)

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
        sets: Doc = {"updated_at": utcnow()}
        if status is not None:
            sets["status"] = status
        if last_agent is not None:
            sets["last_agent"] = last_agent
        if workflow_version is not None:
            sets["workflow_version"] = workflow_version
        if context is not None:
            sets["context"] = json.dumps(dict(context))
        async with self._chat_lock((app_id, chat_id)), _driver_errors():
            doc = await self._db.chats.find_one_and_update(
                {"app_id": app_id, "chat_id": chat_id},
                {"$set": sets, "$inc": {"total_tokens": add_tokens}},
                return_document=ReturnDocument.AFTER,
            )
        return rows.chat_from(doc) if doc else None

    async def chats_in_status(
        self, app_id: str, statuses: Collection[ChatStatus], limit: int = 500
    ) -> list[ChatRecord]:
        query = {"app_id": app_id, "status": {"$in": list(statuses)}}
        async with _driver_errors():
            found = (
                await self._db.chats.find(query, _NO_ID)
                .sort("updated_at", ASCENDING)
                .limit(limit)
                .to_list()
            )
        return [rows.chat_from(d) for d in found]

    # Events

    def _chat_lock(self, key: tuple[str, str]) -> asyncio.Lock:
        """One writer of a chat's log and document at a time in this process (the run lease
        makes it one process): FerretDB applies an update by rewriting the whole document, so
        two concurrent updates of one chat (an append's `last_seq`, a run's token count) can
        lose one of them."""
        lock = self._chat_locks.get(key)
        if lock is None:
            lock = self._chat_locks[key] = asyncio.Lock()
        return lock

    async def append_events(
        self, app_id: str, chat_id: str, events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        """The next seqs follow the last one this process wrote (a hint), so an append is one
        insert and no query of the log's end (a sort that FerretDB runs as a collection scan).
        When another replica appended meanwhile, the first insert hits the unique index and
        writes nothing; the log's end is then read and the insert tried once more."""
        if not events:
            return []
        key = (app_id, chat_id)
        async with self._chat_lock(key), _driver_errors():
            hint = self._seq_hints.pop(key, None)
            last = hint if hint is not None else await self.last_seq(app_id, chat_id)
            try:
                stored = await self._insert_events(app_id, chat_id, last, events)
            except BulkWriteError as exc:
                if hint is None or not _wrote_nothing_duplicate(exc):
                    raise Conflict("another writer appended to this chat") from exc
                last = await self.last_seq(app_id, chat_id)
                try:
                    stored = await self._insert_events(app_id, chat_id, last, events)
                except BulkWriteError as again:
                    raise Conflict("another writer appended to this chat") from again
            await self._db.chats.update_one(
                {"app_id": app_id, "chat_id": chat_id}, {"$max": {"last_seq": stored[-1].seq}}
            )
        self._seq_hints[key] = stored[-1].seq
        if len(self._seq_hints) > SEQ_HINTS:  # forget the chats written longest ago
            del self._seq_hints[next(iter(self._seq_hints))]
        return stored

    async def _insert_events(
        self, app_id: str, chat_id: str, last: int, events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        stored = [
            StoredEvent(
                app_id,
                chat_id,
                last + i,
                e.type,
                e.data,
                e.timestamp,
                jsontext.dumps(dict(e.data)),
            )
            for i, e in enumerate(events, start=1)
        ]
        # Ordered: a duplicate seq (another writer) stops the batch at that event.
        await self._db.events.insert_many([event_doc(e) for e in stored], ordered=True)
        return stored

    async def events_after(
        self, app_id: str, chat_id: str, after_seq: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        async with _driver_errors():
            found = (
                await self._db.events.find(
                    {"app_id": app_id, "chat_id": chat_id, "seq": {"$gt": after_seq}}, _NO_ID
                )
                .sort("seq", ASCENDING)
                .limit(limit)
                .to_list()
            )
        return [event_of(d) for d in found]

    async def last_seq(self, app_id: str, chat_id: str) -> int:
        async with _driver_errors():
            doc = await self._db.events.find_one(
                {"app_id": app_id, "chat_id": chat_id},
                {"seq": True, "_id": False},
                sort=[("seq", DESCENDING)],
            )
        return int(doc["seq"]) if doc else 0

    # Pending requests

    async def create_pending(self, request: PendingRequest) -> None:
        doc = pending_doc(request)
        async with _driver_errors():
            await self._db.pending.insert_one(doc)

    async def get_pending(self, app_id: str, request_id: str) -> PendingRequest | None:
        async with _driver_errors():
            doc = await self._db.pending.find_one(
                {"app_id": app_id, "request_id": request_id}, _NO_ID
            )
        return rows.pending_from(doc) if doc else None

    async def resolve_pending(
        self, app_id: str, request_id: str, *, answer: Any, status: PendingStatus = "answered"
    ) -> PendingRequest | None:
        async with self._pending_lock, _driver_errors():
            doc = await self._db.pending.find_one_and_update(
                {"app_id": app_id, "request_id": request_id, "status": "open"},
                {"$set": {"status": status, "answer": json.dumps(answer), "answered_at": utcnow()}},
                return_document=ReturnDocument.AFTER,
            )
        return rows.pending_from(doc) if doc else None

    async def list_open_pending(self, app_id: str, chat_id: str) -> list[PendingRequest]:
        async with _driver_errors():
            found = (
                await self._db.pending.find(
                    {"app_id": app_id, "chat_id": chat_id, "status": "open"}, _NO_ID
                )
                .sort([("created_at", ASCENDING), ("request_id", ASCENDING)])
                .to_list()
            )
        return [rows.pending_from(d) for d in found]

    async def forget_answer(self, app_id: str, request_id: str) -> None:
        query = {"app_id": app_id, "request_id": request_id, "status": {"$ne": "open"}}
        async with _driver_errors():
            await self._db.pending.update_one(query, {"$set": {"answer": None}})

    async def expire_pending(self, app_id: str, now: datetime) -> int:
        async with self._pending_lock, _driver_errors():
            result = await self._db.pending.update_many(
                {"app_id": app_id, "status": "open", "expires_at": {"$lte": now}},
                {"$set": {"status": "expired"}},
            )
        return result.modified_count

    # Usage

    async def record_usage(self, record: UsageRecord) -> None:
        doc = usage_doc(record)
        async with _driver_errors():
            await self._db.usage.insert_one(doc)

    async def sum_tokens(self, app_id: str, user_id: str | None, since: datetime) -> int:
        match: Doc = {"app_id": app_id, "created_at": {"$gte": since}}
        if user_id is not None:
            match["user_id"] = user_id
        # One accumulator per $group: FerretDB 1.x sums only the first of several correctly.
        pipeline: list[Doc] = [
            {"$match": match},
            {"$group": {"_id": None, "total": {"$sum": "$total_tokens"}}},
        ]
        total = 0
        async with _driver_errors():
            for collection in ("usage", ROLLUPS):  # per-call rows, and deleted chats' rollups
                found = await (await self._db[collection].aggregate(pipeline)).to_list()
                total += int(found[0]["total"]) if found else 0
        return total

    async def usage_totals(
        self,
        app_id: str,
        user_id: str | None,
        *,
        start: datetime,
        end: datetime,
        group_by: GroupBy,
    ) -> list[UsageTotal]:
        key = _GROUP_FIELDS[group_by]
        match: Doc = {"app_id": app_id, "created_at": {"$gte": start, "$lt": end}}
        if user_id is not None:
            match["user_id"] = user_id
        fields = {f: True for f in (key, "prompt_tokens", "completion_tokens", "cost")}
        # Summed here rather than with $group (see sum_tokens): reports are rare, and a period's
        # records are streamed in batches, never held all at once.
        sums: dict[str, list[float]] = {}
        async with _driver_errors():
            for collection in ("usage", ROLLUPS):  # a rollup row counts its `calls`
                projection = {**fields, "calls": True, "_id": False}
                async for doc in self._db[collection].find(match, projection):
                    row = sums.setdefault(str(doc[key]), [0, 0, 0.0, 0])
                    row[0] += doc["prompt_tokens"]
                    row[1] += doc["completion_tokens"]
                    row[2] += doc["cost"]
                    row[3] += doc.get("calls", 1)
        return [
            UsageTotal(k, int(p), int(c), int(p + c), float(cost), int(n))
            for k, (p, c, cost, n) in sorted(sums.items())
        ]

    # Leases

    async def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> Lease | None:
        now = utcnow()
        expires = now + timedelta(seconds=ttl_seconds)
        try:
            async with _driver_errors():
                await self._db.leases.find_one_and_update(
                    {"_id": name, "$or": [{"owner": owner}, {"expires_at": {"$lte": now}}]},
                    {"$set": {"owner": owner, "expires_at": expires}},
                    upsert=True,
                )
        except Conflict:
            return None  # held by another owner: the upsert collided with its document
        return Lease(name, owner, expires)

    async def release_lease(self, name: str, owner: str) -> None:
        async with _driver_errors():
            await self._db.leases.delete_one({"_id": name, "owner": owner})

    async def held_leases(self, names: Sequence[str]) -> set[str]:
        if not names:
            return set()
        query = {"_id": {"$in": list(names)}, "expires_at": {"$gt": utcnow()}}
        async with _driver_errors():
            found = await self._db.leases.find(query, {"_id": True}).to_list()
        return {str(d["_id"]) for d in found}

    # Chat inboxes

    async def push_inbox(
        self, app_id: str, chat_id: str, kind: InboxKind, payload: Mapping[str, Any]
    ) -> InboxItem:
        """The next n after the inbox's last; the unique index refuses an n another replica
        took meanwhile, and the push reads the end again (as appends do)."""
        now = utcnow()
        text = json.dumps(dict(payload))
        for _ in range(INBOX_RETRIES):
            async with _driver_errors():
                last = await self._db.inbox.find_one(
                    {"app_id": app_id, "chat_id": chat_id},
                    {"n": True, "_id": False},
                    sort=[("n", DESCENDING)],
                )
            n = int(last["n"]) + 1 if last else 1
            doc = {"app_id": app_id, "chat_id": chat_id, "n": n, "kind": kind, "payload": text}
            try:
                async with _driver_errors():
                    await self._db.inbox.insert_one({**doc, "created_at": now})
            except Conflict:
                await asyncio.sleep(random.uniform(0, 0.005))  # spreads the racers out
                continue
            return InboxItem(app_id, chat_id, n, kind, dict(payload), now)
        raise Conflict("the chat's inbox is too busy; try again")

    async def list_inbox(
        self, app_id: str, chat_ids: Sequence[str], kind: InboxKind | None = None
    ) -> list[InboxItem]:
        if not chat_ids:
            return []
        query: Doc = {"app_id": app_id, "chat_id": {"$in": list(chat_ids)}}
        if kind is not None:
            query["kind"] = kind
        async with _driver_errors():
            found = (
                await self._db.inbox.find(query, _NO_ID)
                .sort([("chat_id", ASCENDING), ("n", ASCENDING)])
                .to_list()
            )
        return [
            InboxItem(
                app_id,
                d["chat_id"],
                d["n"],
                d["kind"],
                json.loads(d["payload"]),
                rows.moment(d["created_at"]),
            )
            for d in found
        ]

    async def remove_inbox(self, app_id: str, chat_id: str, n: int) -> bool:
        async with _driver_errors():
            result = await self._db.inbox.delete_one({"app_id": app_id, "chat_id": chat_id, "n": n})
        return result.deleted_count == 1

    # Workflow versions

    async def save_workflow_version(
        self, app_id: str, name: str, version: str, definition: str
    ) -> None:
        doc = {"app_id": app_id, "name": name, "version": version, "definition": definition}
        try:
            async with _driver_errors():
                await self._db.workflow_versions.insert_one({**doc, "created_at": utcnow()})
        except Conflict:
            pass  # kept already: a version's content never changes

    async def get_workflow_version(self, app_id: str, name: str, version: str) -> str | None:
        async with _driver_errors():
            doc = await self._db.workflow_versions.find_one(
                {"app_id": app_id, "name": name, "version": version}, _NO_ID
            )
        return str(doc["definition"]) if doc else None

    # Webhook outbox
    #
    # FerretDB applies a conditional update as a read then a write: two replicas claiming the
    # same delivery at the same instant may both win, and both send it (at-least-once; the
    # receiver dedupes on the id). One process claims from one task, so never twice here.

    async def enqueue_delivery(self, delivery: WebhookDelivery, *, max_outbox: int) -> list[str]:
        outbox = self._db[OUTBOX]
        async with _driver_errors():
            try:
                await outbox.insert_one(delivery_doc(delivery))
            except DuplicateKeyError:
                return []  # queued already: the same event observed twice
            excess = await outbox.count_documents({"app_id": delivery.app_id}) - max_outbox
            if excess <= 0:
                return []
            oldest = (
                await outbox.find({"app_id": delivery.app_id}, {"delivery_id": True, "_id": False})
                .sort([("created_at", ASCENDING), ("delivery_id", ASCENDING)])
                .limit(excess)
                .to_list()
            )
            ids = [str(d["delivery_id"]) for d in oldest]
            await outbox.delete_many({"app_id": delivery.app_id, "delivery_id": {"$in": ids}})
        return ids

    async def claim_deliveries(
        self, app_id: str, *, now: datetime, claim_seconds: float, limit: int
    ) -> list[WebhookDelivery]:
        outbox = self._db[OUTBOX]
        until = now + timedelta(seconds=claim_seconds)
        claimed: list[WebhookDelivery] = []
        async with _driver_errors():
            due = (
                await outbox.find({"app_id": app_id, "next_attempt_at": {"$lte": now}}, _NO_ID)
                .sort([("next_attempt_at", ASCENDING), ("created_at", ASCENDING)])
                .limit(limit)
                .to_list()
            )
            for doc in due:
                # Compare-and-set on the due time read: a replica that claimed it first moved it.
                result = await outbox.update_one(
                    {
                        "app_id": app_id,
                        "delivery_id": doc["delivery_id"],
                        "next_attempt_at": doc["next_attempt_at"],
                    },
                    {"$set": {"next_attempt_at": until}},
                )
                if result.modified_count == 1:
                    claimed.append(rows.delivery_from({**doc, "next_attempt_at": until}))
        return sorted(claimed, key=lambda d: (d.created_at, d.id))

    async def reschedule_delivery(
        self,
        app_id: str,
        delivery_id: str,
        *,
        next_attempt_at: datetime,
        attempts: int,
        last_error: str | None,
    ) -> None:
        sets = {"next_attempt_at": next_attempt_at, "attempts": attempts, "last_error": last_error}
        async with _driver_errors():
            await self._db[OUTBOX].update_one(
                {"app_id": app_id, "delivery_id": delivery_id}, {"$set": sets}
            )

    async def delete_delivery(self, app_id: str, delivery_id: str) -> None:
        async with _driver_errors():
            await self._db[OUTBOX].delete_one({"app_id": app_id, "delivery_id": delivery_id})

    async def count_deliveries(self, app_id: str) -> int:
        async with _driver_errors():
            return await self._db[OUTBOX].count_documents({"app_id": app_id})

    # Deletion, retention, erasure

    async def delete_chats(
        self, app_id: str, chat_ids: Sequence[str], *, keep_user: bool = True
    ) -> DeletedRows:
        total = DeletedRows()
        # Smaller chunks than SQLite's: what one delete matches stays far below the variables
        # FerretDB's SQLite backend binds per statement (see erasure._delete_events).
        for chunk in chunks(list(dict.fromkeys(chat_ids)), size=MONGO_DELETE_CHUNK):
            async with _driver_errors():
                total += await delete_chats(self._db, app_id, chunk, keep_user)
            for chat_id in chunk:
                self._seq_hints.pop((app_id, chat_id), None)  # a re-created chat starts at 1
        return total

    async def idle_chats(self, app_id: str, before: datetime, limit: int) -> list[ChatRecord]:
        query = {
            "app_id": app_id,
            "updated_at": {"$lt": before},
            "status": {"$nin": ["running", "waiting"]},
        }
        async with _driver_errors():
            found = (
                await self._db.chats.find(query, _NO_ID)
                .sort([("updated_at", ASCENDING), ("chat_id", ASCENDING)])
                .limit(limit)
                .to_list()
            )
        return [rows.chat_from(d) for d in found]

    async def events_of_chats(
        self, app_id: str, chat_ids: Sequence[str]
    ) -> AsyncIterator[StoredEvent]:
        # One query per chunk of chats, read through the server's cursor in batches: each
        # query costs FerretDB 1.x a scan of the collection, so never one per chat.
        for chunk in chunks(sorted(set(chat_ids))):
            query = {"app_id": app_id, "chat_id": {"$in": chunk}}
            async with _driver_errors():
                found = (
                    self._db.events.find(query, _NO_ID)
                    .sort([("chat_id", ASCENDING), ("seq", ASCENDING)])
                    .batch_size(READ_BATCH)
                )
                async for doc in found:
                    yield event_of(doc)

    async def usage_of_chats(
        self, app_id: str, chat_ids: Sequence[str]
    ) -> AsyncIterator[UsageRecord]:
        for chunk in chunks(sorted(set(chat_ids))):
            query = {"app_id": app_id, "chat_id": {"$in": chunk}}
            async with _driver_errors():
                found = (
                    self._db.usage.find(query)
                    .sort([("chat_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)])
                    .batch_size(READ_BATCH)
                )
                async for doc in found:
                    yield usage_of(doc)

    async def pending_of_chats(
        self, app_id: str, chat_ids: Sequence[str]
    ) -> AsyncIterator[PendingRequest]:
        order = [("chat_id", ASCENDING), ("created_at", ASCENDING), ("request_id", ASCENDING)]
        for chunk in chunks(sorted(set(chat_ids))):
            query = {"app_id": app_id, "chat_id": {"$in": chunk}}
            async with _driver_errors():
                found = self._db.pending.find(query, _NO_ID).sort(order).batch_size(READ_BATCH)
                async for doc in found:
                    yield rows.pending_from(doc)

    async def usage_rollups(self, app_id: str, user_id: str) -> list[UsageRollup]:
        async with _driver_errors():
            found = await self._db[ROLLUPS].find({"app_id": app_id, "user_id": user_id}).to_list()
        return merge_rollups(app_id, user_id, found)

    async def anonymize_rollups(self, app_id: str, user_id: str) -> int:
        async with _driver_errors():
            result = await self._db[ROLLUPS].update_many(
                {"app_id": app_id, "user_id": user_id}, {"$set": {"user_id": ERASED_USER}}
            )
        return result.modified_count

    async def append_audit(self, audit: ErasureAudit) -> None:
        async with _driver_errors():
            await self._db[AUDIT].insert_one(audit_doc(audit))

    async def list_audit(self, app_id: str, *, limit: int = 50) -> list[ErasureAudit]:
        async with _driver_errors():
            found = (
                await self._db[AUDIT]
                .find({"app_id": app_id}, _NO_ID)
                .sort([("erased_at", DESCENDING), ("audit_id", DESCENDING)])
                .limit(limit)
                .to_list()
            )
        return [audit_from(d, rows.moment(d["erased_at"])) for d in found]
