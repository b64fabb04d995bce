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
3. A middleware calls `RunIO.before_model_call` before every model call (raising stops the run)
   and times the call; AG2's `UsageEvent` becomes our `ModelUsage`.
4. Human input goes through AG2's `Context.input` → the agent's `hitl_hook` → `RunIO.request_input`;
   a UI tool calls `RunIO.request_ui_tool`. Every wait has a timeout. A domain error raised by
   RunIO inside a tool (`InputTimeout`, `BudgetExceeded`, ...) ends the run with that error:
   AG2 would otherwise hand any tool exception to the model as a tool error.
5. MCP tools (`mcp.py`) are listed once, when the run starts (a server that cannot serve the run
   fails it there); afterwards they are tools like the others, whose failures the model reads.

Nothing is shared between runs except read-only things (the plugin cache, the HTTP pool).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ag2 import Agent, Context, Middleware
from ag2.events import (
    BaseEvent,
    Field,
    HumanInputRequest,
    ToolCallEvent,
    ToolErrorEvent,
    ToolResultEvent,
)
from ag2.exceptions import HumanInputError, HumanInputFailedError, HumanInputTimeoutError
from ag2.middleware import BaseMiddleware
from ag2.middleware.base import LLMCall, ToolExecution, ToolResultType
from ag2.network import WorkflowAdapter, WorkflowState
from ag2.response import ResponseProto
from ag2.stream import MemoryStream
from ag2.tools.final.function_tool import FunctionDefinition, FunctionToolSchema
from ag2.tools.tool import Tool
from fast_depends import Provider
from jsonschema import Draft202012Validator

from mozaiks_runtime.engine import build, mcp
from mozaiks_runtime.engine.base import (
    HistoryMessage,
    RunIO,
    RunOutcome,
    RunRequest,
    SpeakerSelected,
    TextMessage,
)
from mozaiks_runtime.engine.llm import LLMSettings, ModelConfigs
from mozaiks_runtime.engine.traced import Traced
from mozaiks_runtime.engine.translate import TurnTranslator, TurnView
from mozaiks_runtime.errors import EngineFailed, InputTimeout, MozaiksError
from mozaiks_runtime.workflows.model import (
    AgentDefinition,
    HumanInputTool,
    PythonTool,
    StructuredOutput,
    UITool,
    WorkflowDefinition,
)

if TYPE_CHECKING:
    from ag2.events import Condition, ModelResponse
    from ag2.tools.final.function_tool import FunctionTool

    from mozaiks_runtime.config import Settings

logger = logging.getLogger(__name__)

# A tool's own timeout wins; without one, our backstop sits a little above the chat service's
# wait so that its timeout (with its `chat.input_timeout` event) normally fires first.
WAIT_MARGIN_SECONDS = 5.0
KICKOFF = "Start."


class UserInputRequest(HumanInputRequest):
    """AG2's human-input request, plus whether the answer is a secret."""

    password: bool = Field(default=False, compare=False)


class _Aborted(HumanInputError):
    """Carries a domain error out of a tool. AG2 hands any other tool exception to the model as a
    tool error; a `HumanInputError` ends the turn, which is what an `InputTimeout` must do."""

    def __init__(self, error: MozaiksError) -> None:
        super().__init__(error.message)
        self.error = error


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


@dataclass(slots=True)
class _TurnRecord:
    texts: list[str] = field(default_factory=list)
    tools_called: list[str] = field(default_factory=list)
    model_seconds: float = 0.0


