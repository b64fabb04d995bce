"""WebSocket messages as pydantic models: the client's, as a union discriminated on `type`; and the
export of `docs/api/events/` from the server's `data` models (wire/events.py, `export_schemas`).

Client messages ignore fields they do not know (the widget sends a few extras); a message whose
`type` is unknown, or whose fields are wrong, fails validation and gets SCHEMA_VALIDATION_FAILED.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from mozaiks_runtime.chats import events
from mozaiks_runtime.errors import SchemaValidationFailed
from mozaiks_runtime.tracing.context import TRACEPARENT_PATTERN

MAX_TEXT = 20_000  # characters of one user message
Id = Annotated[str, Field(min_length=1, max_length=128)]


class _Client(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    traceparent: Annotated[str, Field(pattern=TRACEPARENT_PATTERN)] | None = Field(
        None,
        description="W3C trace context: the runs this socket starts from now on continue "
        "this trace (when the runtime exports traces).",
    )


class UserInputSubmit(_Client):
    type: Literal["user.input.submit"]
    chat_id: Id | None = None
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    input_request_id: Id | None = None
    context: dict[str, Any] | None = None


class UiToolResponse(_Client):
    type: Literal["ui_tool_response", "ui.tool.response"]
    eventId: Id
    response: dict[str, Any]


class ClientResume(_Client):
    type: Literal["client.resume"]
    chat_id: Id | None = None
    last_seq: Annotated[int, Field(ge=0)] | None = None
    lastClientIndex: Annotated[int, Field(ge=0)] | None = None

    @property
    def after(self) -> int:
        return max(self.last_seq or 0, self.lastClientIndex or 0)


class StartWorkflow(_Client):
    type: Literal["chat.start_workflow"]
    workflow_name: Annotated[str, Field(min_length=1, max_length=64)]
    initial_message: Annotated[str, Field(max_length=MAX_TEXT)] | None = None
    frontend_context: dict[str, Any] | None = None


class CancelRun(_Client):
    """Stop the chat's current run (`chat.run_cancelled` ends it)."""

    type: Literal["chat.cancel"]
    chat_id: Id | None = None
    reason: Annotated[str, Field(max_length=500)] | None = None


class UpgradeWorkflow(_Client):
    """Move the chat to the workflow version served now (between runs)."""

    type: Literal["chat.upgrade"]
    chat_id: Id | None = None


class Ping(_Client):
    type: Literal["ping"]


class Pong(_Client):
    type: Literal["pong"]


ClientMessage = Annotated[
    UserInputSubmit
    | UiToolResponse
    | ClientResume
    | StartWorkflow
    | CancelRun
    | UpgradeWorkflow
    | Ping
    | Pong,
    Field(discriminator="type"),
]
_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


def parse_client(text: str) -> ClientMessage:
    """One client frame; SchemaValidationFailed (with a short reason) when it is not valid."""
    try:
        raw = json.loads(text)
    except ValueError:
        raise SchemaValidationFailed("the frame is not valid JSON") from None
    if not isinstance(raw, dict):
        raise SchemaValidationFailed("a message is a JSON object")
    try:
        return _client_adapter.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        if first["type"] == "union_tag_invalid":
            raise SchemaValidationFailed(f"unknown message type {raw.get('type')!r}") from None
        raise SchemaValidationFailed(f"{where}: {first['msg']}") from None


# The server's messages: their `data` models are in wire/events.py, mapped by type in
# chats/events.py (which builds every frame from them); here they are exported.
SERVER_DATA = events.DATA


def server_schema(type_: str) -> dict[str, Any]:
    """JSON Schema of one server message: the envelope with this type's `data`."""
    data = SERVER_DATA[type_].model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": type_,
        "type": "object",
        "required": ["type", "chat_id", "timestamp", "data"],
        "properties": {
            "type": {"const": type_},
            "seq": {"type": "integer", "minimum": 1, "description": "Persisted events only."},
            "chat_id": {"type": "string"},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": data,
        },
    }


def export_schemas(directory: Path) -> list[Path]:
    """Write server/<type>.json for every server message and client.json for the client union."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for type_ in sorted(SERVER_DATA):
        path = directory / f"server.{type_}.json"
        path.write_text(json.dumps(server_schema(type_), indent=2, sort_keys=True) + "\n")
        written.append(path)
    client = directory / "client.json"
    client.write_text(json.dumps(_client_adapter.json_schema(), indent=2, sort_keys=True) + "\n")
    written.append(client)
    return written
