"""Event kinds and the wire envelope. Pure: no I/O, no clock unless one is passed in.

Envelope (docs/protocol.md): `{"type", "seq", "chat_id", "timestamp", "data"}`. Persisted events
carry their `seq`; transient frames (heartbeats, token chunks, replies to one socket) carry none.
Every event and frame is built here from its `data` model (wire/events.py; `DATA` maps each type
to its model, and `event`/`transient` refuse anything else), so the shapes the docs export are
the shapes sent. Frames are serialised once, when they are built, so fanning one event out to
many sockets does not serialise it again per socket; a stored event's data is embedded as the
JSON text the store already made of it (jsontext.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from mozaiks_runtime import jsontext
from mozaiks_runtime.engine.base import (
    EngineEvent,
    SpeakerSelected,
    TextChunk,
    TextMessage,
    ToolCall,
    ToolResult,
)
from mozaiks_runtime.storage.base import ChatRecord, NewEvent, StoredEvent, utcnow
from mozaiks_runtime.wire import events as wire

# Persisted kinds (they get a seq).
RUN_START = "chat.run_start"
SELECT_SPEAKER = "chat.select_speaker"
TEXT = "chat.text"
TOOL_CALL = "chat.tool_call"
TOOL_RESPONSE = "chat.tool_response"
INPUT_REQUEST = "chat.input_request"
INPUT_ACK = "chat.input_ack"
INPUT_TIMEOUT = "chat.input_timeout"
UI_TOOL_COMPLETE = "chat.ui_tool_complete"
UI_TOOL_DISMISS = "chat.ui_tool_dismiss"
USAGE_DELTA = "chat.usage_delta"
USAGE_SUMMARY = "chat.usage_summary"
RUN_COMPLETE = "chat.run_complete"
RUN_CANCELLED = "chat.run_cancelled"  # ends a cancelled run, in place of chat.run_complete
WORKFLOW_UPGRADED = "chat.workflow_upgraded"
ERROR = "chat.error"
# Transient kinds (no seq).
CHAT_META = "chat_meta"
TEXT_CHUNK = "chat.text_chunk"
RESUME_BOUNDARY = "chat.resume_boundary"
WORKFLOW_STARTED = "chat.workflow_started"
MESSAGE_QUEUED = "chat.message_queued"  # a message waits for the current run (double-texting)
ACK_UI_TOOL = "ack.ui_tool_response"
PING = "ping"
PONG = "pong"

# The `data` model of every message type: the only shapes `event` and `transient` accept.
DATA: dict[str, type[wire.WireData]] = {
    CHAT_META: wire.ChatMeta,
    RUN_START: wire.RunStartData,
    SELECT_SPEAKER: wire.AgentData,
    TEXT: wire.TextData,
    TEXT_CHUNK: wire.TextChunkData,
    TOOL_CALL: wire.ToolCallData,
    TOOL_RESPONSE: wire.ToolResponseData,
    INPUT_REQUEST: wire.InputRequestData,
    INPUT_ACK: wire.InputAckData,
    INPUT_TIMEOUT: wire.RequestIdData,
    UI_TOOL_COMPLETE: wire.UiToolDoneData,
    UI_TOOL_DISMISS: wire.UiToolDoneData,
    ACK_UI_TOOL: wire.UiToolAckData,
    USAGE_DELTA: wire.UsageDeltaData,
    USAGE_SUMMARY: wire.UsageSummaryData,
    RUN_COMPLETE: wire.RunCompleteData,
    WORKFLOW_UPGRADED: wire.WorkflowUpgradedData,
    RUN_CANCELLED: wire.RunCancelledData,
    MESSAGE_QUEUED: wire.MessageQueuedData,
    RESUME_BOUNDARY: wire.ResumeBoundaryData,
    WORKFLOW_STARTED: wire.WorkflowStartedData,
    ERROR: wire.ErrorData,
    PING: wire.EmptyData,
    PONG: wire.EmptyData,  # the reply to a client's `ping`
}


@dataclass(frozen=True, slots=True)
class Frame:
    """One server-to-client message, serialised. `seq` is None for transient frames."""

    type: str
    seq: int | None
    text: str
    close: tuple[int, str] | None = None  # (code, reason): the socket closes once it sent it


@dataclass(frozen=True, slots=True)
class RunScope:
    """Who a run belongs to: fills the fields usage events repeat."""

    chat_id: str
    app_id: str
    user_id: str
    workflow_name: str


_last_stamp: tuple[datetime | None, str] = (None, "")


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, millisecond precision. Runs for every frame, and the frames
    of a burst share their moment (storage.base.utcnow), so the last one is remembered."""
    global _last_stamp
    cached = _last_stamp
    if cached[0] != moment:
        # isoformat is several times faster than strftime.
        text = moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        cached = _last_stamp = (moment, text)
    return cached[1]