class _Run:
    """One run of one chat: all its mutable state lives here and dies with it."""

    def __init__(self, runner: AG2Runner, request: RunRequest, io: RunIO) -> None:
        self.runner = runner
        self.request = request
        self.io = io
        self.workflow: WorkflowDefinition = request.workflow
        self.transcript: list[HistoryMessage] = list(request.history)
        self.mcp_tools: dict[str, mcp.McpTool] = {}  # listed once, at run start

    # ── the loop ────────────────────────────────────────────────────────────

    async def execute(self) -> RunOutcome:
        wf, request = self.workflow, self.request
        if wf.mcp_servers:
            self.mcp_tools = await mcp.discover(wf.mcp_servers, self.runner.mcp_env)
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
    ) -> tuple[_TurnRecord, dict[str, Any]]:
        try:
            return await self._turn(agent, context)
        except _Aborted as exc:
            raise exc.error from None
        except HumanInputFailedError as exc:
            cause = exc.cause
            if isinstance(cause, _Aborted):
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
    ) -> tuple[_TurnRecord, dict[str, Any]]:
        wf, io, configs = self.workflow, self.io, self.runner.llm
        record = _TurnRecord()
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
            response_schema=_response_schema(agent_def.structured_output),
        )

        async def ask_user(event: HumanInputRequest) -> str:
            password = bool(getattr(event, "password", False))
            return await io.request_input(
                agent=agent_def.name, prompt=event.content, password=password
            )

        middleware = [Middleware(_ModelGate, io=io, agent=agent_def.name, record=record)]
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
                tools=[
                    *(self._tool(agent_def, spec) for spec in tools),
                    *self._mcp_tools(agent_def),
                ],
                middleware=middleware,
                hitl_hook=ask_user,
            ) as handle:
                reply = await handle.result()
        finally:
            stream.unsubscribe(subscription)

        after = dict(reply.context.variables)
        if agent_def.structured_output is not None and reply.body:
            parsed = _json_object(reply.body)
            if parsed is not None:
                after[agent_def.structured_output.name] = parsed
        return record, after

    # ── tools ───────────────────────────────────────────────────────────────

    def _tool(self, agent: AgentDefinition, spec: PythonTool | UITool | HumanInputTool) -> Tool:
        if isinstance(spec, PythonTool):
            seconds = spec.timeout_seconds or self.runner.tool_timeout_seconds
            tool: FunctionTool = self.runner.plugins.build(spec)
            return tool.with_middleware(_tool_timeout(spec.name, seconds))
        if isinstance(spec, UITool):
            return _CallbackTool(
                spec.name,
                spec.description
                or f"Show the user a {spec.component_type} and wait for the answer.",
                spec.parameters,
                self._ui_tool_handler(agent, spec),
            )
        return _CallbackTool(
            spec.name, spec.description, _human_input_parameters(spec), self._human_handler(spec)
        )

    def _mcp_tools(self, agent: AgentDefinition) -> list[Tool]:
        """The agent's MCP tools, with the schemas their servers listed at run start."""
        tools: list[Tool] = []
        for name in agent.tools:
            spec = self.mcp_tools.get(name)
            if spec is not None:
                description = spec.description or f"{spec.name} (MCP server {spec.server.name})"
                handler = _mcp_handler(spec, self.runner.mcp_env)
                tools.append(_CallbackTool(spec.name, description, spec.parameters, handler))
        return tools

    def _ui_tool_handler(self, agent: AgentDefinition, spec: UITool) -> _Handler:
        io = self.io
        seconds = spec.timeout_seconds or self.runner.ui_tool_timeout_seconds + WAIT_MARGIN_SECONDS

        async def handle(arguments: dict[str, Any], context: Any) -> Any:
            payload = {**spec.payload, **arguments}
            try:
                async with asyncio.timeout(seconds):
                    answer = await io.request_ui_tool(
                        agent=agent.name,
                        tool_name=spec.name,
                        component_type=spec.component_type,
                        payload=payload,
                        display=spec.display,
                    )
            except TimeoutError:
                raise _Aborted(
                    InputTimeout(f"nobody answered {spec.name} within {seconds:g}s")
                ) from None
            except MozaiksError as exc:
                raise _Aborted(exc) from exc
            result = dict(answer)
            if spec.context_key:
                context.variables[spec.context_key] = result
            return result

        return handle

    def _human_handler(self, spec: HumanInputTool) -> _Handler:
        seconds = spec.timeout_seconds or self.runner.input_timeout_seconds + WAIT_MARGIN_SECONDS

        async def handle(arguments: dict[str, Any], context: Any) -> Any:
            question = str(arguments.get("question") or spec.prompt or "Please answer.")
            request = UserInputRequest(question, timeout=seconds, password=spec.password)
            answer: str = await context.ask(request)
            if spec.context_key:
                context.variables[spec.context_key] = answer.strip()
            if spec.password:
                return "The user answered; the answer is secret and kept out of the conversation."
            return answer

        return handle


_Handler = Callable[[dict[str, Any], Any], Awaitable[Any]]


