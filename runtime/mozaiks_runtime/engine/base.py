"""The contract between the chat domain and the workflow engine. Imports no ag2.

`chats/` hands a `RunRequest` and a `RunIO` to a `Runner`; the runner (engine/run.py, on AG2)
reports what happens as `EngineEvent`s through `RunIO.emit`, asks the user through
`RunIO.request_input` / `RunIO.request_ui_tool`, and calls `RunIO.before_model_call` before each
model call so budgets can stop a run at that boundary. The chat service persists every event
before it is sent, so the runner never deals with sequence numbers, sockets or storage.

Who writes what: the runner emits the agents' events only (`SpeakerSelected` at each turn,
`TextMessage` with role assistant, tool calls and results, usage). The user's side (the message
that starts a run, answers to input requests, UI tool frames) is written by the chat service,
which also reports UI and human-input tool calls itself: the runner emits no `ToolCall` for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mozaiks_runtime.workflows.model import WorkflowDefinition

if TYPE_CHECKING:
    from mozaiks_runtime.tracing.otel import RunTrace


@dataclass(frozen=True, slots=True)
class SpeakerSelected:
    agent: str
    kind: Literal["chat.select_speaker"] = "chat.select_speaker"


@dataclass(frozen=True, slots=True)
class TextMessage:
    """A complete message by an agent (role assistant) or echoed user input (role user)."""

    agent: str
    content: str
    role: Literal["assistant", "user"] = "assistant"
    visible: bool = True  # the agent's `show_to_user`
    kind: Literal["chat.text"] = "chat.text"


@dataclass(frozen=True, slots=True)
class TextChunk:
    """A streamed token chunk: transient, never persisted, carries no seq."""

    agent: str
    content: str
    kind: Literal["chat.text_chunk"] = "chat.text_chunk"


@dataclass(frozen=True, slots=True)
class ToolCall:
    call_id: str
    name: str
    agent: str
    arguments: Mapping[str, Any]
    kind: Literal["chat.tool_call"] = "chat.tool_call"


@dataclass(frozen=True, slots=True)
class ToolResult:
    call_id: str
    name: str
    agent: str
    result: Any
    status: Literal["ok", "error"] = "ok"
    kind: Literal["chat.tool_response"] = "chat.tool_response"


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """One model call's usage, as the provider reported it."""

    agent: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    duration_sec: float
    kind: Literal["chat.usage_delta"] = "chat.usage_delta"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


EngineEvent = SpeakerSelected | TextMessage | TextChunk | ToolCall | ToolResult | ModelUsage


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    """A message of the persisted conversation, used to rebuild a run after a restart."""

    agent: str
    content: str
    role: Literal["assistant", "user"]


@dataclass(frozen=True, slots=True)
class RunRequest:
    chat_id: str
    app_id: str
    user_id: str
    workflow: WorkflowDefinition
    history: Sequence[HistoryMessage] = ()
    user_message: str | None = None  # the input that starts or continues this run
    context: Mapping[str, Any] = field(default_factory=dict)  # context variables + frontend context
    # The agent that takes the first turn (e.g. the previous RunOutcome.last_agent). None: the
    # last agent in `history` that still exists, else the workflow's initial agent.
    start_agent: str | None = None
    # The run's spans when tracing is on (None: off, and the runner builds no span at all).
    trace: RunTrace | None = None


@dataclass(frozen=True, slots=True)
class RunOutcome:
    status: Literal["completed", "failed", "stopped"]
    summary: str = ""
    # The agent a later run continues with (the last to speak; after max_turns, the one due next)
    # and the open context, so a later run continues where this one ended.
    last_agent: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    # completed + awaiting_user: the workflow handed the turn to the user (hand-off target
    # `user`, or max_turns reached); the user's next message continues it with `last_agent`.
    # completed + not awaiting_user: the workflow reached `terminate`.
    awaiting_user: bool = False


class RunIO(Protocol):
    """What the chat service gives a run. Every method may raise a domain error from errors.py
    (InputTimeout, BudgetExceeded, ...); the runner lets those propagate to end the run."""

    async def emit(self, event: EngineEvent) -> None:
        """Persist (unless transient) and fan out one event, in order."""

    async def request_input(self, *, agent: str, prompt: str, password: bool = False) -> str:
        """Ask the chat's user for text; waits up to the configured timeout."""

    async def request_ui_tool(
        self,
        *,
        agent: str,
        tool_name: str,
        component_type: str,
        payload: Mapping[str, Any],
        display: Literal["inline", "artifact"] = "inline",
    ) -> Mapping[str, Any]:
        """Ask the widget to render a component and wait for the user's answer."""

    async def before_model_call(self, *, agent: str) -> None:
        """Raise BudgetExceeded when the chat may not call the model any more."""


class Runner(Protocol):
    async def run(self, request: RunRequest, io: RunIO) -> RunOutcome:
        """Run the workflow until it ends or waits for nothing more; never blocks other chats."""
