"""/api/sessions: create or resume a chat, read its state, list the caller's chats, page history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from mozaiks_runtime.api.deps import (
    IdentityDep,
    OwnedChatDep,
    ServiceDep,
    SettingsDep,
    TraceParentDep,
)
from mozaiks_runtime.api.links import ws_url
from mozaiks_runtime.api.schemas import (
    CancelRequest,
    CreateSession,
    EventOut,
    EventPage,
    PendingOut,
    SessionCancelled,
    SessionCreated,
    SessionList,
    SessionState,
    SessionSummary,
    SessionUpgraded,
)
from mozaiks_runtime.errors import NotFound

router = APIRouter(prefix="/api/sessions", tags=["sessions"])

ALL_USERS = "*"  # user_id=* lists the whole app (admin scope only)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_session(
    body: CreateSession,
    identity: IdentityDep,
    service: ServiceDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    trace_parent: TraceParentDep,
) -> SessionCreated:
    """Create a chat, or resume the caller's chat when `chat_id` names one (200). With a
    `traceparent`, `ws_url` carries it: the run the socket starts continues the caller's trace."""
    chat, existed = await service.open_chat(
        identity, workflow_name=body.workflow_name, chat_id=body.chat_id, context=body.context
    )
    if existed:
        response.status_code = status.HTTP_200_OK
    return SessionCreated(
        chat_id=chat.chat_id,
        workflow_name=chat.workflow_name,
        status=chat.status,
        ws_url=ws_url(request, settings, chat, trace_parent=trace_parent),
        created=not existed,
    )


@router.get("")
async def list_sessions(
    identity: IdentityDep,
    service: ServiceDep,
    app_id: str | None = None,
    user_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> SessionList:
    """The caller's chats, newest first; another user's or all (`user_id=*`) need admin."""
    if app_id is not None and app_id != identity.app_id:
        raise NotFound("no such app")
    who = identity.user_id if user_id is None else (None if user_id == ALL_USERS else user_id)
    page = await service.list_chats(identity, user_id=who, limit=limit, cursor=cursor)
    return SessionList(
        sessions=[SessionSummary.of(c) for c in page.chats], next_cursor=page.next_cursor
    )


@router.get("/{chat_id}")
async def get_session(chat: OwnedChatDep, service: ServiceDep) -> SessionState:
    last_seq = await service.last_seq(chat)
    pending = [PendingOut.of(r) for r in await service.open_requests(chat)]
    summary = SessionSummary.of(chat, last_seq=last_seq)
    current = service.current_version(chat.workflow_name)
    return SessionState(
        **summary.model_dump(),
        pending=pending,
        current_workflow_version=current,
        upgrade_available=current is not None and current != chat.workflow_version,
    )


@router.post("/{chat_id}/cancel")
async def cancel_session(
    chat: OwnedChatDep,
    identity: IdentityDep,
    service: ServiceDep,
    body: CancelRequest | None = None,
) -> SessionCancelled:
    """Stop the chat's current run: it ends with `chat.run_cancelled` (who and why), its open
    questions close and the chat takes the next message. 409 `NO_ACTIVE_RUN` when no run goes
    on; repeating a cancel answers 200 with `cancelled: false`."""
    reason = body.reason if body is not None and body.reason else ""
    cancelled = await service.cancel(identity, chat.chat_id, reason=reason)
    now = await service.get_chat(identity, chat.chat_id)
    return SessionCancelled(chat_id=now.chat_id, status=now.status, cancelled=cancelled)


@router.post("/{chat_id}/upgrade")
async def upgrade_session(
    chat: OwnedChatDep, identity: IdentityDep, service: ServiceDep
) -> SessionUpgraded:
    """Move the chat to the workflow version served now (recorded in its log as
    `chat.workflow_upgraded`); 409 while a run is going, 404 when the workflow is gone."""
    moved, previous = await service.upgrade(identity, chat.chat_id)
    return SessionUpgraded(
        chat_id=moved.chat_id,
        workflow_version=moved.workflow_version,
        previous_version=previous,
        upgraded=previous is not None,
    )


@router.get("/{chat_id}/events")
async def session_events(
    chat: OwnedChatDep,
    service: ServiceDep,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> EventPage:
    found = await service.events_after(chat, after_seq, limit)
    return EventPage(events=[EventOut.of(e) for e in found], last_seq=await service.last_seq(chat))
