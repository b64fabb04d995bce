"""The routes the shipped ChatUI widget already calls, with the same auth and ownership checks
as the rest of the API (the widget sometimes sends no token: those calls get a 401)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from mozaiks_runtime.api.catalog import visible_catalog
from mozaiks_runtime.api.deps import (
    IdentityDep,
    RegistryDep,
    ServiceDep,
    SettingsDep,
    TraceParentDep,
)
from mozaiks_runtime.api.links import ws_url
from mozaiks_runtime.api.schemas import (
    Exists,
    SessionList,
    SessionSummary,
    StartChatOut,
    Success,
    UiToolIn,
    UserInputIn,
)
from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.chats.events import chat_meta_data
from mozaiks_runtime.errors import NotFound
from mozaiks_runtime.wire.catalog import WorkflowEntry
from mozaiks_runtime.wire.events import ChatMeta

router = APIRouter(prefix="/api", tags=["widget"])


def _same_app(identity: Identity, app_id: str) -> None:
    if app_id != identity.app_id:
        raise NotFound("no such app")


@router.post("/chats/{app_id}/{workflow_name}/start")
async def start_chat(
    app_id: str,
    workflow_name: str,
    identity: IdentityDep,
    service: ServiceDep,
    settings: SettingsDep,
    request: Request,
) -> StartChatOut:
    _same_app(identity, app_id)
    chat, _ = await service.open_chat(identity, workflow_name=workflow_name)
    return StartChatOut(
        success=True,
        chat_id=chat.chat_id,
        workflow_name=chat.workflow_name,
        app_id=chat.app_id,
        user_id=chat.user_id,
        websocket_url=ws_url(request, settings, chat),
    )


@router.get("/chats/exists/{app_id}/{workflow_name}/{chat_id}")
async def chat_exists(
    app_id: str, workflow_name: str, chat_id: str, identity: IdentityDep, service: ServiceDep
) -> Exists:
    """True only for the caller's own chat of this workflow (others' chats do not exist)."""
    _same_app(identity, app_id)
    try:
        chat = await service.find_chat(identity, chat_id)
    except NotFound:
        return Exists(exists=False)
    return Exists(exists=chat is not None and chat.workflow_name == workflow_name)


@router.get("/chats/meta/{app_id}/{workflow_name}/{chat_id}")
async def chat_meta(
    app_id: str, workflow_name: str, chat_id: str, identity: IdentityDep, service: ServiceDep
) -> ChatMeta:
    _same_app(identity, app_id)
    chat = await service.get_chat(identity, chat_id)
    if chat.workflow_name != workflow_name:
        raise NotFound("chat not found")
    last_seq = await service.last_seq(chat)
    return chat_meta_data(chat, last_seq=last_seq, exists=True)


@router.get("/sessions/list/{app_id}/{user_id}")
async def list_user_sessions(
    app_id: str, user_id: str, identity: IdentityDep, service: ServiceDep
) -> SessionList:
    _same_app(identity, app_id)
    page = await service.list_chats(identity, user_id=user_id, limit=200, cursor=None)
    return SessionList(
        sessions=[SessionSummary.of(c) for c in page.chats], next_cursor=page.next_cursor
    )


@router.get("/workflows/{app_id}/available")
async def available_workflows(
    app_id: str, identity: IdentityDep, registry: RegistryDep
) -> dict[str, WorkflowEntry]:
    _same_app(identity, app_id)
    return visible_catalog(registry, identity)


@router.post("/user-input/submit")
async def submit_user_input(
    body: UserInputIn, identity: IdentityDep, service: ServiceDep, trace_parent: TraceParentDep
) -> Success:
    await service.answer_input(
        identity, request_id=body.input_request_id, text=body.user_input, trace_parent=trace_parent
    )
    return Success()


@router.post("/ui-tool/submit")
async def submit_ui_tool(
    body: UiToolIn, identity: IdentityDep, service: ServiceDep, trace_parent: TraceParentDep
) -> Success:
    await service.answer_ui_tool(
        identity, event_id=body.event_id, response=body.response_data, trace_parent=trace_parent
    )
    return Success()
