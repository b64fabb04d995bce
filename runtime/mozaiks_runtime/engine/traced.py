"""The engine's hook into tracing: an ag2 middleware that reports each model call and tool call
of a turn to the run's `RunTrace`. Added to a turn only when tracing is on; the OpenTelemetry
code itself lives in `tracing/`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ag2.events import BaseEvent, ToolCallEvent, ToolErrorEvent, ToolResultEvent
from ag2.middleware import BaseMiddleware
from ag2.middleware.base import LLMCall, ToolExecution, ToolResultType

from mozaiks_runtime.engine.translate import result_value

if TYPE_CHECKING:
    from ag2 import Context
    from ag2.events import ModelResponse

    from mozaiks_runtime.tracing.otel import RunTrace


class Traced(BaseMiddleware):
    """One span per model call (tokens, finish reason) and per tool call (outcome)."""

    def __init__(
        self,
        event: BaseEvent,
        context: Context,
        *,
        trace: RunTrace,
        provider: str,
        model: str,
    ) -> None:
        super().__init__(event, context)
        self._trace = trace
        self._provider = provider
        self._model = model

    async def on_llm_call(self, call_next: LLMCall, events: Any, context: Context) -> ModelResponse:
        with self._trace.model_call(provider=self._provider, model=self._model) as call:
            response = await call_next(events, context)
            usage = response.usage
            call.finish(
                input_tokens=int(usage.prompt_tokens or 0),
                output_tokens=int(usage.completion_tokens or 0),
                finish_reason=response.finish_reason,
                response_model=response.model,
                output=response.content if call.capture_content else None,
            )
            return response

    async def on_tool_execution(
        self, call_next: ToolExecution, event: ToolCallEvent, context: Context
    ) -> ToolResultType:
        trace = self._trace
        with trace.tool_call(name=event.name, call_id=event.id, arguments=event.arguments) as tool:
            result = await call_next(event, context)
            if isinstance(result, ToolErrorEvent):
                tool.failed(type(result.error).__name__)
            elif trace.capture_content and isinstance(result, ToolResultEvent):
                tool.result = json.dumps(result_value(result.result.parts), default=str)
            return result
