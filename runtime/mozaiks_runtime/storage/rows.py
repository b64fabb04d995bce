"""Rows (SQLite) and documents (MongoDB) back to records. Pure, shared by both adapters.

Free-form values (chat context, event data, request payloads and answers) are stored as JSON
strings in both databases: FerretDB 1.x refuses keys with `$` or `.` and nested arrays, and a
string round-trips anything the widget or an agent sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mozaiks_runtime.storage.base import ChatRecord, PendingRequest, WebhookDelivery, from_millis


def moment(value: Any) -> datetime:
    """Epoch milliseconds (SQLite) or a datetime (MongoDB) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return from_millis(int(value))


def chat_from(row: Mapping[str, Any]) -> ChatRecord:
    return ChatRecord(
        app_id=row["app_id"],
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        workflow_name=row["workflow_name"],
        workflow_version=row["workflow_version"],
        status=row["status"],
        created_at=moment(row["created_at"]),
        updated_at=moment(row["updated_at"]),
        last_seq=int(row.get("last_seq") or 0),
        last_agent=row.get("last_agent"),
        context=json.loads(row.get("context") or "{}"),
        total_tokens=int(row.get("total_tokens") or 0),
    )


def pending_from(row: Mapping[str, Any]) -> PendingRequest:
    answered = row.get("answered_at")
    return PendingRequest(
        request_id=row["request_id"],
        app_id=row["app_id"],
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        kind=row["kind"],
        agent=row["agent"],
        payload=json.loads(row["payload"]),
        created_at=moment(row["created_at"]),
        expires_at=moment(row["expires_at"]),
        status=row["status"],
        answer=json.loads(row["answer"]) if row.get("answer") is not None else None,
        answered_at=moment(answered) if answered is not None else None,
    )


# Webhook outbox


def delivery_from(row: Mapping[str, Any]) -> WebhookDelivery:
    return WebhookDelivery(
        id=row["delivery_id"],
        app_id=row["app_id"],
        event_type=row["event_type"],
        body=row["body"],
        created_at=moment(row["created_at"]),
        next_attempt_at=moment(row["next_attempt_at"]),
        attempts=int(row.get("attempts") or 0),
        last_error=row.get("last_error"),
    )
