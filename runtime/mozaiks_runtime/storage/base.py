"""The Store protocol and the records it keeps. Imports no database driver.

Both adapters (sqlite/store.py, mongo/store.py) implement exactly this, and tests/contract/ holds
them to it.
Every method is scoped by `app_id`: one tenant's runtime never reads another tenant's rows even
when two tenants share a database by mistake.

Sequence numbers: `append_events` gives the events of one chat the numbers 1, 2, 3... without
gaps. No transactions are needed for that: a unique index on (app_id, chat_id, seq) refuses a
second writer, a per-chat lock serialises writers inside one process, and the run lease
(`acquire_lease`) makes one replica the writer of a running chat.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from mozaiks_runtime import jsontext
from mozaiks_runtime.errors import BadRequest
from mozaiks_runtime.refs import ChatRef

ChatStatus = Literal["created", "running", "waiting", "idle", "completed", "failed"]
# created: nothing ran yet; running: a run holds the lease; waiting: a run waits for the user;
# idle: a run ended and the chat takes a new message; completed/failed: the workflow ended.
ACTIVE_STATUSES: frozenset[ChatStatus] = frozenset({"running", "waiting"})

PendingKind = Literal["input", "ui_tool"]
InboxKind = Literal["message", "stop"]
PendingStatus = Literal["open", "answered", "expired", "cancelled"]
GroupBy = Literal["day", "user", "workflow", "model"]


_now: tuple[int, datetime] = (0, datetime.fromtimestamp(0, UTC))


def utcnow() -> datetime:
    """Now, in UTC, at millisecond precision (what MongoDB keeps), so both adapters agree.
    Events made in the same millisecond share one (immutable) datetime: a busy runtime makes
    dozens per millisecond, and building each costs more than the rest of its bookkeeping."""
    global _now
    millis = time.time_ns() // 1_000_000
    cached = _now
    if cached[0] != millis:
        cached = _now = (millis, datetime.fromtimestamp(millis / 1000, UTC))
    return cached[1]


@dataclass(frozen=True, slots=True)
class ChatRecord:
    app_id: str
    chat_id: str
    user_id: str
    workflow_name: str
    workflow_version: str
    status: ChatStatus
    created_at: datetime
    updated_at: datetime
    last_seq: int = 0  # the highest persisted seq (kept by append_events)
    last_agent: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    total_tokens: int = 0

    @property
    def ref(self) -> ChatRef:
        return ChatRef(self.app_id, self.chat_id)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to persist; the store assigns its seq."""

    type: str
    data: Mapping[str, Any]
    timestamp: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    app_id: str
    chat_id: str
    seq: int
    type: str
    data: Mapping[str, Any]
    timestamp: datetime
    # `data` as the JSON text the store keeps, when the store has it: frames embed it as is.
    encoded: str | None = field(default=None, compare=False, repr=False)

    def data_text(self) -> str:
        return self.encoded if self.encoded is not None else jsontext.dumps(dict(self.data))


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """An open question to the chat's user: text input or a UI tool's answer."""

    request_id: str
    app_id: str
    chat_id: str
    user_id: str
    kind: PendingKind
    agent: str
    payload: Mapping[str, Any]  # what the user was asked (prompt, tool name, component...)
    created_at: datetime
    expires_at: datetime
    status: PendingStatus = "open"
    answer: Any = None  # the user's text, or the UI tool's response object
    answered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One model call's tokens, as usage/accounting.py prices it."""

    app_id: str
    chat_id: str
    user_id: str
    workflow_name: str
    agent: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    duration_sec: float
    cost: float = 0.0
    created_at: datetime = field(default_factory=utcnow)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class UsageTotal:
    key: str  # the day (YYYY-MM-DD), user id, workflow name or model name
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float
    calls: int


