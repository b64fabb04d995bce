"""An AG-UI client for the tests, built from the published protocol package (`ag-ui-protocol`).

Every event of a stream is parsed with the package's own models (`ag_ui.core.Event`, the
discriminated union of all events), checked against the protocol's ordering rules
(`check_sequence`), and applied to a message history the way AG-UI clients keep one
(a messages snapshot, assistant messages from text, tool calls and tool results), which the
next run sends back
whole, as CopilotKit does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from ag_ui.core import (
    AssistantMessage,
    BaseEvent,
    Event,
    EventType,
    FunctionCall,
    Message,
    MessagesSnapshotEvent,
    RunAgentInput,
    TextMessageContentEvent,
    TextMessageStartEvent,
    ToolCall,
    ToolCallArgsEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
    ToolMessage,
    UserMessage,
)
from pydantic import TypeAdapter

EVENT: TypeAdapter[Event] = TypeAdapter(Event)
ENDS = {EventType.RUN_FINISHED, EventType.RUN_ERROR}


def parse_sse(text: str) -> list[BaseEvent]:
    """The events of an SSE body: `data:` lines up to a blank line; `:` lines are comments."""
    found: list[BaseEvent] = []
    data: list[str] = []
    for line in text.split("\n"):
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line == "" and data:
            found.append(EVENT.validate_json("\n".join(data)))
            data = []
        else:
            assert line == "" or line.startswith(":"), f"not SSE: {line!r}"
    assert not data, "the stream ended inside an event"
    return found


def check_sequence(events: Sequence[BaseEvent], known_calls: Iterable[str] = ()) -> None:
    """The protocol's ordering rules for one run: RUN_STARTED first, one end last; text
    messages and tool calls open before their content and closed before the run ends; a
    result only for a call made; steps balanced."""
    assert events and events[0].type == EventType.RUN_STARTED, events[:1]
    assert events[-1].type in ENDS, events[-1]
    assert not any(e.type in ENDS for e in events[:-1])
    texts: set[str] = set()
    calls: set[str] = set()
    made = set(known_calls)
    steps: list[str] = []
    for event in events[1:-1]:
        body = event.model_dump()
        match event.type:
            case EventType.TEXT_MESSAGE_START:
                assert body["message_id"] not in texts
                texts.add(body["message_id"])
            case EventType.TEXT_MESSAGE_CONTENT:
                assert body["message_id"] in texts
            case EventType.TEXT_MESSAGE_END:
                texts.remove(body["message_id"])
            case EventType.TOOL_CALL_START:
                assert body["tool_call_id"] not in calls
                calls.add(body["tool_call_id"])
                made.add(body["tool_call_id"])
            case EventType.TOOL_CALL_ARGS:
                assert body["tool_call_id"] in calls
            case EventType.TOOL_CALL_END:
                calls.remove(body["tool_call_id"])
            case EventType.TOOL_CALL_RESULT:
                assert body["tool_call_id"] in made, body
            case EventType.STEP_STARTED:
                assert body["step_name"] not in steps
                steps.append(body["step_name"])
            case EventType.STEP_FINISHED:
                steps.remove(body["step_name"])
    assert not texts and not calls, (texts, calls)
    if events[-1].type == EventType.RUN_FINISHED:
        assert not steps, steps


@dataclass
class Thread:
    """One AG-UI thread as a client keeps it: the messages, and every run's events."""

    http: httpx.AsyncClient
    path: str  # /api/agui/{workflow} or /api/agui/{workflow}/{chat_id}
    headers: dict[str, str]
    thread_id: str = field(default_factory=lambda: f"t_{uuid.uuid4().hex}")
    messages: list[Message] = field(default_factory=list)
    runs: list[list[BaseEvent]] = field(default_factory=list)
    state: dict[str, Any] | None = None

    def body(self, **extra: Any) -> dict[str, Any]:
        run = RunAgentInput(
            thread_id=self.thread_id,
            run_id=f"r_{uuid.uuid4().hex}",
            messages=self.messages,
            state=self.state,
            tools=[],
            context=[],
        )
        return {**run.model_dump(by_alias=True, mode="json"), **extra}

    async def post(self, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(self.path, json=body, headers=self.headers, timeout=60)

    async def run(self) -> list[BaseEvent]:
        """One run with the messages so far; the events, checked and applied."""
        response = await self.post(self.body())
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(response.text)
        check_sequence(events, self.tool_call_ids())
        self.apply(events)
        self.runs.append(events)
        return events

    async def say(self, text: str) -> list[BaseEvent]:
        self.messages.append(UserMessage(id=f"u_{uuid.uuid4().hex}", content=text))
        return await self.run()

    async def answer(self, tool_call_id: str, content: str | dict[str, Any]) -> list[BaseEvent]:
        text = content if isinstance(content, str) else json.dumps(content)
        self.messages.append(
            ToolMessage(id=f"tm_{uuid.uuid4().hex}", tool_call_id=tool_call_id, content=text)
        )
        return await self.run()

    def tool_call_ids(self) -> set[str]:
        return {
            call.id
            for m in self.messages
            if isinstance(m, AssistantMessage)
            for call in m.tool_calls or ()
        }

    def apply(self, events: Iterable[BaseEvent]) -> None:
        """What an AG-UI client makes of a stream: messages, tool calls, tool results."""
        by_id: dict[str, AssistantMessage] = {}
        calls: dict[str, ToolCall] = {}
        for event in events:
            if isinstance(event, MessagesSnapshotEvent):
                self.messages = list(event.messages)
            elif isinstance(event, TextMessageStartEvent):
                message = AssistantMessage(id=event.message_id, content="", name=event.name)
                by_id[event.message_id] = message
                self.messages.append(message)
            elif isinstance(event, TextMessageContentEvent):
                by_id[event.message_id].content = (
                    by_id[event.message_id].content or ""
                ) + event.delta
            elif isinstance(event, ToolCallStartEvent):
                call = ToolCall(
                    id=event.tool_call_id,
                    function=FunctionCall(name=event.tool_call_name, arguments=""),
                )
                calls[event.tool_call_id] = call
                self.messages.append(AssistantMessage(id=event.tool_call_id, tool_calls=[call]))
            elif isinstance(event, ToolCallArgsEvent):
                calls[event.tool_call_id].function.arguments += event.delta
            elif isinstance(event, ToolCallResultEvent):
                content = event.content if isinstance(event.content, str) else ""
                self.messages.append(
                    ToolMessage(
                        id=event.message_id, tool_call_id=event.tool_call_id, content=content
                    )
                )


def of_type(events: Iterable[BaseEvent], type_: EventType) -> list[dict[str, Any]]:
    """The events of one type, as dicts (snake_case field names)."""
    return [e.model_dump() for e in events if e.type == type_]


def pending(events: Sequence[BaseEvent]) -> list[str]:
    """The tool calls a run left for the client to answer (RUN_FINISHED's outcome)."""
    end = events[-1].model_dump()
    outcome = end.get("outcome") or {}
    return list(outcome.get("pending_tool_call_ids") or [])


def tool_call(events: Iterable[BaseEvent], call_id: str) -> tuple[str, dict[str, Any], Any]:
    """(name, arguments, metadata) of a tool call in a run."""
    name, args, meta = "", "", None
    for event in events:
        if isinstance(event, ToolCallStartEvent) and event.tool_call_id == call_id:
            name, meta = event.tool_call_name, event.metadata
        elif isinstance(event, ToolCallArgsEvent) and event.tool_call_id == call_id:
            args += event.delta
    return name, json.loads(args), meta
