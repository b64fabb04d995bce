"""The tools of a run, as AG2 tools bound to the run's `RunIO` (see run.py, step 4 and 5).

Python tools come from the plugin cache with a timeout; a UI tool asks `RunIO.request_ui_tool`;
a human-input tool asks through AG2's `Context.ask` (→ the agent's `hitl_hook`); an MCP tool
calls its server (mcp.py). Every wait has a timeout. A domain error raised by RunIO inside a tool
leaves it wrapped in `Aborted`, which ends the turn: AG2 would otherwise hand any tool exception
to the model as a tool error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ag2 import Context
from ag2.events import (
    Field,
    HumanInputRequest,
    ToolCallEvent,
    ToolErrorEvent,
    ToolResultEvent,
)
from ag2.exceptions import HumanInputError
from ag2.middleware import BaseMiddleware
from ag2.middleware.base import ToolExecution, ToolResultType
from ag2.tools.final.function_tool import FunctionDefinition, FunctionToolSchema
from ag2.tools.tool import Tool

from mozaiks_runtime.engine import build, mcp
from mozaiks_runtime.engine.base import RunIO
from mozaiks_runtime.errors import InputTimeout, MozaiksError
from mozaiks_runtime.workflows.model import (
    AgentDefinition,
    HumanInputTool,
    PythonTool,
    UITool,
)

if TYPE_CHECKING:
    from ag2.events import Condition
    from ag2.tools.final.function_tool import FunctionTool

# A tool's own timeout wins; without one, our backstop sits a little above the chat service's
# wait so that its timeout (with its `chat.input_timeout` event) normally fires first.
WAIT_MARGIN_SECONDS = 5.0


class UserInputRequest(HumanInputRequest):
    """AG2's human-input request, plus whether the answer is a secret."""

    password: bool = Field(default=False, compare=False)


class Aborted(HumanInputError):
    """Carries a domain error out of a tool. AG2 hands any other tool exception to the model as a
    tool error; a `HumanInputError` ends the turn, which is what an `InputTimeout` must do."""

    def __init__(self, error: MozaiksError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(slots=True)
class RunTools:
    """The tools of one run: built per agent turn, bound to the run's `RunIO`."""

    io: RunIO
    plugins: build.ToolPlugins
    input_timeout_seconds: float
    ui_tool_timeout_seconds: float
    tool_timeout_seconds: float
    # The MOZAIKS_MCP_* variables that MCP servers' URLs and auth headers are read from.
    mcp_env: Mapping[str, str]
    mcp_tools: dict[str, mcp.McpTool] = field(default_factory=dict)  # listed once, at run start

    def for_agent(
        self, agent: AgentDefinition, specs: Iterable[PythonTool | UITool | HumanInputTool]
    ) -> list[Tool]:
        """The agent's workflow tools (`specs`) and its MCP tools."""
        return [*(self._tool(agent, spec) for spec in specs), *self._mcp_tools(agent)]

    def _tool(self, agent: AgentDefinition, spec: PythonTool | UITool | HumanInputTool) -> Tool:
        if isinstance(spec, PythonTool):
            seconds = spec.timeout_seconds or self.tool_timeout_seconds
            tool: FunctionTool = self.plugins.build(spec)
            return tool.with_middleware(_tool_timeout(spec.name, seconds))
        if isinstance(spec, UITool):
            return CallbackTool(
                spec.name,
                spec.description
                or f"Show the user a {spec.component_type} and wait for the answer.",
                spec.parameters,
                self._ui_tool_handler(agent, spec),
            )
        return CallbackTool(
            spec.name, spec.description, _human_input_parameters(spec), self._human_handler(spec)
        )

    def _mcp_tools(self, agent: AgentDefinition) -> list[Tool]:
        """The agent's MCP tools, with the schemas their servers listed at run start."""
        tools: list[Tool] = []
        for name in agent.tools:
            spec = self.mcp_tools.get(name)
            if spec is not None:
                description = spec.description or f"{spec.name} (MCP server {spec.server.name})"
                handler = _mcp_handler(spec, self.mcp_env)
                tools.append(CallbackTool(spec.name, description, spec.parameters, handler))
        return tools

    def _ui_tool_handler(self, agent: AgentDefinition, spec: UITool) -> Handler:
        io = self.io
        seconds = spec.timeout_seconds or self.ui_tool_timeout_seconds + WAIT_MARGIN_SECONDS

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
                raise Aborted(
                    InputTimeout(f"nobody answered {spec.name} within {seconds:g}s")
                ) from None
            except MozaiksError as exc:
                raise Aborted(exc) from exc
            result = dict(answer)
            if spec.context_key:
                context.variables[spec.context_key] = result
            return result

        return handle

    def _human_handler(self, spec: HumanInputTool) -> Handler:
        seconds = spec.timeout_seconds or self.input_timeout_seconds + WAIT_MARGIN_SECONDS

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


Handler = Callable[[dict[str, Any], Any], Awaitable[Any]]


class CallbackTool(Tool):
    """A tool whose schema comes from the workflow and whose body is a run-bound coroutine."""

    def __init__(
        self, name: str, description: str, parameters: Mapping[str, Any], handler: Handler
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


def _mcp_handler(tool: mcp.McpTool, env: Mapping[str, str]) -> Handler:
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
