"""A workflow definition becomes AG2 pieces: the transition graph, agents' tools, their inputs.

Pure where it can be: `transition_graph`, `project_history` and `round_packet` take plain values
and return AG2 data. `ToolPlugins` loads the Python tools deployments register under the
entry-point group `mozaiks.tools` (once per process; a plugin is a function, sync or async, or an
`ag2` `FunctionTool`; it may take `context: ag2.Context` to read or set context variables).
UI and human-input tools are built per run in `tools.py`, because they talk to that run's `RunIO`.

Hand-offs map onto AG2's `TransitionGraph` vocabulary. Hand-offs are per agent, so two
conditions are added that also check who spoke (AG2's `ToolCalled`/`ContextEquals` do not):

| definition                               | transition (priority)                          |
|------------------------------------------|------------------------------------------------|
| `on_tool_call: {tool, target}`           | `SpeakerCalledTool(agent, tool)` → target (0)  |
| `on_context: {key, field?, equals, ...}` | `SpeakerContextEquals(agent, ...)` → target (1)|
| `after_work: target`                     | `FromSpeaker(agent)` → target (2)              |
| target: an agent / `user` / `terminate`  | `AgentTarget` / `TerminateTarget("user"/...)`  |
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ag2.events import BaseEvent, Input, ModelMessage, ModelRequest, ModelResponse, TextInput
from ag2.network import (
    EV_PACKET,
    AgentTarget,
    Envelope,
    FromSpeaker,
    TerminateTarget,
    Transition,
    TransitionGraph,
    TransitionTarget,
    register_condition,
)
from ag2.tools import tool as make_tool
from ag2.tools.final.function_tool import FunctionTool

from mozaiks_runtime.engine.base import HistoryMessage
from mozaiks_runtime.workflows.model import (
    TARGET_TERMINATE,
    TARGET_USER,
    PythonTool,
    WorkflowDefinition,
)
from mozaiks_runtime.workflows.plugins import tool_entry_points

if TYPE_CHECKING:
    from ag2.network import WorkflowState

logger = logging.getLogger(__name__)

# Close reasons of the two reserved targets, read back by run.py.
CLOSE_USER = TARGET_USER
CLOSE_TERMINATE = TARGET_TERMINATE
USER_ID = "user"  # the human's id in the workflow state (its "creator")
CONTINUE = "Continue."


# ── Transition vocabulary ───────────────────────────────────────────────────


@dataclass(slots=True)
class SpeakerCalledTool:
    """Fires when `agent_id` just ended a turn in which it called `tool_name`."""

    agent_id: str
    tool_name: str
    name: ClassVar[str] = "mozaiks_speaker_called_tool"

    def evaluate(self, state: WorkflowState, envelope: Envelope) -> bool:
        if envelope.sender_id != self.agent_id or envelope.event_type != EV_PACKET:
            return False
        routing = envelope.event_data.get("routing") or {}
        return self.tool_name in (routing.get("tools") or ())


@dataclass(slots=True)
class SpeakerContextEquals:
    """Fires when `agent_id` just ended a turn and context `key` (or its `field`) equals `value`."""

    agent_id: str
    key: str
    value: Any
    field: str | None = None
    name: ClassVar[str] = "mozaiks_speaker_context_equals"

    def evaluate(self, state: WorkflowState, envelope: Envelope) -> bool:
        if envelope.sender_id != self.agent_id:
            return False
        current = state.context_vars.get(self.key)
        if self.field is not None:
            current = current.get(self.field) if isinstance(current, Mapping) else None
        return bool(current == self.value)


# WorkflowAdapter.fold re-reads the graph through AG2's default registry, so the two conditions
# are registered there. Registering is idempotent and carries no state.
register_condition(SpeakerCalledTool)
register_condition(SpeakerContextEquals)


def _target(name: str) -> TransitionTarget:
    if name == TARGET_USER:
        return TerminateTarget(reason=CLOSE_USER)
    if name == TARGET_TERMINATE:
        return TerminateTarget(reason=CLOSE_TERMINATE)
    return AgentTarget(name)


def transition_graph(
    workflow: WorkflowDefinition, *, initial_speaker: str | None = None
) -> TransitionGraph:
    transitions: list[Transition] = []
    for agent in workflow.agents:
        handoffs = agent.handoffs
        for rule in handoffs.on_tool_call:
            transitions.append(
                Transition(SpeakerCalledTool(agent.name, rule.tool), _target(rule.target), 0)
            )
        for cond in handoffs.on_context:
            transitions.append(
                Transition(
                    SpeakerContextEquals(agent.name, cond.key, cond.equals, cond.field),
                    _target(cond.target),
                    1,
                )
            )
        transitions.append(Transition(FromSpeaker(agent.name), _target(handoffs.after_work), 2))
    return TransitionGraph(
        initial_speaker=initial_speaker or workflow.start_agent,
        transitions=transitions,
        default_target=TerminateTarget(reason=CLOSE_USER),
        max_turns=workflow.max_turns,
    )


def round_packet(
    *,
    chat_id: str,
    agent: str,
    body: str,
    tools_called: Sequence[str],
    context_before: Mapping[str, Any],
    context_after: Mapping[str, Any],
) -> Envelope:
    """The `EV_PACKET` that records one agent turn for `WorkflowAdapter.fold`."""
    changed = {k: v for k, v in context_after.items() if context_before.get(k, _MISSING) != v}
    deleted = [k for k in context_before if k not in context_after]
    routing: dict[str, Any] = {"kind": "text", "tools": list(dict.fromkeys(tools_called))}
    return Envelope(
        channel_id=chat_id,
        sender_id=agent,
        audience=None,
        event_type=EV_PACKET,
        event_data={
            "routing": routing,
            "context_updates": {"set": changed, "delete": deleted},
            "body": body,
        },
    )


_MISSING = object()


# ── What an agent sees ──────────────────────────────────────────────────────


def project_history(
    transcript: Sequence[HistoryMessage], agent: str
) -> tuple[list[BaseEvent], list[Input]]:
    """The conversation from `agent`'s point of view: (prior events, this turn's input).

    Its own messages are its replies; the user's are requests; other agents' are requests too,
    labelled with their name (the role bit alone would merge every other speaker into one).
    """
    events: list[BaseEvent] = []
    for message in transcript:
        if message.role == "assistant" and message.agent == agent:
            events.append(ModelResponse(ModelMessage(message.content)))
        elif message.role == "user":
            events.append(ModelRequest([TextInput(message.content)]))
        else:
            events.append(ModelRequest([TextInput(f"[{message.agent}] {message.content}")]))
    if events and isinstance(events[-1], ModelRequest):
        last = events.pop()
        assert isinstance(last, ModelRequest)
        return events, list(last.parts)
    return events, [TextInput(CONTINUE)]


# ── Python tool plugins ─────────────────────────────────────────────────────

Plugin = Callable[..., Any] | FunctionTool


class ToolPlugins:
    """Tool plugins by entry-point name, loaded on first use and then cached for the process."""

    def __init__(
        self, extra: Mapping[str, Callable[..., Any] | FunctionTool] | None = None
    ) -> None:
        self._extra = dict(extra or {})
        self._loaded: dict[str, Plugin] = {}
        self._lock = threading.Lock()

    def names(self) -> frozenset[str]:
        return frozenset(tool_entry_points()) | frozenset(self._extra)

    def load(self, plugin: str) -> Plugin:
        with self._lock:
            if plugin in self._loaded:
                return self._loaded[plugin]
            if plugin in self._extra:
                obj = self._extra[plugin]
            else:
                ep = tool_entry_points().get(plugin)
                if ep is None:
                    raise LookupError(
                        f"no tool plugin {plugin!r} under entry-point group mozaiks.tools"
                    )
                obj = ep.load()
            if not (callable(obj) or isinstance(obj, FunctionTool)):
                raise TypeError(f"tool plugin {plugin!r} is neither a function nor an ag2 tool")
            self._loaded[plugin] = obj
            return obj

    def build(self, spec: PythonTool) -> FunctionTool:
        """An ag2 tool named as the workflow names it (a fresh one each time: tools are cheap)."""
        obj = self.load(spec.plugin_name)
        if isinstance(obj, FunctionTool):
            fn = obj.schema.function
            return FunctionTool(
                obj.model,
                name=spec.name,
                description=spec.description or fn.description,
                schema=fn.parameters,
            )
        return make_tool(obj, name=spec.name, description=spec.description or None)
