"""HTTP request and response bodies; stored records never go out on the wire as they are."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from mozaiks_runtime.chats.events import timestamp
from mozaiks_runtime.storage.base import ChatRecord, PendingRequest, StoredEvent

ChatId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
WorkflowName = Annotated[str, Field(min_length=1, max_length=64)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateSession(_In):
    workflow_name: WorkflowName
    chat_id: ChatId | None = None
    context: dict[str, Any] | None = None


class SessionCreated(BaseModel):
    chat_id: str
    workflow_name: str
    status: str
    ws_url: str
    created: bool


class PendingOut(BaseModel):
    request_id: str
    kind: str
    agent: str
    payload: dict[str, Any]
    expires_at: datetime

    @classmethod
    def of(cls, request: PendingRequest) -> PendingOut:
        return cls(
            request_id=request.request_id,
            kind=request.kind,
            agent=request.agent,
            payload=dict(request.payload),
            expires_at=request.expires_at,
        )


class SessionSummary(BaseModel):
    chat_id: str
    app_id: str
    user_id: str
    workflow_name: str
    workflow_version: str
    status: str
    created_at: datetime
    updated_at: datetime
    last_seq: int
    total_tokens: int

    @classmethod
    def of(cls, chat: ChatRecord, *, last_seq: int | None = None) -> SessionSummary:
        return cls(
            chat_id=chat.chat_id,
            app_id=chat.app_id,
            user_id=chat.user_id,
            workflow_name=chat.workflow_name,
            workflow_version=chat.workflow_version,
            status=chat.status,
            created_at=chat.created_at,
            updated_at=chat.updated_at,
            last_seq=chat.last_seq if last_seq is None else last_seq,
            total_tokens=chat.total_tokens,
        )


class SessionState(SessionSummary):
    pending: list[PendingOut]
    current_workflow_version: str | None = Field(
        description="The content hash served now (null: the workflow is no longer served); the "
        "chat keeps running `workflow_version`, the one it is pinned to, until upgraded."
    )
    upgrade_available: bool


class CancelRequest(BaseModel):
    reason: str | None = Field(None, max_length=500)


class SessionCancelled(BaseModel):
    chat_id: str
    status: str = Field(description="The chat's status now (`idle`: it takes the next message).")
    cancelled: bool = Field(description="false: the last run had been cancelled already.")


class SessionUpgraded(BaseModel):
    chat_id: str
    workflow_version: str = Field(description="The content hash the chat is pinned to now.")
    previous_version: str | None = Field(description="null: it was on this version already.")
    upgraded: bool


class SessionList(BaseModel):
    sessions: list[SessionSummary]
    next_cursor: str | None


class EventOut(BaseModel):
    type: str
    seq: int
    chat_id: str
    timestamp: str
    data: dict[str, Any]

    @classmethod
    def of(cls, event: StoredEvent) -> EventOut:
        return cls(
            type=event.type,
            seq=event.seq,
            chat_id=event.chat_id,
            timestamp=timestamp(event.timestamp),
            data=dict(event.data),
        )


class EventPage(BaseModel):
    events: list[EventOut]
    last_seq: int = Field(description="The chat's highest seq; page on with after_seq.")


class Eligibility(BaseModel):
    workflow_name: str
    eligible: bool
    reason: str | None = Field(
        None, description="Why not, as a stable code: `NOT_ENTITLED` or `BUDGET_EXCEEDED`."
    )
    message: str | None = Field(None, description="Why not, in words (may change).")


# The routes the widget already calls


class StartChatOut(BaseModel):
    success: bool
    chat_id: str
    workflow_name: str
    app_id: str
    user_id: str
    websocket_url: str


class Exists(BaseModel):
    exists: bool


class _WidgetIn(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the widget may send fields we do not use


class UserInputIn(_WidgetIn):
    input_request_id: Annotated[str, Field(min_length=1, max_length=128)]
    user_input: Annotated[str, Field(min_length=1, max_length=20_000)]


class UiToolIn(_WidgetIn):
    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    response_data: dict[str, Any]


class Success(BaseModel):
    success: bool = True


# The session broker (api/routes/broker.py)

UserId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^/\s]+$")]


class BrokerSessionIn(_In):
    """The seed's `StartWorkflowRequest` (workflow, optional chat to resume), plus who the
    session is for: the user's id and the claims the runtime checks entitlements against."""

    user_id: UserId = Field(..., description="The user the session is for (the token's `sub`).")
    workflow_name: WorkflowName
    chat_id: ChatId | None = Field(None, description="Resume this chat of the user's.")
    context: dict[str, Any] | None = None
    claims: dict[str, Any] = Field(
        default_factory=dict,
        description="The user's claims (e.g. `roles`), checked against the workflow's `access` "
        "rules and carried in the minted token; not the reserved ones (`sub`, `app_id`, "
        "`chat_id`, `exp`...), and no admin or broker scope.",
    )


class BrokerEligibilityIn(_In):
    """Whether this user (with these claims) may start the workflow now."""

    user_id: UserId
    workflow_name: WorkflowName
    claims: dict[str, Any] = Field(default_factory=dict)


class BrokerSession(BaseModel):
    """The seed's `StartWorkflowResponse`: what the broker hands to the browser."""

    chat_id: str
    workflow_name: str
    ws_url: str
    token: str = Field(..., description="A user token for this chat only, minted by the runtime.")
    expires_at: datetime
    status: str
    created: bool
