"""`AG2Runner`: runs a workflow definition on AG2, turn by turn, for one chat at a time.

How a run goes:

1. The transition graph is built from the definition (`build.transition_graph`) and folded with
   AG2's `WorkflowAdapter`, which decides after each agent turn who speaks next, applies context
   updates and counts turns. The graph is driven in-process rather than through a `Hub`: the hub
   is a durable message bus with its own write-ahead log, sweepers and a 600 s turn auto-close,
   and its notify handler reports a failed turn to listeners instead of raising, which would
   swallow a `BudgetExceeded` from `before_model_call`. The chat service already persists every
   event, owns the lease and enforces the waits, so the hub would duplicate it.
2. Each turn is one `Agent.run` on a fresh `MemoryStream`, seeded with the conversation as that
   agent sees it (`build.project_history`). We subscribe to the stream before the turn starts,
   so events are translated (`translate.py`) and emitted in the order they happen.
3. A middleware (`gate.py`) calls `RunIO.before_model_call` before every model call (raising
   stops the run) and times the call; AG2's `UsageEvent` becomes our `ModelUsage`.
4. Human input goes through AG2's `Context.input` → the agent's `hitl_hook` → `RunIO.request_input`;
   a UI tool calls `RunIO.request_ui_tool` (tools are built in `tools.py`). Every wait has a
   timeout. A domain error raised by RunIO inside a tool (`InputTimeout`, `BudgetExceeded`, ...)
   ends the run with that error: AG2 would otherwise hand any tool exception to the model as a
   tool error.
5. MCP tools (`mcp.py`) are listed once, when the run starts (a server that cannot serve the run
   fails it there); afterwards they are tools like the others, whose failures the model reads.
6. An agent with a structured output answers in JSON checked against its schema
   (`structured.py`); the parsed object goes into the context under the output's name.

Nothing is shared between runs except read-only things (the plugin cache, the HTTP pool).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ag2 import Agent, Middleware
from ag2.events import BaseEvent, HumanInputRequest, ToolCallEvent
from ag2.exceptions import HumanInputFailedError, HumanInputTimeoutError
from ag2.network import WorkflowAdapter, WorkflowState
from ag2.stream import MemoryStream

from mozaiks_runtime.engine import build, mcp
from mozaiks_runtime.engine.base import (
    HistoryMessage,
    RunIO,
    RunOutcome,
    RunRequest,
    SpeakerSelected,
    TextMessage,
)
from mozaiks_runtime.engine.gate import ModelGate, TurnRecord
from mozaiks_runtime.engine.llm import LLMSettings, ModelConfigs
from mozaiks_runtime.engine.structured import json_object, response_schema
from mozaiks_runtime.engine.tools import Aborted, RunTools
from mozaiks_runtime.engine.traced import Traced
from mozaiks_runtime.engine.translate import TurnTranslator, TurnView
from mozaiks_runtime.errors import EngineFailed, InputTimeout, MozaiksError
from mozaiks_runtime.workflows.model import (
    AgentDefinition,
    HumanInputTool,
    UITool,
    WorkflowDefinition,
)

if TYPE_CHECKING:
    from mozaiks_runtime.config import Settings

logger = logging.getLogger(__name__)

KICKOFF = "Start."


@dataclass(slots=True)
class AG2Runner:
    """The `Runner` of the runtime. One per process; `run` may be called for many chats at once."""

    llm: ModelConfigs
    plugins: build.ToolPlugins = field(default_factory=build.ToolPlugins)
    input_timeout_seconds: float = 600.0
    ui_tool_timeout_seconds: float = 600.0
    tool_timeout_seconds: float = 120.0
    # The MOZAIKS_MCP_* variables that MCP servers' URLs and auth headers are read from.
    mcp_env: Mapping[str, str] = field(default_factory=dict)

    async def run(self, request: RunRequest, io: RunIO) -> RunOutcome:
        return await _Run(self, request, io).execute()

    async def aclose(self) -> None:
        """Release the provider connection pool (call once, at shutdown)."""
        await self.llm.aclose()


def build_runner(settings: Settings) -> AG2Runner:
    """The runner for this process: the configured provider, or the demo model without one."""
    return AG2Runner(
        llm=ModelConfigs(LLMSettings.from_settings(settings)),
        input_timeout_seconds=settings.input_timeout_seconds,
        ui_tool_timeout_seconds=settings.ui_tool_timeout_seconds,
        mcp_env={k: v.get_secret_value() for k, v in settings.mcp_env.items()},
    )


class _Run:
    """One run of one chat: all its mutable state lives here and dies with it."""

    def __init__(self, runner: AG2Runner, request: RunRequest, io: RunIO) -> None:
        self.runner = runner
        self.request = request
        self.io = io
        self.workflow: WorkflowDefinition = request.workflow
        self.transcript: list[HistoryMessage] = list(request.history)
        self.tools = RunTools(
            io=io,
            plugins=runner.plugins,
            input_timeout_seconds=runner.input_timeout_seconds,
            ui_tool_timeout_seconds=runner.ui_tool_timeout_seconds,
            tool_timeout_seconds=runner.tool_timeout_seconds,
            mcp_env=runner.mcp_env,
        )

    # ── the loop ────────────────────────────────────────────────────────────

    async def execute(self) -> RunOutcome:
        wf, request = self.workflow, self.request
        if wf.mcp_servers:
            self.tools.mcp_tools = await mcp.discover(wf.mcp_servers, self.runner.mcp_env)
        speaker = self._first_speaker()
        graph = build.transition_graph(wf, initial_speaker=speaker)
        adapter = WorkflowAdapter()
        state = WorkflowState(
            participant_order=[a.name for a in wf.agents],
            expected_next_speaker=speaker,
            creator_id=build.USER_ID,
            graph_data=graph.to_dict(),
            context_vars={**wf.context_variables, **request.context},
        )
        if request.user_message is not None:
            self.transcript.append(HistoryMessage(build.USER_ID, request.user_message, "user"))
        elif not self.transcript:
            # agent_driven start: the kick-off is the agents' input only, never shown or stored.
            kickoff = wf.initial_message or KICKOFF
            self.transcript.append(HistoryMessage(build.USER_ID, kickoff, "user"))

        while True:
            agent = wf.agent(speaker)
            if agent is None:
                raise EngineFailed(f"hand-off to unknown agent {speaker!r}")
            await self.io.emit(SpeakerSelected(agent=speaker))
            before = dict(state.context_vars)
            if request.trace is None:
                record, after = await self._guarded_turn(agent, before)
            else:
                with request.trace.turn(agent.name):
                    record, after = await self._guarded_turn(agent, before)
            packet = build.round_packet(
                chat_id=request.chat_id,
                agent=speaker,
                body=record.texts[-1] if record.texts else "",
                tools_called=record.tools_called,
                context_before=before,
                context_after=after,
            )
            state = adapter.fold(packet, state)
            nxt = state.expected_next_speaker
            if nxt is None:
                reason = state.pending_close_reason
                return self._outcome(speaker, state, awaiting_user=reason != build.CLOSE_TERMINATE)
            if state.turn_count >= wf.max_turns:
                logger.info("run reached max_turns", extra={"chat_id": request.chat_id})
                # paused, not finished: the user's next message goes to the agent due next
                return self._outcome(nxt, state, awaiting_user=True, summary="max_turns")
            speaker = nxt

    def _first_speaker(self) -> str:
        wf, request = self.workflow, self.request
        if request.start_agent and wf.agent(request.start_agent):
            return request.start_agent
        for message in reversed(self.transcript):
            if message.role == "assistant" and wf.agent(message.agent):
                return message.agent
        return wf.start_agent

    def _outcome(
        self, speaker: str, state: WorkflowState, *, awaiting_user: bool, summary: str = ""
    ) -> RunOutcome:
        if not summary:
            summary = "waiting for the user" if awaiting_user else "workflow finished"
        return RunOutcome(
            status="completed",
            summary=summary,
            last_agent=speaker,
            context=dict(state.context_vars),
            awaiting_user=awaiting_user,
        )

    async def _guarded_turn(
        self, agent: AgentDefinition, context: Mapping[str, Any]
    ) -> tuple[TurnRecord, dict[str, Any]]:
        try:
            return await self._turn(agent, context)
        except Aborted as exc:
            raise exc.error from None
        except HumanInputFailedError as exc:
            cause = exc.cause
            if isinstance(cause, Aborted):
                raise cause.error from None
            if isinstance(cause, MozaiksError):
                raise cause from None
            raise EngineFailed(_failure(agent.name, cause)) from exc
        except HumanInputTimeoutError as exc:
            raise InputTimeout(f"{agent.name} waited {exc.timeout:g}s for an answer") from None
        except MozaiksError:
            raise
        except Exception as exc:  # the provider or a tool failed in a way AG2 did not absorb
            logger.warning(
                "turn of %s failed: %s: %s",
                agent.name,
                type(exc).__name__,
                exc,
                extra={"chat_id": self.request.chat_id},
            )
            raise EngineFailed(_failure(agent.name, exc)) from exc

    # ── one agent turn ──────────────────────────────────────────────────────

    async def _turn(
        self, agent_def: AgentDefinition, context: Mapping[str, Any]
    ) -> tuple[TurnRecord, dict[str, Any]]:
        wf, io, configs = self.workflow, self.io, self.runner.llm
        record = TurnRecord()
        tools = wf.agent_tools(agent_def)
        view = TurnView(
            agent=agent_def.name,
            visible=agent_def.show_to_user,
            model=configs.model_name(agent_def.model),
            silent_tools=frozenset(t.name for t in tools if isinstance(t, UITool | HumanInputTool)),
        )
        translator = TurnTranslator(view)
        prior, turn_input = build.project_history(self.transcript, agent_def.name)
        stream = MemoryStream()
        await stream.history.replace(prior)

        async def on_event(event: BaseEvent) -> None:
            if isinstance(event, ToolCallEvent):
                record.tools_called.append(event.name)
            for out in translator.feed(event, model_seconds=record.model_seconds):
                await io.emit(out)
                if isinstance(out, TextMessage):
                    record.texts.append(out.content)
                    self.transcript.append(HistoryMessage(out.agent, out.content, "assistant"))

        agent: Agent[Any] = Agent(
            agent_def.name,
            prompt=agent_def.system_message,
            config=configs.for_agent(
                agent=agent_def.name, model=agent_def.model, temperature=agent_def.temperature
            ),
            response_schema=response_schema(agent_def.structured_output),
        )

        async def ask_user(event: HumanInputRequest) -> str:
            password = bool(getattr(event, "password", False))
            return await io.request_input(
                agent=agent_def.name, prompt=event.content, password=password
            )

        middleware = [Middleware(ModelGate, io=io, agent=agent_def.name, record=record)]
        if self.request.trace is not None:  # innermost: the span times the model call alone
            provider = "mozaiks.demo" if configs.settings.is_demo else "openai"
            traced = Middleware(
                Traced, trace=self.request.trace, provider=provider, model=view.model
            )
            middleware.append(traced)
        subscription = stream.subscribe(on_event)  # before the turn starts: events stay in order
        try:
            async with agent.run(
                *turn_input,
                stream=stream,
                variables=dict(context),
                tools=self.tools.for_agent(agent_def, tools),
                middleware=middleware,
                hitl_hook=ask_user,
            ) as handle:
                reply = await handle.result()
        finally:
            stream.unsubscribe(subscription)

        after = dict(reply.context.variables)
        if agent_def.structured_output is not None and reply.body:
            parsed = json_object(reply.body)
            if parsed is not None:
                after[agent_def.structured_output.name] = parsed
        return record, after


def _failure(agent: str, exc: BaseException) -> str:
    """What the user may read: the agent and the kind of failure, never the provider's response
    body or addresses (those are logged)."""
    status = getattr(exc, "status_code", None)
    kind = type(exc).__name__ + (f" {status}" if isinstance(status, int) else "")
    return f"{agent}: the model provider or a tool failed ({kind})"
