"""Spans and GenAI metrics of runs, through the OpenTelemetry API (providers from `setup.py`).

One span per run, with a child per agent turn, and under each turn a child per model call
(GenAI semantic conventions: operation, provider, model, token counts, finish reasons) and per
tool call (name, call id, outcome). Parents are passed explicitly rather than taken from the
ambient context: ag2 runs parts of a turn in tasks of its own, and the run's span must never
become the parent of unrelated work (journal writes, other chats). Message text, tool arguments
and results, and exception messages stay off the spans unless `capture_content` is on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider, NoOpMeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from mozaiks_runtime import __version__

SCOPE = "mozaiks_runtime"
_PROPAGATOR = TraceContextTextMapPropagator()
# The bucket boundaries the GenAI semantic conventions recommend for both histograms.
TOKEN_BUCKETS = [4.0**i for i in range(14)]  # 1 .. 67,108,864
DURATION_BUCKETS = [0.01 * 2**i for i in range(14)]  # 0.01 s .. 81.92 s
FAILED_OUTCOMES = frozenset({"failed", "timeout"})

Attributes = dict[str, AttributeValue]


class Tracing:
    """The process's tracer and GenAI instruments; `run` opens the spans of one run."""

    def __init__(
        self,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider | None = None,
        *,
        capture_content: bool = False,
    ) -> None:
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self.tracer: Tracer = tracer_provider.get_tracer(SCOPE, __version__)
        meter = (meter_provider or NoOpMeterProvider()).get_meter(SCOPE, __version__)
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.operation_duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.capture_content = capture_content

    @contextmanager
    def run(
        self,
        *,
        chat_id: str,
        app_id: str,
        workflow: str,
        version: str,
        pinned: str,
        parent: str | None = None,
        user_message: str | None = None,
    ) -> Iterator[RunTrace]:
        """The span of one run, continuing the trace of `parent` (a W3C traceparent) if given."""
        context = _PROPAGATOR.extract({"traceparent": parent}) if parent else Context()
        attributes: Attributes = {
            "gen_ai.conversation.id": chat_id,
            "mozaiks.app.id": app_id,
            "mozaiks.workflow.name": workflow,
            "mozaiks.workflow.version": version,
            "mozaiks.workflow.hash": pinned,
        }
        if self.capture_content and user_message is not None:
            attributes["mozaiks.run.user_message"] = user_message
        with _span(self.tracer, f"run {workflow}", context, SpanKind.INTERNAL, attributes) as span:
            yield RunTrace(self, span, chat_id)

    def shutdown(self) -> None:
        """Export what is still buffered, then stop the exporters (blocking: call it off-loop)."""
        self._tracer_provider.shutdown()
        shutdown = getattr(self._meter_provider, "shutdown", None)
        if shutdown is not None:
            shutdown()


