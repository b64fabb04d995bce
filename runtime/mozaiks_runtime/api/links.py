"""URLs the API hands out (the WebSocket of a chat)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import Request

from mozaiks_runtime.config import Settings
from mozaiks_runtime.storage.base import ChatRecord


def ws_url(
    request: Request, settings: Settings, chat: ChatRecord, *, trace_parent: str | None = None
) -> str:
    """`settings.public_url` when set (behind an ingress), else the address the caller used;
    with the caller's trace context, which the socket's runs then continue."""
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    parts = (chat.workflow_name, chat.app_id, chat.chat_id, chat.user_id)
    url = base + "/ws/" + "/".join(quote(p, safe="") for p in parts)
    return url + "?" + urlencode({"traceparent": trace_parent}) if trace_parent else url