def envelope(
    type_: str,
    data: Mapping[str, Any] | jsontext.Raw,
    *,
    chat_id: str,
    seq: int | None = None,
    moment: datetime | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_}
    if seq is not None:
        body["seq"] = seq
    body["chat_id"] = chat_id
    body["timestamp"] = timestamp(moment or utcnow())
    body["data"] = data if isinstance(data, jsontext.Raw) else dict(data)
    return body


Data = wire.WireData | wire.Trusted  # a model instance, or `Model.trusted(...)` on the hot path


def data_of(type_: str, data: Data) -> dict[str, Any]:
    """`data` as the dict sent: the fields its builder set (a default left out stays out, as in
    the frames before the models); TypeError unless it was built as the model of `type_`."""
    model = DATA.get(type_)
    if isinstance(data, wire.Trusted):
        if data.model is model:
            return data.data
    elif type(data) is model:
        return data.as_dict()
    raise TypeError(f"{type_!r} data must be built as its model, not {type(data).__name__}")


def event(type_: str, data: Data) -> NewEvent:
    """A persisted event, its data built from the model of its type."""
    return NewEvent(type_, data_of(type_, data))


def transient(type_: str, data: Data, *, chat_id: str) -> Frame:
    body = envelope(type_, data_of(type_, data), chat_id=chat_id)
    return Frame(type_, None, jsontext.dumps(body))


def stored_frame(event: StoredEvent, *, replay: bool = False) -> Frame:
    """The frame of a persisted event; replays add `replay: true` to its data."""
    data = {**event.data, "replay": True} if replay else jsontext.Raw(event.data_text())
    body = envelope(event.type, data, chat_id=event.chat_id, seq=event.seq, moment=event.timestamp)
    return Frame(event.type, event.seq, jsontext.dumps(body))


def from_engine(event_: EngineEvent, scope: RunScope) -> NewEvent | Frame:
    """An engine event as a NewEvent to persist, or (token chunks) a transient Frame.
    ModelUsage is priced first (usage/accounting.py), so it is not translated here."""
    match event_:
        case TextChunk(agent=agent, content=content):
            chunk = wire.TextChunkData.trusted(agent=agent, content=content)
            return transient(TEXT_CHUNK, chunk, chat_id=scope.chat_id)
        case SpeakerSelected(agent=agent):
            return event(SELECT_SPEAKER, wire.AgentData.trusted(agent=agent))
        case TextMessage(agent=agent, content=content, role=role, visible=visible):
            text = wire.TextData.trusted(agent=agent, content=content, role=role, visible=visible)
            return event(TEXT, text)
        case ToolCall(call_id=call_id, name=name, agent=agent, arguments=arguments):
            call = wire.ToolCallData.trusted(
                call_id=call_id, name=name, agent=agent, arguments=dict(arguments)
            )
            return event(TOOL_CALL, call)
        case ToolResult(call_id=call_id, name=name, agent=agent, result=result, status=status):
            response = wire.ToolResponseData.trusted(
                call_id=call_id, name=name, agent=agent, result=result, status=status
            )
            return event(TOOL_RESPONSE, response)
    raise TypeError(f"not an engine event: {event_!r}")


def chat_meta_data(chat: ChatRecord, *, last_seq: int, exists: bool) -> wire.ChatMeta:
    """What `chat_meta` (first frame of a socket) and GET /api/chats/meta say of a chat."""
    return wire.ChatMeta(
        chat_id=chat.chat_id,
        workflow_name=chat.workflow_name,
        app_id=chat.app_id,
        user_id=chat.user_id,
        status=chat.status,
        last_seq=last_seq,
        created_at=timestamp(chat.created_at),
        chat_exists=exists,
    )


def text_data(
    *, agent: str, content: str, role: Literal["assistant", "user"], visible: bool = True
) -> wire.TextData:
    return wire.TextData(agent=agent, content=content, role=role, visible=visible)


def cancelled_data(*, by: str, reason: str, agent: str | None) -> wire.RunCancelledData:
    return wire.RunCancelledData(by=by, reason=reason, agent=agent)


def error_data(message: str, error_code: str) -> wire.ErrorData:
    return wire.ErrorData(message=message, error_code=error_code)
