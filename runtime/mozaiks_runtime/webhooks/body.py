"""Which events are notified, and the small JSON body of each delivery. Pure.

The body names the chat and its owner and carries a few fields of the event, never message
content (an input request's prompt, say): the receiver reads the rest through the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mozaiks_runtime import jsontext
from mozaiks_runtime.chats.events import timestamp
from mozaiks_runtime.storage.base import ChatRecord, StoredEvent, WebhookDelivery

# The data fields each notified event type passes on (strings: chat.run_cancelled is defined
# by the cancel feature, not here).
DATA_FIELDS: Mapping[str, tuple[str, ...]] = {
    "chat.run_complete": ("status", "total_tokens"),
    "chat.run_cancelled": ("by", "reason"),
    "chat.input_request": ("request_id", "agent"),
    "chat.error": ("error_code", "message"),
}
NOTIFIED_EVENTS: tuple[str, ...] = tuple(DATA_FIELDS)
# Ids derive from the event, so the same event queued twice is one delivery.
_ID_NAMESPACE = uuid.UUID("5b0f2c4e-8f1e-4c55-9a52-6d1f0d6b7a01")


def delivery_id(event: StoredEvent) -> str:
    """The idempotency id: stable for one stored event (the timestamp tells a re-created chat
    of the same id apart)."""
    key = f"{event.app_id}/{event.chat_id}/{event.seq}/{timestamp(event.timestamp)}"
    return f"whd_{uuid.uuid5(_ID_NAMESPACE, key).hex}"


def body_of(event: StoredEvent, chat: ChatRecord | None, *, delivery: str) -> dict[str, Any]:
    fields = DATA_FIELDS.get(event.type, ())
    return {
        "id": delivery,
        "type": event.type,
        "app_id": event.app_id,
        "chat_id": event.chat_id,
        "user_id": chat.user_id if chat is not None else None,
        "workflow_name": chat.workflow_name if chat is not None else None,
        "seq": event.seq,
        "occurred_at": timestamp(event.timestamp),
        "data": {name: event.data.get(name) for name in fields},
    }


def build_delivery(
    event: StoredEvent, chat: ChatRecord | None, *, now: datetime
) -> WebhookDelivery:
    """The outbox record of one notified event, due at once."""
    ident = delivery_id(event)
    return WebhookDelivery(
        id=ident,
        app_id=event.app_id,
        event_type=event.type,
        body=jsontext.dumps(body_of(event, chat, delivery=ident)),
        created_at=now,
        next_attempt_at=now,
    )
