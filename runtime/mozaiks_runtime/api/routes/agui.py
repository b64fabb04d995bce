"""/api/agui: AG-UI runs (CopilotKit and other AG-UI clients) on the same chats as the widget.

`POST /api/agui/{workflow_name}` runs the thread `threadId`: the caller's chat with that id,
created on first use (like a WebSocket to an unused chat id). `POST /api/agui/{workflow_name}/
{chat_id}` runs an existing chat, whatever the client's `threadId` (echoed on the events), e.g.
one started over the WebSocket. Both take a RunAgentInput and answer an AG-UI event stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from typing import Any

from ag_ui.core import RunAgentInput
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from mozaiks_runtime.agui.stream import AguiRuns
from mozaiks_runtime.api.deps import IdentityDep, RuntimeDep
from mozaiks_runtime.container import Runtime, Traffic
from mozaiks_runtime.errors import Overloaded, UnprocessableBody


class _AguiRoute(APIRoute):
    """FastAPI's own body check answers with our error body (`error_code`) here too."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
                reason = f"{where}: {first.get('msg', 'invalid')}"
                raise UnprocessableBody(f"not an AG-UI RunAgentInput: {reason}") from None

        return route


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


class ErrorOut(BaseModel):
    detail: str
    error_code: str


_EVENTS = {
    "description": "AG-UI events as server-sent events (`data: {json}` per event): "
    "RUN_STARTED, STATE_SNAPSHOT, then STEP_*, TEXT_MESSAGE_*, TOOL_CALL_* and "
    "TOOL_CALL_RESULT as the chat's log grows, then STATE_DELTA and RUN_FINISHED (with "
    "`pendingToolCallIds` when the run waits for the user) or RUN_ERROR.",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


def _error(description: str) -> dict[str, Any]:
    """An error answer (JSON, whatever the route's success media type is)."""
    schema = ErrorOut.model_json_schema()
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _EVENTS,
    401: _error("no valid token (`UNAUTHORIZED`)"),
    404: _error(
        "unknown workflow (`WORKFLOW_NOT_FOUND`), a chat that is not the caller's "
        "(`NOT_FOUND`), a tool result for a call the chat never made (`TOOL_CALL_NOT_FOUND`)"
    ),
    409: _error("a user message while a run goes on (`CONFLICT`)"),
    413: _error("a body over MOZAIKS_MAX_BODY_BYTES (`BODY_TOO_LARGE`)"),
    422: _error("not a valid RunAgentInput (`SCHEMA_VALIDATION_FAILED`)"),
    429: _error("`BUDGET_EXCEEDED` or `RATE_LIMITED` (with `Retry-After`)"),
    503: _error("`OVERLOADED`: as many streams and sockets as the runtime takes, or draining"),
}
_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering


async def _counted(traffic: Traffic, stream: AsyncGenerator[str, None]) -> AsyncIterator[str]:
    """The stream, counted as an open connection while it is being sent."""
    traffic.sockets += 1
    try:
        async for chunk in stream:
            yield chunk
    finally:
        traffic.sockets -= 1
        await stream.aclose()  # the client left: stop following the chat (its run goes on)


router = APIRouter(prefix="/api/agui", tags=["agui"], route_class=_AguiRoute)


def _runs(runtime: Runtime) -> AguiRuns:
    """Streams count with the sockets against MOZAIKS_MAX_CONNECTIONS, and none opens while
    the runtime drains."""
    traffic, settings = runtime.traffic, runtime.settings
    if traffic.draining or traffic.sockets >= settings.max_connections:
        raise Overloaded("the runtime is at capacity; retry shortly")
    return AguiRuns(
        runtime.chats,
        runtime.hub,
        poll_seconds=runtime.store_poll_seconds,
        heartbeat_seconds=settings.heartbeat_seconds,
        draining=lambda: traffic.draining,
    )


@router.post("/{workflow_name}", response_class=EventStream, responses=_RESPONSES)
async def run_thread(
    workflow_name: str,
    body: RunAgentInput,
    identity: IdentityDep,
    runtime: RuntimeDep,
) -> EventStream:
    """Run the thread `threadId` (the caller's chat with that id; created when new): the new
    messages of the input (its tail: the user's next message, tool results answering the
    chat's questions) go to the chat, and its log streams back as AG-UI events."""
    stream = await _runs(runtime).start(identity, body, workflow_name=workflow_name)
    return EventStream(_counted(runtime.traffic, stream), headers=_HEADERS)


@router.post("/{workflow_name}/{chat_id}", response_class=EventStream, responses=_RESPONSES)
async def run_chat(
    workflow_name: str,
    chat_id: str,
    body: RunAgentInput,
    identity: IdentityDep,
    runtime: RuntimeDep,
) -> EventStream:
    """Run an existing chat of the caller (started over AG-UI, the WebSocket or
    `POST /api/sessions`); the client's `threadId` is only echoed on the events."""
    stream = await _runs(runtime).start(
        identity, body, workflow_name=workflow_name, chat_id=chat_id
    )
    return EventStream(_counted(runtime.traffic, stream), headers=_HEADERS)
