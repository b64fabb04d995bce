"""MongoDB documents of the store's records, and the indexes created at start-up (store.py).

Free-form values are JSON strings: FerretDB 1.x refuses keys with `$` or `.` and nested arrays.
"""

from __future__ import annotations

import json
from typing import Any

from pymongo import ASCENDING, DESCENDING

from mozaiks_runtime.storage import rows
from mozaiks_runtime.storage.base import (
    ChatRecord,
    PendingRequest,
    StoredEvent,
    UsageRecord,
    WebhookDelivery,
)

Doc = dict[str, Any]

# (collection, keys, options): every query of the store is served by one of these.
INDEXES: list[tuple[str, list[tuple[str, int]], Doc]] = [
    (
        "chats",
        [("app_id", ASCENDING), ("chat_id", ASCENDING)],
        {"unique": True, "name": "chat_key"},
    ),
    (
        "chats",
        [("app_id", ASCENDING), ("user_id", ASCENDING), ("created_at", DESCENDING)],
        {"name": "chats_by_user"},
    ),
    ("chats", [("app_id", ASCENDING), ("created_at", DESCENDING)], {"name": "chats_by_app"}),
    (
        "events",
        [("app_id", ASCENDING), ("chat_id", ASCENDING), ("seq", ASCENDING)],
        {"unique": True, "name": "event_seq"},
    ),
    (
        "pending",
        [("app_id", ASCENDING), ("request_id", ASCENDING)],
        {"unique": True, "name": "pending_key"},
    ),
    (
        "pending",
        [("app_id", ASCENDING), ("chat_id", ASCENDING), ("status", ASCENDING)],
        {"name": "pending_open"},
    ),
    ("usage", [("app_id", ASCENDING), ("created_at", ASCENDING)], {"name": "usage_by_time"}),
    (
        "usage",
        [("app_id", ASCENDING), ("user_id", ASCENDING), ("created_at", ASCENDING)],
        {"name": "usage_by_user"},
    ),
    ("chats", [("app_id", ASCENDING), ("status", ASCENDING)], {"name": "chats_by_status"}),
    (
        "inbox",
        [("app_id", ASCENDING), ("chat_id", ASCENDING), ("n", ASCENDING)],
        {"unique": True, "name": "inbox_order"},
    ),
    (
        "workflow_versions",
        [("app_id", ASCENDING), ("name", ASCENDING), ("version", ASCENDING)],
        {"unique": True, "name": "workflow_version_key"},
    ),
]


def chat_doc(chat: ChatRecord) -> Doc:
    return {
        "app_id": chat.app_id,
        "chat_id": chat.chat_id,
        "user_id": chat.user_id,
        "workflow_name": chat.workflow_name,
        "workflow_version": chat.workflow_version,
        "status": chat.status,
        "created_at": chat.created_at,
        "updated_at": chat.updated_at,
        "last_seq": chat.last_seq,
        "last_agent": chat.last_agent,
        "context": json.dumps(dict(chat.context)),
        "total_tokens": chat.total_tokens,
    }


def pending_doc(request: PendingRequest) -> Doc:
    return {
        "app_id": request.app_id,
        "request_id": request.request_id,
        "chat_id": request.chat_id,
        "user_id": request.user_id,
        "kind": request.kind,
        "agent": request.agent,
        "payload": json.dumps(dict(request.payload)),
        "created_at": request.created_at,
        "expires_at": request.expires_at,
        "status": request.status,
        "answer": json.dumps(request.answer),
        "answered_at": request.answered_at,
    }


def usage_doc(record: UsageRecord) -> Doc:
    return {
        "app_id": record.app_id,
        "chat_id": record.chat_id,
        "user_id": record.user_id,
        "workflow_name": record.workflow_name,
        "agent": record.agent,
        "model": record.model,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "total_tokens": record.total_tokens,
        "cost": record.cost,
        "duration_sec": record.duration_sec,
        "created_at": record.created_at,
        "day": record.created_at.strftime("%Y-%m-%d"),
    }


def event_doc(event: StoredEvent) -> Doc:
    return {
        "app_id": event.app_id,
        "chat_id": event.chat_id,
        "seq": event.seq,
        "type": event.type,
        "data": event.data_text(),
        "ts": event.timestamp,
    }


# Webhook outbox (storage/mongo/store.py: "Webhook outbox")

OUTBOX = "webhook_outbox"
OUTBOX_INDEXES: list[tuple[str, list[tuple[str, int]], Doc]] = [
    (
        OUTBOX,
        [("app_id", ASCENDING), ("delivery_id", ASCENDING)],
        {"unique": True, "name": "delivery_key"},
    ),
    (OUTBOX, [("app_id", ASCENDING), ("next_attempt_at", ASCENDING)], {"name": "delivery_due"}),
    (OUTBOX, [("app_id", ASCENDING), ("created_at", ASCENDING)], {"name": "delivery_age"}),
]


def delivery_doc(delivery: WebhookDelivery) -> Doc:
    return {
        "app_id": delivery.app_id,
        "delivery_id": delivery.id,
        "event_type": delivery.event_type,
        "body": delivery.body,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
    }


def event_of(doc: Doc) -> StoredEvent:
    """The record `event_doc` wrote (its data kept as the stored JSON text too)."""
    return StoredEvent(
        doc["app_id"],
        doc["chat_id"],
        doc["seq"],
        doc["type"],
        json.loads(doc["data"]),
        rows.moment(doc["ts"]),
        doc["data"],
    )


def usage_of(doc: Doc) -> UsageRecord:
    """The record `usage_doc` wrote."""
    return UsageRecord(
        app_id=doc["app_id"],
        chat_id=doc["chat_id"],
        user_id=doc["user_id"],
        workflow_name=doc["workflow_name"],
        agent=doc["agent"],
        model=doc["model"],
        prompt_tokens=doc["prompt_tokens"],
        completion_tokens=doc["completion_tokens"],
        duration_sec=doc["duration_sec"],
        cost=doc["cost"],
        created_at=rows.moment(doc["created_at"]),
    )