class _CallbackTool(Tool):
    """A tool whose schema comes from the workflow and whose body is a run-bound coroutine."""

    def __init__(
        self, name: str, description: str, parameters: Mapping[str, Any], handler: _Handler
    ) -> None:
        self.name = name
        self._handler = handler
        self.schema = FunctionToolSchema(
            function=FunctionDefinition(
                name=name, description=description, parameters=dict(parameters)
            )
        )

    async def schemas(self, context: Context) -> list[FunctionToolSchema]:
        return [self.schema]

    def register(
        self,
        stack: ExitStack | AsyncExitStack,
        context: Context,
        *,
        middleware: Iterable[BaseMiddleware] = (),
    ) -> None:
        execution: ToolExecution = self._execute
        for mw in middleware:
            execution = _wrap(mw, execution)

        turn_context = context

        # The turn's context is captured rather than injected: an injected `Context` parameter
        # is resolved by fast_depends in a worker thread, a thread hop per call.
        async def execute(event: ToolCallEvent) -> None:
            result = await execution(event, turn_context)
            await turn_context.send(result)

        called = cast("Condition", ToolCallEvent.name == self.name)  # a Condition at runtime
        stack.enter_context(context.stream.where(called).sub_scope(execute))

    async def _execute(self, event: ToolCallEvent, context: Context) -> ToolResultType:
        try:
            result = await self._handler(event.serialized_arguments, context)
        except HumanInputError:
            raise  # ends the turn (an unanswered question, or a domain error carried out)
        except Exception as exc:
            return ToolErrorEvent.from_call(event, error=exc)
        return ToolResultEvent.from_call(event, result=result)


def _mcp_handler(tool: mcp.McpTool, env: Mapping[str, str]) -> _Handler:
    async def handle(arguments: dict[str, Any], context: Any) -> Any:
        return await mcp.call(tool, arguments, env)  # McpToolError: a tool error, the run goes on

    return handle


def _wrap(mw: BaseMiddleware, inner: ToolExecution) -> ToolExecution:
    async def call(event: ToolCallEvent, context: Context) -> ToolResultType:
        return await mw.on_tool_execution(inner, event, context)

    return call


def _tool_timeout(
    name: str, seconds: float
) -> Callable[[ToolExecution, ToolCallEvent, Context], Awaitable[ToolResultType]]:
    async def hook(
        call_next: ToolExecution, event: ToolCallEvent, context: Context
    ) -> ToolResultType:
        try:
            async with asyncio.timeout(seconds):
                return await call_next(event, context)
        except TimeoutError:
            raise TimeoutError(f"tool {name} took longer than {seconds:g}s") from None

    return hook


def _human_input_parameters(spec: HumanInputTool) -> dict[str, Any]:
    question: dict[str, Any] = {"type": "string", "description": "The question to ask the user."}
    if spec.prompt:
        question["default"] = spec.prompt
    schema: dict[str, Any] = {"type": "object", "properties": {"question": question}}
    if not spec.prompt:
        schema["required"] = ["question"]
    return schema


class _ModelGate(BaseMiddleware):
    """Before every model call: ask the chat whether it may call the model; time the call."""

    def __init__(
        self, event: BaseEvent, context: Context, *, io: RunIO, agent: str, record: _TurnRecord
    ) -> None:
        super().__init__(event, context)
        self._io = io
        self._agent = agent
        self._record = record

    async def on_llm_call(self, call_next: LLMCall, events: Any, context: Context) -> ModelResponse:
        await self._io.before_model_call(agent=self._agent)
        started = time.perf_counter()
        try:
            return await call_next(events, context)
        finally:
            self._record.model_seconds = time.perf_counter() - started


class _JsonSchemaResponse(ResponseProto[str]):
    """Structured output from the workflow's JSON Schema; the reply stays the JSON text."""

    def __init__(self, spec: StructuredOutput) -> None:
        self.name = spec.name
        self.description = spec.description or None
        self.json_schema = dict(spec.schema_)
        self.system_prompt = None
        self._validator = Draft202012Validator(self.json_schema)

    async def validate(
        self, response: str, context: Context, provider: Provider | None = None
    ) -> str:
        self._validator.validate(json.loads(response))
        return response


def _response_schema(spec: StructuredOutput | None) -> _JsonSchemaResponse | None:
    return _JsonSchemaResponse(spec) if spec is not None else None


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _failure(agent: str, exc: BaseException) -> str:
    """What the user may read: the agent and the kind of failure, never the provider's response
    body or addresses (those are logged)."""
    status = getattr(exc, "status_code", None)
    kind = type(exc).__name__ + (f" {status}" if isinstance(status, int) else "")
    return f"{agent}: the model provider or a tool failed ({kind})"
