"""Persisted chat events as AG-UI events (kagent's event_converter shape). Pure: no I/O.

One `Translator` per AG-UI run (one HTTP request). It opens the stream (RUN_STARTED and a
STATE_SNAPSHOT of the chat's context), maps each event of the chat's log, notices where the run
stops for this client (the run ended, was cancelled, or asks the user something), and closes the
stream (STATE_DELTA of the context, RUN_FINISHED or RUN_ERROR).

Questions to the user are AG-UI tool calls the client answers with tool messages in its next
RunAgentInput: a human-input request is a call of the tool `human_input` (arguments `prompt`,
`password`), a UI tool a call of the workflow's UI tool (arguments: its payload); the call id is
our request id. The user's own messages, acks of answers and usage events are not echoed: the
AG-UI client is where the user's side comes from, and usage is summed into RUN_FINISHED.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ag_ui.core import (
    BaseEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedSuccessOutcome,
    RunStartedEvent,
    StateDeltaEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    TokenUsage,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)

from mozaiks_runtime.chats import events
from mozaiks_runtime.storage.base import StoredEvent

HUMAN_INPUT_TOOL = "human_input"  # the AG-UI tool name of our human-input requests
META_KEY = "mozaiks"  # our key in AG-UI `metadata` (the key `ag-ui` is the protocol's)

End = Literal["finished", "waiting", "cancelled"]


def message_id(event: StoredEvent) -> str:
    """A stable id for the AG-UI message an event becomes (the same on every stream)."""
    return f"{event.chat_id}:{event.seq}"


def json_pointer(key: str) -> str:
    return "/" + key.replace("~", "~0").replace("/", "~1")


def state_delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An RFC 6902 patch from `before` to `after`, key by key at the top level (the chat's
    context is a flat set of variables; a changed variable is replaced whole)."""
    ops: list[dict[str, Any]] = []
    for key in before:
        if key not in after:
            ops.append({"op": "remove", "path": json_pointer(key)})
    for key, value in after.items():
        if key not in before:
            ops.append({"op": "add", "path": json_pointer(key), "value": value})
        elif before[key] != value:
            ops.append({"op": "replace", "path": json_pointer(key), "value": value})
    return ops


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@dataclass(slots=True)
class Translator:
    thread_id: str
    run_id: str
    end: End | None = None  # set when the run stops for this client: stop reading, then close()
    pending: list[str] = field(default_factory=list)  # tool calls the client must answer
    _state: dict[str, Any] = field(default_factory=dict)
    _step: str | None = None
    _error: tuple[str, str] | None = None  # (message, error_code) of a failed run
    _usage: dict[str, list[int]] = field(default_factory=dict)  # model: [prompt, completion]

    def open(self, state: Mapping[str, Any]) -> list[BaseEvent]:
        self._state = dict(state)
        return [
            RunStartedEvent(thread_id=self.thread_id, run_id=self.run_id),
            StateSnapshotEvent(snapshot=dict(state)),
        ]

    def event(self, event: StoredEvent) -> list[BaseEvent]:
        """The AG-UI events of one persisted event (often none)."""
        data = event.data
        match event.type:
            case events.SELECT_SPEAKER:
                return self._speaker(str(data.get("agent", "")))
            case events.TEXT:
                if data.get("role") == "user" or not data.get("visible", True):
                    return []
                return self._text(message_id(event), str(data.get("agent", "")), data)
            case events.TOOL_CALL if data.get("awaiting_response"):
                return self._ui_tool(data)
            case events.TOOL_CALL:
                args = data.get("arguments") or {}
                meta = {"agent": data.get("agent"), "kind": "agent_tool"}
                return self._tool_call(str(data["call_id"]), str(data["name"]), args, meta)
            case events.TOOL_RESPONSE:
                content = _text(data.get("result"))
                return [
                    ToolCallResultEvent(
                        message_id=message_id(event),
                        tool_call_id=str(data["call_id"]),
                        content=content,
                        role="tool",
                    )
                ]
            case events.INPUT_REQUEST:
                rid = str(data["request_id"])
                args = {"prompt": data.get("prompt", ""), "password": bool(data.get("password"))}
                meta = {"agent": data.get("agent"), "kind": "human_input"}
                out = self._tool_call(rid, HUMAN_INPUT_TOOL, args, meta)
                self._wait(rid)
                return out
            case events.USAGE_DELTA:
                tally = self._usage.setdefault(str(data.get("model_name", "")), [0, 0])
                tally[0] += int(data.get("prompt_tokens", 0))
                tally[1] += int(data.get("completion_tokens", 0))
            case events.ERROR:
                self._error = (str(data.get("message", "")), str(data.get("error_code", "")))
            case events.RUN_COMPLETE:
                self.end = "finished"
            case events.RUN_CANCELLED:
                self.end = "cancelled"
        return []

    def interrupt(self, message: str, code: str) -> None:
        """The stream ends before the run does (the server shuts down): close() says so with a
        RUN_ERROR, and the client runs again to follow the chat."""
        self._error = (message, code)

    def close(self, state: Mapping[str, Any] | None = None) -> list[BaseEvent]:
        """The events that end the stream; `state`: the chat's context now, when it changed
        hands (a finished run stored its context)."""
        out: list[BaseEvent] = []
        if state is not None:
            delta = state_delta(self._state, state)
            if delta:
                out.append(StateDeltaEvent.model_validate({"delta": delta}))
                self._state = dict(state)
        if self._step is not None:
            out.append(StepFinishedEvent(step_name=self._step))
            self._step = None
        if self._error is not None and self.end != "cancelled":
            message, code = self._error
            out.append(RunErrorEvent(message=message, code=code or None))
            return out
        outcome: RunFinishedSuccessOutcome | RunFinishedCancelledOutcome
        if self.end == "cancelled":
            outcome = RunFinishedCancelledOutcome()
        else:
            outcome = RunFinishedSuccessOutcome(pending_tool_call_ids=self.pending or None)
        usage = [
            TokenUsage(
                model=model,
                input_tokens=prompt,
                output_tokens=completion,
                total_tokens=prompt + completion,
            )
            for model, (prompt, completion) in self._usage.items()
        ]
        out.append(
            RunFinishedEvent(
                thread_id=self.thread_id,
                run_id=self.run_id,
                outcome=outcome,
                usage=usage or None,
            )
        )
        return out

    # Pieces

    def _speaker(self, agent: str) -> list[BaseEvent]:
        """Each agent's turn is an AG-UI step named after the agent."""
        out: list[BaseEvent] = []
        if self._step == agent:
            return out
        if self._step is not None:
            out.append(StepFinishedEvent(step_name=self._step))
        self._step = agent
        out.append(StepStartedEvent(step_name=agent))
        return out

    def _enter(self, agent: Any) -> list[BaseEvent]:
        """A stream that starts in the middle of an agent's turn (after an answer) opens that
        agent's step at its first message or call."""
        if self._step is not None or not agent:
            return []
        return self._speaker(str(agent))

    def _text(self, mid: str, agent: str, data: Mapping[str, Any]) -> list[BaseEvent]:
        out = self._enter(agent)
        out.append(TextMessageStartEvent(message_id=mid, role="assistant", name=agent or None))
        content = str(data.get("content", ""))
        if content:
            out.append(TextMessageContentEvent(message_id=mid, delta=content))
        out.append(TextMessageEndEvent(message_id=mid))
        return out

    def _tool_call(
        self, call_id: str, name: str, arguments: Any, meta: Mapping[str, Any]
    ) -> list[BaseEvent]:
        metadata = {META_KEY: dict(meta)}
        return [
            *self._enter(meta.get("agent")),
            ToolCallStartEvent(tool_call_id=call_id, tool_call_name=name, metadata=metadata),
            ToolCallArgsEvent(tool_call_id=call_id, delta=_text(arguments)),
            ToolCallEndEvent(tool_call_id=call_id),
        ]

    def _ui_tool(self, data: Mapping[str, Any]) -> list[BaseEvent]:
        eid = str(data["corr"])
        meta = {
            "agent": data.get("agent"),
            "kind": "ui_tool",
            "component_type": data.get("component_type"),
            "display": data.get("display", "inline"),
        }
        out = self._tool_call(eid, str(data["tool_name"]), data.get("payload") or {}, meta)
        self._wait(eid)
        return out

    def waiting_for(self, call_ids: list[str]) -> None:
        """The run waits for these calls, which the client has already (a messages snapshot)."""
        for call_id in call_ids:
            self._wait(call_id)

    def _wait(self, call_id: str) -> None:
        self.pending.append(call_id)
        self.end = "waiting"
