"""GET /api/users/{user_id}/export: every chat, event, usage row, question and queued message
of one user as JSON Lines, read from the store page by page (never the whole set in memory).

The canonical order, which the erasure receipt's SHA-256 covers byte for byte (docs/security.md):
the user's chats newest first (as GET /api/sessions lists them) in pages of CHAT_PAGE; for each
page, one `chat` line per chat in that order, then the `event` lines of the page's chats by chat
id then seq, then their `usage` lines by chat id then time, then their `pending` lines (questions
to the user and their answers) by chat id then time, then their `inbox` lines (messages queued
behind a run, stops) by chat id then order; after the last page, one `usage_rollup` line per
(day, workflow, model) of the user's deleted chats. Each line is compact JSON with its keys in a
fixed order, event data exactly as stored, and ends with a newline. A password answer is never
there: the store drops it once its run took it.
(Pages, not chats, are the unit because a query per chat costs FerretDB 1.x a collection scan.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from mozaiks_runtime import jsontext
from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.chats.events import timestamp
from mozaiks_runtime.errors import Forbidden, NotFound
from mozaiks_runtime.storage.base import (
    ChatRecord,
    InboxItem,
    PendingRequest,
    Store,
    StoredEvent,
    UsageRecord,
    UsageRollup,
)

CHAT_PAGE = 500  # part of the canonical order: the erasure hashes the same pages
CHUNK_BYTES = 64 * 1024  # what the response sends at a time (a write per line is slow)


def check_subject(identity: Identity, user_id: str) -> None:
    """The user themselves or an app admin; others get 404 (as for their chats), and a
    chat-bound token (one chat only) is refused outright."""
    if identity.chat_id is not None:
        raise Forbidden("a token bound to one chat cannot act on a whole user")
    if user_id != identity.user_id and not identity.may_read_app(identity.app_id):
        raise NotFound("no such user")


def _line(value: dict[str, object]) -> str:
    return jsontext.dumps(value) + "\n"


def chat_line(chat: ChatRecord) -> str:
    return _line(
        {
            "kind": "chat",
            "chat_id": chat.chat_id,
            "user_id": chat.user_id,
            "workflow_name": chat.workflow_name,
            "workflow_version": chat.workflow_version,
            "status": chat.status,
            "created_at": timestamp(chat.created_at),
            "updated_at": timestamp(chat.updated_at),
            "last_seq": chat.last_seq,
            "last_agent": chat.last_agent,
            "total_tokens": chat.total_tokens,
            "context": dict(chat.context),
        }
    )


def event_line(event: StoredEvent) -> str:
    return _line(
        {
            "kind": "event",
            "chat_id": event.chat_id,
            "seq": event.seq,
            "type": event.type,
            "timestamp": timestamp(event.timestamp),
            "data": jsontext.Raw(event.data_text()),
        }
    )


def usage_line(record: UsageRecord) -> str:
    return _line(
        {
            "kind": "usage",
            "chat_id": record.chat_id,
            "workflow_name": record.workflow_name,
            "agent": record.agent,
            "model": record.model,
            "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens,
            "total_tokens": record.total_tokens,
            "cost": record.cost,
            "duration_sec": record.duration_sec,
            "created_at": timestamp(record.created_at),
        }
    )


def pending_line(request: PendingRequest) -> str:
    return _line(
        {
            "kind": "pending",
            "chat_id": request.chat_id,
            "request_id": request.request_id,
            "type": request.kind,
            "agent": request.agent,
            "asked": dict(request.payload),
            "status": request.status,
            "answer": request.answer,
            "created_at": timestamp(request.created_at),
            "expires_at": timestamp(request.expires_at),
            "answered_at": timestamp(request.answered_at) if request.answered_at else None,
        }
    )


def inbox_line(item: InboxItem) -> str:
    return _line(
        {
            "kind": "inbox",
            "chat_id": item.chat_id,
            "n": item.n,
            "type": item.kind,
            "payload": dict(item.payload),
            "created_at": timestamp(item.created_at),
        }
    )


def rollup_line(rollup: UsageRollup) -> str:
    return _line(
        {
            "kind": "usage_rollup",
            "day": rollup.day,
            "workflow_name": rollup.workflow_name,
            "model": rollup.model,
            "prompt_tokens": rollup.prompt_tokens,
            "completion_tokens": rollup.completion_tokens,
            "total_tokens": rollup.prompt_tokens + rollup.completion_tokens,
            "cost": rollup.cost,
            "calls": rollup.calls,
        }
    )


async def page_lines(store: Store, chats: Sequence[ChatRecord]) -> AsyncIterator[str]:
    """One page of chats: their chat lines, then their events, per-call usage, questions and
    queued items."""
    if not chats:
        return
    for chat in chats:
        yield chat_line(chat)
    app_id, ids = chats[0].app_id, [c.chat_id for c in chats]
    async for event in store.events_of_chats(app_id, ids):
        yield event_line(event)
    async for record in store.usage_of_chats(app_id, ids):
        yield usage_line(record)
    async for request in store.pending_of_chats(app_id, ids):
        yield pending_line(request)
    for item in await store.list_inbox(app_id, ids):  # a handful per chat at most
        yield inbox_line(item)


async def rollup_lines(store: Store, app_id: str, user_id: str) -> AsyncIterator[str]:
    for rollup in await store.usage_rollups(app_id, user_id):
        yield rollup_line(rollup)


async def export_lines(store: Store, app_id: str, user_id: str) -> AsyncIterator[str]:
    """The user's whole export, in the canonical order."""
    cursor: str | None = None
    while True:
        page = await store.list_chats(app_id, user_id=user_id, limit=CHAT_PAGE, cursor=cursor)
        async for line in page_lines(store, page.chats):
            yield line
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    async for line in rollup_lines(store, app_id, user_id):
        yield line


async def chunked(lines: AsyncIterator[str]) -> AsyncIterator[bytes]:
    """Lines gathered into chunks of about CHUNK_BYTES for the response."""
    buffer: list[bytes] = []
    size = 0
    async for line in lines:
        data = line.encode()
        buffer.append(data)
        size += len(data)
        if size >= CHUNK_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)
