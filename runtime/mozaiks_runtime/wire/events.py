"""The server's messages on the wire: one pydantic model per `data` shape.

chats/ builds every event and frame from these (chats/events.py maps each message type to its
model and refuses anything else), and ws/messages.py exports `docs/api/events/` from the same
models: there is no second description. Pure shapes: no I/O, no imports from the rest of the
runtime, so the domain and the edges can both import them.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field


class WireData(BaseModel):
    """The `data` of one server message. Extra keys are allowed: a replayed event adds
    `replay: true` to what was stored."""

    model_config = ConfigDict(extra="allow")

    def as_dict(self) -> dict[str, Any]:
        """The data as sent: the fields the builder set, extras last; what model_dump(
        exclude_unset=True) gives for a flat model, several times faster (every event of a run
        goes through it)."""
        data = self.__dict__.copy()
        for name in _defaulted(type(self)):
            if name not in self.__pydantic_fields_set__:
                del data[name]
        if self.__pydantic_extra__:
            data.update(self.__pydantic_extra__)
        return data

    @classmethod
    def trusted(cls, **values: Any) -> Trusted:
        """Data the runtime made itself, on the hot path (every engine event): not validated,
        since a pydantic instance would double the cost of building an event. The keywords of
        every `trusted` call are checked against the model by a unit test (test_wire_frames)."""
        return Trusted(cls, values)


class Trusted(NamedTuple):
    """`data` built by `WireData.trusted`: the model it follows and the dict sent."""

    model: type[WireData]
    data: dict[str, Any]


@cache
def _defaulted(model: type[WireData]) -> tuple[str, ...]:
    """The fields a builder may leave out (they have a default)."""
    return tuple(name for name, info in model.model_fields.items() if not info.is_required())


class ChatMeta(WireData):  # `chat_meta`, a socket's first frame, and GET /api/chats/meta
    chat_id: str
    workflow_name: str
    app_id: str
    user_id: str
    status: str
    last_seq: int
    created_at: str
    chat_exists: bool


class AgentData(WireData):
    agent: str


class RunStartData(WireData):
    agent: str
    traceparent: str | None = Field(
        None,
        description="The run's W3C trace context, when the runtime traces runs: a run resumed "
        "after a crash continues this trace.",
    )


class TextChunkData(WireData):
    agent: str
    content: str = Field(description="The next piece of the agent's message.")


class TextData(WireData):
    agent: str
    content: str
    role: Literal["assistant", "user"]
    visible: bool = True
    replay: bool | None = None


class ToolCallData(WireData):
    call_id: str | None = Field(None, description="Agent tools.")
    name: str | None = Field(None, description="Agent tools.")
    agent: str
    arguments: dict[str, Any] | None = Field(None, description="Agent tools.")
    tool_name: str | None = Field(None, description="UI tools.")
    component_type: str | None = Field(None, description="UI tools.")
    awaiting_response: bool | None = Field(None, description="UI tools: true.")
    payload: dict[str, Any] | None = Field(None, description="UI tools.")
    corr: str | None = Field(None, description="UI tools: the eventId to answer with.")
    display: Literal["inline", "artifact"] | None = None


class ToolResponseData(WireData):
    call_id: str
    name: str
    agent: str
    result: Any
    status: Literal["ok", "error"]


class InputRequestData(WireData):
    request_id: str
    agent: str
    prompt: str
    password: bool


class InputAckData(WireData):
    request_id: str
    input_request_id: str
    status: str


class RequestIdData(WireData):
    request_id: str


class UiToolDoneData(WireData):
    eventId: str
    ui_tool_id: str
    status: str


class UiToolAckData(WireData):
    eventId: str
    status: str


class UsageDeltaData(WireData):
    chat_id: str
    app_id: str
    user_id: str
    workflow_name: str
    agent_name: str
    model_name: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    duration_sec: float
    cost: float = 0.0  # from the deployment's price table (MOZAIKS_PRICE_TABLE)


class UsageTotalsData(WireData):
    calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float = 0.0
    duration_sec: float = 0.0


class UsageSummaryData(UsageTotalsData):
    """The run's totals (usage/accounting.py's RunUsage), overall and per model."""

    chat_id: str
    workflow_name: str
    by_model: dict[str, UsageTotalsData] = Field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)  # nested models (once per run)


class RunCompleteData(WireData):
    status: str
    summary: str
    total_tokens: int


class ResumeBoundaryData(WireData):
    chat_id: str
    last_seq: int
    replayed_events: int


class WorkflowStartedData(WireData):
    chat_id: str
    workflow_name: str
    app_id: str
    user_id: str


class MessageQueuedData(WireData):
    position: int = Field(description="1: the message starts the next run.")
    policy: Literal["enqueue", "interrupt"]


class RunCancelledData(WireData):
    by: str = Field(description="The user who stopped the run.")
    reason: str
    agent: str | None = Field(description="The agent whose turn it was.")


class WorkflowUpgradedData(WireData):
    from_version: str = Field(description="The content hash the chat was pinned to.")
    to_version: str = Field(description="The content hash it runs from now on.")
    version: str = Field(description="The author's label of the new version.")
    by: str = Field(description="The user who upgraded the chat.")


class ErrorData(WireData):
    message: str
    error_code: str


class EmptyData(WireData):
    pass
