"""`GET /ws/{workflow_name}/{app_id}/{chat_id}/{user_id}`: check, then accept, then serve.

Everything is checked before a single data frame goes out: capacity (1013), the token, that
`sub` is the user in the path and the token's app is this tenant (1008), the workflow, and that
an existing chat belongs to this user and workflow (1008, same reason as for a missing one, so
nothing about other users' chats leaks). A refused socket is accepted only to carry the close
code and a short reason, since browsers cannot see an HTTP status on a refused handshake.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, WebSocket
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocketState

from mozaiks_runtime.auth.authenticate import authenticate
from mozaiks_runtime.auth.bearer import ws_token
from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.chats.service import ChatService
from mozaiks_runtime.config import Settings
from mozaiks_runtime.container import Runtime, runtime_of
from mozaiks_runtime.errors import MozaiksError, NotEntitled, NotFound, WorkflowNotFound
from mozaiks_runtime.logs import chat_context
from mozaiks_runtime.metrics import Metrics
from mozaiks_runtime.storage.base import ChatRecord
from mozaiks_runtime.tracing.context import traceparent
from mozaiks_runtime.ws.connection import Connection
from mozaiks_runtime.ws.dispatch import Dispatcher
from mozaiks_runtime.ws.messages import SERVER_DATA

log = logging.getLogger(__name__)
PATH = "/ws/{workflow_name}/{app_id}/{chat_id}/{user_id}"


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    """Accept only to close with a code and reason a browser can read. A client that offered the
    `bearer` subprotocol must get it echoed, or the browser fails the handshake and sees
    neither (and retries as if the network had dropped)."""
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol="bearer" if "bearer" in offered else None)
    await websocket.close(code, reason)


def _seconds_left(identity: Identity, settings: Settings) -> float | None:
    """How long the socket may stay open: until the token expires, with the verifier's leeway."""
    if identity.expires_at is None:
        return None
    left = identity.expires_at - datetime.now(UTC)
    return left.total_seconds() + settings.jwt_leeway_seconds


def _last_seq(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("last_seq")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise Refused(1008, "invalid last_seq")
    return int(raw)


async def _identify(
    websocket: WebSocket, runtime: Runtime, user_id: str
) -> tuple[Identity, str | None]:
    token, subprotocol = ws_token(
        offered_subprotocols=websocket.scope.get("subprotocols", []),
        query_token=websocket.query_params.get("access_token"),
        allow_query_token=runtime.settings.allow_query_token,
    )
    try:
        identity = await authenticate(runtime.settings, runtime.verifier, token, dev_user=user_id)
    except MozaiksError:
        raise Refused(1008, "unauthorized") from None
    return identity, subprotocol


async def _open_chat(
    service: ChatService, identity: Identity, *, workflow_name: str, chat_id: str
) -> tuple[ChatRecord, bool]:
    try:
        return await service.open_chat(identity, workflow_name=workflow_name, chat_id=chat_id)
    except WorkflowNotFound:
        raise Refused(1008, "unknown workflow") from None
    except NotEntitled:
        raise Refused(1008, "not entitled") from None
    except NotFound:
        raise Refused(1008, "chat not found") from None
    except MozaiksError as exc:  # rate limits, storage
        raise Refused(1013, exc.error_code.lower()) from None


def sent_counter(metrics: Metrics) -> Callable[[str], None]:
    """`metrics.event_sent`, with the series of each of our own frame types looked up once per
    process (this runs for every frame); other types go through the bounded path."""
    incs = {t: metrics.events_sent.labels(t).inc for t in SERVER_DATA}

    def count(event_type: str) -> None:
        inc = incs.get(event_type)
        if inc is None:
            metrics.event_sent(event_type)
        else:
            inc()

    return count


async def chat_socket(websocket: WebSocket) -> None:
    params = websocket.path_params
    workflow_name, app_id = params["workflow_name"], params["app_id"]
    chat_id, user_id = params["chat_id"], params["user_id"]
    runtime = runtime_of(websocket.app)
    settings, metrics, service = runtime.settings, runtime.metrics, runtime.chats
    traffic = runtime.traffic
    try:
        if traffic.draining or traffic.sockets >= settings.max_connections:
            raise Refused(1013, "overloaded")
        after_seq = _last_seq(websocket)
        identity, subprotocol = await _identify(websocket, runtime, user_id)
        if identity.user_id != user_id or identity.app_id != app_id:
            raise Refused(1008, "forbidden")
        if not identity.may_use_chat(chat_id) or len(chat_id) > 128:
            raise Refused(1008, "chat not found")
        chat, existed = await _open_chat(
            service, identity, workflow_name=workflow_name, chat_id=chat_id
        )
    except Refused as refused:
        await _refuse(websocket, refused.code, refused.reason)
        return

    await websocket.accept(subprotocol=subprotocol)
    traffic.sockets += 1
    metrics.ws_open.inc()
    connection = Connection(
        websocket,
        service=service,
        hub=runtime.hub,
        chat=chat,
        chat_existed=existed,
        max_frame_bytes=settings.max_frame_bytes,
        heartbeat_seconds=settings.heartbeat_seconds,
        poll_seconds=runtime.store_poll_seconds,
        on_sent=runtime.count_sent,
        expires_in=_seconds_left(identity, settings),
        trace_parent=traceparent(
            websocket.headers.get("traceparent") or websocket.query_params.get("traceparent")
        ),
    )
    try:
        with chat_context(chat.chat_id):
            await connection.run(Dispatcher(connection, service, identity), after_seq=after_seq)
    except Exception:
        log.exception("socket of chat %s failed", chat.chat_id)
        if websocket.application_state == WebSocketState.CONNECTED:
            await connection.close(1011, "internal error")
    finally:
        traffic.sockets -= 1
        metrics.ws_open.dec()


# A plain Starlette route: FastAPI's dependency machinery would stay alive (and hold memory)
# for the whole life of every socket, and this endpoint needs none of it.
router = APIRouter(routes=[WebSocketRoute(PATH, chat_socket, name="chat_socket")])
