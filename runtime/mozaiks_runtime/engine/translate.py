"""AG2 stream events become our `EngineEvent`s. Pure: no I/O, no state, no clock.

What crosses over, per agent turn:

| AG2 event                               | ours                                            |
|-----------------------------------------|-------------------------------------------------|
| `ModelMessageChunk`                     | `TextChunk` (transient; only for shown agents)  |
| `ModelResponse` with text               | `TextMessage` (`visible` = the agent's flag)    |
| `ToolCallEvent`                         | `ToolCall`                                      |
| `ToolResultEvent` / `ToolErrorEvent`    | `ToolResult` (`ok` / `error`)                   |
| `ToolResultsEvent` (the batch)          | the results not reported one by one             |
| `UsageEvent(kind="model_call")`         | `ModelUsage`                                    |

Calls of UI and human-input tools are left out: the chat service reports those itself (the UI
tool's `chat.tool_call` with its `corr`, the `chat.input_request`). Everything else (requests,
reasoning, lifecycle, human-input plumbing) stays inside the engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ag2.events import (
    BaseEvent,
    DataInput,
    ModelMessageChunk,
    ModelResponse,
    TextInput,
    ToolCallEvent,
    ToolErrorEvent,
    ToolResultEvent,
    ToolResultsEvent,
    UsageEvent,
)

from mozaiks_runtime.engine.base import (
    EngineEvent,
    ModelUsage,
    TextChunk,
    TextMessage,
    ToolCall,
    ToolResult,
)

MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class TurnView:
    """What the translation needs to know about the agent whose turn it is."""

    agent: str
    visible: bool = True
    model: str = ""  # reported when the provider does not name the model
    silent_tools: frozenset[str] = frozenset()


def translate(event: BaseEvent, turn: TurnView, *, model_seconds: float = 0.0) -> list[EngineEvent]:
    """Our events for one AG2 event (usually zero or one). `model_seconds`: how long the model
    call that a `UsageEvent` reports took."""
    if isinstance(event, ModelMessageChunk):
        if turn.visible and event.content:
            return [TextChunk(agent=turn.agent, content=event.content)]
        return []
    if isinstance(event, ModelResponse):
        content = event.content
        if content and content.strip():
            return [TextMessage(agent=turn.agent, content=content, visible=turn.visible)]
        return []
    if isinstance(event, ToolResultEvent):
        return _tool_results([event], turn)
    if isinstance(event, ToolResultsEvent):
        # Results also arrive one by one, except a call whose tool middleware failed (a timeout):
        # that one is only in this batch. `TurnTranslator` drops the ones already reported.
        return _tool_results(event.results, turn)
    if isinstance(event, ToolCallEvent):
        if event.name in turn.silent_tools:
            return []
        return [
            ToolCall(
                call_id=event.id,
                name=event.name,
                agent=turn.agent,
                arguments=_arguments(event.arguments),
            )
        ]
    if isinstance(event, UsageEvent) and event.kind == "model_call":
        usage = event.usage
        return [
            ModelUsage(
                agent=turn.agent,
                model=event.model or turn.model,
                prompt_tokens=int(usage.prompt_tokens or 0),
                completion_tokens=int(usage.completion_tokens or 0),
                duration_sec=round(max(model_seconds, 0.0), 6),
            )
        ]
    return []


class TurnTranslator:
    """`translate` over one turn's event sequence, reporting each tool result once."""

    def __init__(self, turn: TurnView) -> None:
        self.turn = turn
        self._results: set[str] = set()

    def feed(self, event: BaseEvent, *, model_seconds: float = 0.0) -> list[EngineEvent]:
        out = translate(event, self.turn, model_seconds=model_seconds)
        # a tuple, not `A | B`: ag2's event classes overload `|` to build stream conditions
        if not isinstance(event, (ToolResultEvent, ToolResultsEvent)):
            return out
        fresh = [e for e in out if isinstance(e, ToolResult) and e.call_id not in self._results]
        self._results.update(e.call_id for e in fresh)
        return list(fresh)


def _tool_results(results: Iterable[ToolResultEvent], turn: TurnView) -> list[EngineEvent]:
    out: list[EngineEvent] = []
    for event in results:
        if (event.name or "") in turn.silent_tools:
            continue
        status: Literal["ok", "error"]
        if isinstance(event, ToolErrorEvent):  # a subclass of ToolResultEvent
            value, status = _error_text(event.error), "error"
        else:
            value, status = result_value(event.result.parts), "ok"
        out.append(
            ToolResult(
                call_id=event.parent_id,
                name=event.name or "",
                agent=turn.agent,
                result=value,
                status=status,
            )
        )
    return out


def result_value(parts: Iterable[Any]) -> Any:
    """A tool result as JSON: one part as itself (text, or the data), several as a list."""
    values = [_part_value(p) for p in parts]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _part_value(part: Any) -> Any:
    if isinstance(part, TextInput):
        return part.content
    if isinstance(part, DataInput):
        return _jsonable(part.data)
    return f"<{type(part).__name__}>"


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=_default))
    except (TypeError, ValueError):
        return str(value)


def _default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    return str(value)


def _arguments(raw: str) -> Mapping[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_value": value}


def _error_text(error: BaseException) -> str:
    """The error the user may see: its type and message, never a traceback."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