class RunTrace:
    """The spans of one run. Turns follow one another, so the turn open now parents the model
    and tool calls made meanwhile."""

    def __init__(self, tracing: Tracing, span: Span, chat_id: str) -> None:
        self._tracing = tracing
        self._span = span
        self._chat_id = chat_id
        self._run_context = trace.set_span_in_context(span)
        self._turn_context = self._run_context

    @property
    def capture_content(self) -> bool:
        return self._tracing.capture_content

    @property
    def traceparent(self) -> str | None:
        """The run span's W3C context: recorded on `chat.run_start`, so a run resumed on
        another replica after a crash goes on in the same trace."""
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, self._run_context)
        return carrier.get("traceparent")

    def outcome(self, status: str, error_code: str | None = None) -> None:
        """How the run ended: completed, failed, timeout, stopped or cancelled."""
        self._span.set_attribute("mozaiks.run.outcome", status)
        if error_code:
            self._span.set_attribute("mozaiks.run.error_code", error_code)
        if status in FAILED_OUTCOMES:
            self._span.set_attribute("error.type", error_code or status)
            self._span.set_status(Status(StatusCode.ERROR, error_code or status))

    @contextmanager
    def turn(self, agent: str) -> Iterator[None]:
        attributes: Attributes = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent,
            "gen_ai.conversation.id": self._chat_id,
        }
        tracer = self._tracing.tracer
        with _span(tracer, f"invoke_agent {agent}", self._run_context, None, attributes) as span:
            self._turn_context = trace.set_span_in_context(span)
            try:
                yield
            finally:
                self._turn_context = self._run_context

    @contextmanager
    def model_call(self, *, provider: str, model: str) -> Iterator[ModelCall]:
        """A model call of the open turn; the caller reports the response through `finish`."""
        base: Attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
        }
        attributes: Attributes = {**base, "gen_ai.conversation.id": self._chat_id}
        call = ModelCall(capture_content=self.capture_content)
        started = time.perf_counter()
        error: str | None = None
        try:
            with _span(
                self._tracing.tracer,
                f"chat {model}",
                self._turn_context,
                SpanKind.CLIENT,
                attributes,
            ) as span:
                call.span = span
                yield call
        except BaseException as exc:
            error = _error_type(exc)
            raise
        finally:
            self._measure(call, base, time.perf_counter() - started, error)

    def _measure(
        self, call: ModelCall, base: Attributes, seconds: float, error: str | None
    ) -> None:
        metric = dict(base)
        if call.response_model:
            metric["gen_ai.response.model"] = call.response_model
        tracing = self._tracing
        if error is not None:
            tracing.operation_duration.record(seconds, {**metric, "error.type": error})
            return
        tracing.operation_duration.record(seconds, metric)
        if call.finished:
            usage = tracing.token_usage
            usage.record(call.input_tokens, {**metric, "gen_ai.token.type": "input"})
            usage.record(call.output_tokens, {**metric, "gen_ai.token.type": "output"})

    @contextmanager
    def tool_call(
        self, *, name: str, call_id: str, arguments: str | None = None
    ) -> Iterator[ToolCall]:
        """A tool call of the open turn; its span's duration is the tool's."""
        attributes: Attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call_id,
            "gen_ai.tool.type": "function",
            "gen_ai.conversation.id": self._chat_id,
        }
        if self.capture_content and arguments is not None:
            attributes["gen_ai.tool.call.arguments"] = arguments
        tool = ToolCall()
        tracer = self._tracing.tracer
        with _span(tracer, f"execute_tool {name}", self._turn_context, None, attributes) as span:
            try:
                yield tool
            except BaseException:
                span.set_attribute("mozaiks.tool.outcome", "error")
                raise
            span.set_attribute("mozaiks.tool.outcome", tool.outcome)
            if tool.error_type is not None:
                span.set_attribute("error.type", tool.error_type)
                span.set_status(Status(StatusCode.ERROR, tool.error_type))
            if self.capture_content and tool.result is not None:
                span.set_attribute("gen_ai.tool.call.result", tool.result)


@dataclass(slots=True)
class ModelCall:
    """What the model answered, reported onto its span (and the token histogram)."""

    capture_content: bool = False
    span: Span | None = None
    finished: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    response_model: str | None = None

    def finish(
        self,
        *,
        input_tokens: int,
        output_tokens: int,
        finish_reason: str | None,
        response_model: str | None,
        output: str | None = None,
    ) -> None:
        self.finished = True
        self.input_tokens, self.output_tokens = input_tokens, output_tokens
        self.response_model = response_model
        span = self.span
        if span is None:
            return
        attributes: Mapping[str, AttributeValue] = {
            "gen_ai.usage.input_tokens": input_tokens,
            "gen_ai.usage.output_tokens": output_tokens,
        }
        span.set_attributes(attributes)
        if response_model:
            span.set_attribute("gen_ai.response.model", response_model)
        if finish_reason:
            span.set_attribute("gen_ai.response.finish_reasons", [finish_reason])
        if self.capture_content and output is not None:
            message = {
                "role": "assistant",
                "parts": [{"type": "text", "content": output}],
                "finish_reason": finish_reason or "",
            }
            span.set_attribute("gen_ai.output.messages", json.dumps([message]))


@dataclass(slots=True)
class ToolCall:
    """How a tool call ended: `ok`, or `error` with the error's type."""

    outcome: str = "ok"
    error_type: str | None = None
    result: str | None = field(default=None, repr=False)

    def failed(self, error_type: str) -> None:
        self.outcome, self.error_type = "error", error_type


@contextmanager
def _span(
    tracer: Tracer, name: str, parent: Context, kind: SpanKind | None, attributes: Attributes
) -> Iterator[Span]:
    span = tracer.start_span(
        name, context=parent, kind=kind or SpanKind.INTERNAL, attributes=attributes
    )
    try:
        yield span
    except BaseException as exc:
        kind_of_error = _error_type(exc)
        span.set_attribute("error.type", kind_of_error)
        span.set_status(Status(StatusCode.ERROR, kind_of_error))
        raise
    finally:
        span.end()


def _error_type(exc: BaseException) -> str:
    """A bounded name for what went wrong: the domain error's code, else the exception's class
    (never its message, which may quote user data)."""
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    code = getattr(exc, "error_code", None)
    return code if isinstance(code, str) else type(exc).__name__
