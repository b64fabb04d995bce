"""The built-in demo model: a deterministic AG2 model client for running without a provider.

It plugs in where a real model does (an `ag2.config.ModelConfig` whose client answers each call),
so the demo exercises the same engine path: streamed chunks, tool calls (and therefore hand-offs,
human input and UI tools), structured output and usage figures. Every reply starts with
`[demo model]`, so nobody mistakes it for a real model.

The policy, per agent turn (the messages after the last user-side request):
1. call the agent's tools one per model call, in the order the agent lists them, with arguments
   made from each tool's JSON Schema (`default`, then `examples`, then a placeholder);
   a negative answer from the user ("no", "cancel", ...) stops the remaining calls;
2. then answer in text, summarising the tool results (or echoing the request when there were
   none), or with an object made from the response schema when the agent has one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ag2.config import LLMClient, ModelConfig, ModelProvider
from ag2.context import ConversationContext
from ag2.events import (
    BaseEvent,
    DataInput,
    ModelMessage,
    ModelMessageChunk,
    ModelRequest,
    ModelResponse,
    TextInput,
    ToolCallEvent,
    ToolCallsEvent,
    ToolResultsEvent,
    Usage,
)
from ag2.response import ResponseProto
from ag2.tools.final.function_tool import FunctionToolSchema
from ag2.tools.schemas import ToolSchema
from fast_depends.library.serializer import SerializerProto

DEMO_MODEL = "demo"
PREFIX = "[demo model]"
HINT = "(I am the built-in demo model; set MOZAIKS_LLM_BASE_URL to use a real one.)"
_NEGATIVE = re.compile(r"^\s*(no|n|nope|cancel|stop|reject|decline|deny)\b", re.IGNORECASE)


class DemoConfig(ModelConfig):
    """`Agent(config=DemoConfig(agent="..."))`: one deterministic demo client per turn."""

    def __init__(self, *, agent: str, chunk_words: int = 4) -> None:
        self.agent = agent
        self.chunk_words = chunk_words

    @property
    def provider(self) -> ModelProvider:
        return ModelProvider.OPENAI  # the wire shapes it imitates; ag2 has no "demo" provider

    @property
    def model(self) -> str:
        return DEMO_MODEL

    def copy(self) -> DemoConfig:
        return DemoConfig(agent=self.agent, chunk_words=self.chunk_words)

    def create(self) -> DemoClient:
        return DemoClient(agent=self.agent, chunk_words=self.chunk_words)

    def create_files_client(self) -> Any:
        raise NotImplementedError("the demo model has no Files API")


class DemoClient(LLMClient):
    def __init__(self, *, agent: str, chunk_words: int = 4) -> None:
        self.agent = agent
        self.chunk_words = max(1, chunk_words)

    async def __call__(
        self,
        messages: Sequence[BaseEvent],
        context: ConversationContext,
        *,
        tools: Iterable[ToolSchema],
        response_schema: ResponseProto[Any] | None,
        serializer: SerializerProto,
    ) -> ModelResponse:
        history = list(messages)
        turn = _current_turn(history)
        called = [c.name for e in turn if isinstance(e, ModelResponse) for c in e.tool_calls.calls]
        results = [r for e in turn if isinstance(e, ToolResultsEvent) for r in e.results]
        prompt_tokens = _estimate_tokens(context.prompt, history)

        declined = any(_NEGATIVE.match(_result_text(r.result.parts)) for r in results)
        if not declined:
            for schema in tools:
                if not isinstance(schema, FunctionToolSchema):
                    continue
                fn = schema.function
                if fn.name in called:
                    continue
                arguments = json.dumps(example_value(fn.parameters, fn.name))
                call = ToolCallEvent(
                    fn.name, id=f"call_demo_{len(history)}_{fn.name}", arguments=arguments
                )
                return ModelResponse(
                    tool_calls=ToolCallsEvent([call]),
                    usage=_usage(prompt_tokens, len(arguments)),
                    model=DEMO_MODEL,
                    provider="demo",
                    finish_reason="tool_calls",
                )

        if response_schema is not None and response_schema.json_schema:
            content = json.dumps(example_value(response_schema.json_schema, "output"))
        else:
            content = self._reply(history, turn, results)
        await self._stream(content, context)
        message = ModelMessage(content)
        await context.send(message)
        return ModelResponse(
            message,
            usage=_usage(prompt_tokens, len(content)),
            model=DEMO_MODEL,
            provider="demo",
            finish_reason="stop",
        )

    def _reply(self, history: list[BaseEvent], turn: list[BaseEvent], results: list[Any]) -> str:
        hint = "" if _mentions_demo(history) else f" {HINT}"
        if results:
            done = "; ".join(
                f"{r.name or 'tool'} gave {_short(_result_text(r.result.parts))}" for r in results
            )
            return f"{PREFIX} {self.agent} here. Done: {done}.{hint}"
        request = _last_request_text(turn) or _last_request_text(history)
        if request:
            return f"{PREFIX} {self.agent} here. You said: {_short(request)}{hint}"
        return f"{PREFIX} {self.agent} here. Hello!{hint}"

    async def _stream(self, content: str, context: ConversationContext) -> None:
        words = content.split(" ")
        for start in range(0, len(words), self.chunk_words):
            piece = " ".join(words[start : start + self.chunk_words])
            if start + self.chunk_words < len(words):
                piece += " "
            await context.send(ModelMessageChunk(piece))


_NONE = object()  # "the schema names no value" (None is a value)


def _given_value(schema: dict[str, Any]) -> Any:
    """The value the schema itself names (default, first example, const, first enum member)."""
    if "default" in schema:
        return schema["default"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    return _NONE


def _example_string(schema: dict[str, Any], name: str) -> str:
    description = schema.get("description")
    return f"{PREFIX} {description}" if description else f"demo {name}"


def _example_array(schema: dict[str, Any], name: str) -> list[Any]:
    return [example_value(schema.get("items", {}), name)] if schema.get("minItems") else []


def _example_object(schema: dict[str, Any], _name: str) -> dict[str, Any]:
    return {key: example_value(sub, key) for key, sub in schema.get("properties", {}).items()}


def _example_integer(schema: dict[str, Any], _name: str) -> int:
    return int(schema.get("minimum", 3))


def _example_number(schema: dict[str, Any], _name: str) -> float:
    return float(schema.get("minimum", 1.0))


def _example_constant(value: Any) -> Callable[[dict[str, Any], str], Any]:
    return lambda _schema, _name: value


_EXAMPLE_OF_KIND: dict[str, Callable[[dict[str, Any], str], Any]] = {
    "object": _example_object,
    "array": _example_array,
    "integer": _example_integer,
    "number": _example_number,
    "boolean": _example_constant(True),
    "null": _example_constant(None),
}


def example_value(schema: Any, name: str = "value") -> Any:
    """A value that fits `schema` (enough of JSON Schema for tool and response schemas)."""
    if not isinstance(schema, dict):
        return f"demo {name}"
    given = _given_value(schema)
    if given is not _NONE:
        return given
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return example_value(schema[key][0], name)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    example: Callable[[dict[str, Any], str], Any] = _EXAMPLE_OF_KIND.get(str(kind), _example_string)
    return example(schema, name)


def _current_turn(history: list[BaseEvent]) -> list[BaseEvent]:
    """The events since the last user-side request (what this agent turn has done so far)."""
    for index in range(len(history) - 1, -1, -1):
        if isinstance(history[index], ModelRequest):
            return history[index:]
    return history


def _mentions_demo(history: list[BaseEvent]) -> bool:
    """Whether an earlier demo reply is in view (the hint is given once per conversation)."""
    for event in history:
        if isinstance(event, ModelResponse) and PREFIX in (event.content or ""):
            return True
        if isinstance(event, ModelRequest) and any(
            isinstance(p, TextInput) and PREFIX in p.content for p in event.parts
        ):
            return True
    return False


def _last_request_text(events: list[BaseEvent]) -> str:
    for event in reversed(events):
        if isinstance(event, ModelRequest):
            texts = [p.content for p in event.parts if isinstance(p, TextInput)]
            if texts:
                return " ".join(texts)
    return ""


def _result_text(parts: Iterable[Any]) -> str:
    out = []
    for part in parts:
        if isinstance(part, TextInput):
            out.append(part.content)
        elif isinstance(part, DataInput):
            out.append(json.dumps(part.data, default=str))
    return " ".join(out)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _estimate_tokens(prompt: Iterable[str], history: Sequence[BaseEvent]) -> int:
    chars = sum(len(p) for p in prompt) + sum(len(repr(e)) for e in history)
    return max(1, chars // 4)


def _usage(prompt_tokens: int, completion_chars: int) -> Usage:
    completion = max(1, completion_chars // 4)
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion,
        total_tokens=prompt_tokens + completion,
    )
