"""Structured JSON logs with request and chat ids, and no tokens or secrets in them.

`configure_logging(settings)` installs one JSON handler on the root logger (uvicorn's loggers
propagate to it) with a `RedactingFilter`, which rewrites every record before it is formatted:
JWTs (`eyJ...`), Authorization header values, `access_token=` query values (uvicorn's access log
prints the WebSocket URL the widget uses), credentials in URLs, and the configured secrets
themselves. Request and chat ids travel in context variables, so tasks spawned while handling a
request or a chat inherit them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from mozaiks_runtime.config import Settings

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str | None] = ContextVar("mozaiks_request_id", default=None)
chat_id_var: ContextVar[str | None] = ContextVar("mozaiks_chat_id", default=None)

REDACTED = "[redacted]"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A JWT: base64url JSON header (always starts eyJ), payload, optional signature.
    (re.compile(r"eyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){0,2}"), REDACTED),
    # Authorization: Bearer x / "authorization": "Basic x" / authorization=x
    (
        re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic)\s+)?[^\s\"',}]+"),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)\b((?:access_token|token|api_key|apikey)=)[^&\s\"']+"), rf"\1{REDACTED}"),
    # user:password@ in any URL (MongoDB URIs in error messages).
    (re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.IGNORECASE), rf"\1{REDACTED}@"),
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with tokens, credentials and the given secret values replaced by [redacted]."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Renders each record's message (and traceback) once, redacted, before any handler sees it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Short values would redact ordinary words; real secrets are long.
        self._secrets = tuple(sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self._secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        record.exc_info = None  # the redacted exc_text is what gets printed
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, chat_id, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id, chat_id = request_id_var.get(), chat_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        if chat_id:
            entry["chat_id"] = chat_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings, for literal redaction."""
    values = [settings.jwt_secret, settings.llm_api_key, settings.mongo_uri]
    return [v.get_secret_value() for v in values if v is not None]


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Route all logging (ours and uvicorn's) through one redacting JSON handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter(secrets_of(settings)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own logging config (if any ran before) gives these loggers handlers that
        # bypass the redaction, no propagation and levels of their own: undo all three.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    return handler


@contextlib.contextmanager
def chat_context(chat_id: str) -> Iterator[None]:
    """Tag every log line inside (and in tasks started inside) with this chat id."""
    token = chat_id_var.set(chat_id)
    try:
        yield
    finally:
        chat_id_var.reset(token)


class RequestIdMiddleware:
    """Gives each HTTP request and WebSocket a request id: the caller's `X-Request-ID` when it is
    a sane token, else a new one; logged with every line and echoed on HTTP responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            # Sockets get no header to add: their frames go straight through, unwrapped.
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            request_id_var.reset(token)