@dataclass(frozen=True, slots=True)
class InboxItem:
    """Something for a chat's run that any replica may leave and the lease holder acts on: a
    user message queued behind the current run (`message`), or a request to stop it (`stop`)."""

    app_id: str
    chat_id: str
    n: int  # the order within the chat's inbox (the store refuses a second item with one n)
    kind: InboxKind
    payload: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    owner: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ChatPage:
    chats: Sequence[ChatRecord]
    next_cursor: str | None  # pass back to list_chats for the next (older) page

    @classmethod
    def from_overfetch(cls, found: Sequence[ChatRecord], limit: int) -> ChatPage:
        """A page from `limit + 1` rows read: the extra row only says that a next page exists."""
        chats = list(found[:limit])
        if len(found) <= limit or not chats:
            return cls(chats, None)
        return cls(chats, encode_cursor(chats[-1].created_at, chats[-1].chat_id))


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One webhook POST waiting in the outbox (webhooks/). `id` is the idempotency id the
    receiver sees in `Mozaiks-Delivery`; `body` is the JSON text that is signed and sent as is."""

    id: str
    app_id: str
    event_type: str
    body: str
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0  # failed attempts so far
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class DeletedRows:
    """What a deletion removed, per kind (chat deletion, retention, erasure)."""

    chats: int = 0
    events: int = 0
    pending: int = 0
    inbox: int = 0
    usage: int = 0  # per-call usage rows (folded into daily rollups first, never lost)

    def __add__(self, other: DeletedRows) -> DeletedRows:
        return DeletedRows(*(a + b for a, b in zip(self.counts(), other.counts(), strict=True)))

    def counts(self) -> tuple[int, int, int, int, int]:
        return (self.chats, self.events, self.pending, self.inbox, self.usage)

    def as_dict(self) -> dict[str, int]:
        return dict(zip(DELETED_KINDS, self.counts(), strict=True))


DELETED_KINDS = ("chats", "events", "pending", "inbox", "usage")
ERASED_USER = ""  # whom the usage rollups of an erased user are attributed to


@dataclass(frozen=True, slots=True)
class UsageRollup:
    """Per-call usage folded by (user, workflow, model, day) when its chat is deleted: billing
    totals survive the deletion of the detail (chat, agent, time of each call)."""

    app_id: str
    user_id: str  # ERASED_USER once the user was erased
    workflow_name: str
    model: str
    day: str  # YYYY-MM-DD (UTC); counted at the day's start by time-bounded queries
    prompt_tokens: int
    completion_tokens: int
    cost: float
    calls: int


@dataclass(frozen=True, slots=True)
class ErasureAudit:
    """One user erasure, as kept in the append-only audit: who asked, whose data, how much and
    the SHA-256 of what was erased; never the content."""

    audit_id: str
    app_id: str
    user_id: str
    requested_by: str
    counts: Mapping[str, int]
    sha256: str
    erased_at: datetime


class Store(Protocol):
    """Persistence for chats, their event logs, pending requests, usage and leases.

    Errors: a driver failure surfaces as errors.StorageUnavailable; a duplicate chat as
    errors.Conflict; a bad cursor as errors.BadRequest.
    """

    async def start(self) -> None:
        """Open connections and create tables / indexes (idempotent)."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StorageUnavailable unless the database answers (readiness)."""

    # Chats
    async def create_chat(self, chat: ChatRecord) -> ChatRecord:
        """Insert a new chat; Conflict when (app_id, chat_id) exists."""

    async def get_chat(self, app_id: str, chat_id: str) -> ChatRecord | None: ...

    async def list_chats(
        self,
        app_id: str,
        *,
        user_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ChatPage:
        """Newest first (created_at, then chat_id); `user_id=None` lists the whole app."""

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
        """Change the given fields (None = unchanged); returns the new record, None if absent."""

    async def chats_in_status(
        self, app_id: str, statuses: Collection[ChatStatus], limit: int = 500
    ) -> list[ChatRecord]:
        """Chats of the app in any of these statuses, oldest update first (the run sweeper)."""

    # Events
    async def append_events(
        self, app_id: str, chat_id: str, events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        """Persist events in order with the next seqs of the chat; Conflict on a racing writer."""

    async def events_after(
        self, app_id: str, chat_id: str, after_seq: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events with seq > after_seq, ascending, at most `limit`."""

    async def last_seq(self, app_id: str, chat_id: str) -> int:
        """The highest persisted seq of the chat (0 when none), read from the log itself."""

    # Pending requests
    async def create_pending(self, request: PendingRequest) -> None: ...

    async def get_pending(self, app_id: str, request_id: str) -> PendingRequest | None: ...

    async def resolve_pending(
        self, app_id: str, request_id: str, *, answer: Any, status: PendingStatus = "answered"
    ) -> PendingRequest | None:
        """Close an open request once; None when it is not open (already answered, expired...)."""

    async def list_open_pending(self, app_id: str, chat_id: str) -> list[PendingRequest]:
        """Open requests of a chat, oldest first."""

    async def forget_answer(self, app_id: str, request_id: str) -> None:
        """Drop a closed request's answer (a password, once the run that took it recorded its
        ack); nothing when the request is gone or still open."""

    async def expire_pending(self, app_id: str, now: datetime) -> int:
        """Mark open requests past their deadline as expired; returns how many."""

    # Usage
    async def record_usage(self, record: UsageRecord) -> None: ...

    async def sum_tokens(self, app_id: str, user_id: str | None, since: datetime) -> int:
        """Total tokens of the app (or one user) since a moment, for budgets."""

    async def usage_totals(
        self,
        app_id: str,
        user_id: str | None,
        *,
        start: datetime,
        end: datetime,
        group_by: GroupBy,
    ) -> list[UsageTotal]:
        """Totals in [start, end) grouped by day, user, workflow or model, sorted by key."""

    # Leases
    async def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> Lease | None:
        """Take (or renew, for the same owner) a lease that is free or expired; None if held."""

    async def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up if `owner` holds it."""

    async def held_leases(self, names: Sequence[str]) -> set[str]:
        """Which of these leases someone holds now (not expired)."""

    # Chat inboxes (queued messages, stop requests)
    async def push_inbox(
        self, app_id: str, chat_id: str, kind: InboxKind, payload: Mapping[str, Any]
    ) -> InboxItem:
        """Add an item after every item the chat's inbox holds, whichever replica adds it."""

    async def list_inbox(
        self, app_id: str, chat_ids: Sequence[str], kind: InboxKind | None = None
    ) -> list[InboxItem]:
        """The items of these chats (of one kind, or all), by chat then in order."""

    async def remove_inbox(self, app_id: str, chat_id: str, n: int) -> bool:
        """Take an item out; False when it was gone already (another replica took it)."""

    # Workflow versions (what a chat is pinned to)
    async def save_workflow_version(
        self, app_id: str, name: str, version: str, definition: str
    ) -> None:
        """Keep a workflow's definition (JSON text) under its content hash; a no-op when kept."""

    async def get_workflow_version(self, app_id: str, name: str, version: str) -> str | None: ...

    # Webhook outbox
    #
    # At-least-once: a delivery leaves the outbox only when it was sent (or given up). Replicas
    # share one outbox: `claim_deliveries` moves a due delivery's next_attempt_at forward only
    # if nobody moved it first, so normally one replica sends it; a claimer that dies (or, on
    # FerretDB, two claims racing across replicas) can lead to a second send of the same id.

    async def enqueue_delivery(self, delivery: WebhookDelivery, *, max_outbox: int) -> list[str]:
        """Insert a delivery (again with an id already queued: no-op). When the app's outbox then
        holds more than `max_outbox`, the oldest deliveries (created_at) are deleted: their ids."""

    async def claim_deliveries(
        self, app_id: str, *, now: datetime, claim_seconds: float, limit: int
    ) -> list[WebhookDelivery]:
        """Up to `limit` due deliveries (next_attempt_at <= now), each claimed by moving its
        next_attempt_at to now + claim_seconds; returns them as claimed, oldest first."""

    async def reschedule_delivery(
        self,
        app_id: str,
        delivery_id: str,
        *,
        next_attempt_at: datetime,
        attempts: int,
        last_error: str | None,
    ) -> None:
        """Set when the delivery is next due and its attempt count (after a failed attempt, or
        to hand an unsent claim back); nothing when it is gone."""

    async def delete_delivery(self, app_id: str, delivery_id: str) -> None:
        """Remove a delivery (sent, or given up as dead); nothing when it is gone."""

    async def count_deliveries(self, app_id: str) -> int:
        """Deliveries in the app's outbox, due or not."""

    # Deletion, retention, erasure (by exact keys: app_id plus chat ids or one user id)

    async def delete_chats(
        self, app_id: str, chat_ids: Sequence[str], *, keep_user: bool = True
    ) -> DeletedRows:
        """Remove these chats with their events, pending requests, inbox items and per-call
        usage; the usage is first folded into rollups (UsageRollup), attributed to the chat's
        user, or to ERASED_USER when `keep_user` is False. Chats absent count nothing. Safe
        to repeat after a crash: the chat row goes last and a fold is never counted twice."""

    async def idle_chats(self, app_id: str, before: datetime, limit: int) -> list[ChatRecord]:
        """Chats not running or waiting whose last update is before `before`, oldest first."""

    def events_of_chats(self, app_id: str, chat_ids: Sequence[str]) -> AsyncIterator[StoredEvent]:
        """The events of these chats by chat id, then seq; read a page (or a cursor batch) at
        a time, never all at once (an export, an erasure's hash)."""
        ...

    def usage_of_chats(self, app_id: str, chat_ids: Sequence[str]) -> AsyncIterator[UsageRecord]:
        """The per-call usage of these chats by chat id, then time; read as events_of_chats."""
        ...

    def pending_of_chats(
        self, app_id: str, chat_ids: Sequence[str]
    ) -> AsyncIterator[PendingRequest]:
        """The requests of these chats, open or closed, by chat id, then creation time and
        request id; read as events_of_chats."""
        ...

    async def usage_rollups(self, app_id: str, user_id: str) -> list[UsageRollup]:
        """The user's rollups, by day, workflow and model (one row per key)."""

    async def anonymize_rollups(self, app_id: str, user_id: str) -> int:
        """Attribute the user's rollups to ERASED_USER; returns how many rows moved."""

    async def append_audit(self, audit: ErasureAudit) -> None:
        """Keep an erasure's audit record; records are never changed or removed."""

    async def list_audit(self, app_id: str, *, limit: int = 50) -> list[ErasureAudit]:
        """The app's erasure audit, newest first."""


def encode_cursor(created_at: datetime, chat_id: str) -> str:
    """An opaque list cursor: the position of the last chat of a page."""
    raw = f"{to_millis(created_at)}:{chat_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """(created_at in epoch milliseconds, chat_id); BadRequest for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        millis, chat_id = raw.split(":", 1)
        return int(millis), chat_id
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid cursor") from None


def to_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)
