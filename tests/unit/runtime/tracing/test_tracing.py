"""Spans and GenAI metrics of a run, on the real AG2 engine with the demo model, read back from
the SDK's in-memory exporter and reader (the real receiver is in tests/integration/tracing)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from tests.support.recording_io import RecordingIO

from mozaiks_runtime.config import Settings, SettingsError
from mozaiks_runtime.engine.base import RunRequest
from mozaiks_runtime.engine.run import AG2Runner, build_runner
from mozaiks_runtime.errors import BudgetExceeded
from mozaiks_runtime.lifespan import start_tracing
from mozaiks_runtime.tracing.context import traceparent
from mozaiks_runtime.tracing.otel import Tracing
from mozaiks_runtime.workflows.model import WorkflowDefinition
from mozaiks_runtime.workflows.schema import validate_definition

pytestmark = pytest.mark.unit
PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
SECRET = "my card number is 4111"  # user text that must never reach a span unless allowed

WORKFLOW = {
    "name": "estimates",
    "version": "7",
    "agents": [
        {
            "name": "Planner",
            "system_message": "Plan.",
            "tools": ["estimate_trip_cost"],
            "handoffs": {"after_work": "Writer"},
        },
        {"name": "Writer", "system_message": "Write.", "handoffs": {"after_work": "terminate"}},
    ],
    "tools": [{"kind": "python", "name": "estimate_trip_cost", "description": "Estimate."}],
}


@dataclass
class Recorded:
    tracing: Tracing
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())


def recorded(*, capture_content: bool = False) -> Recorded:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    tracing = Tracing(
        provider, MeterProvider(metric_readers=[reader]), capture_content=capture_content
    )
    return Recorded(tracing, spans, reader)


@pytest.fixture
def rec() -> Iterator[Recorded]:
    r = recorded()
    yield r
    r.tracing.shutdown()


@pytest.fixture
def runner() -> AG2Runner:
    return build_runner(Settings.load(dev_auth=True))  # the demo model: no network


def workflow() -> WorkflowDefinition:
    return validate_definition(WORKFLOW, "estimates.json")


async def traced_run(
    rec: Recorded, runner: AG2Runner, io: RecordingIO, *, parent: str | None = None
) -> None:
    with rec.tracing.run(
        chat_id="c_1",
        app_id="acme",
        workflow="estimates",
        version="7",
        pinned="sha256:abc",
        parent=parent,
        user_message=SECRET,
    ) as trace:
        request = RunRequest(
            chat_id="c_1",
            app_id="acme",
            user_id="u1",
            workflow=workflow(),
            user_message=SECRET,
            trace=trace,
        )
        outcome = await runner.run(request, io)
        trace.outcome(outcome.status)


def by_name(spans: list[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    out: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        out.setdefault(span.name, []).append(span)
    return out


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


async def test_a_run_is_a_tree_of_turns_model_calls_and_tools(
    rec: Recorded, runner: AG2Runner
) -> None:
    await traced_run(rec, runner, RecordingIO())
    spans = by_name(rec.finished())

    (run,) = spans["run estimates"]
    assert run.parent is None
    assert dict(run.attributes or {}) == {
        "gen_ai.conversation.id": "c_1",
        "mozaiks.app.id": "acme",
        "mozaiks.workflow.name": "estimates",
        "mozaiks.workflow.version": "7",
        "mozaiks.workflow.hash": "sha256:abc",
        "mozaiks.run.outcome": "completed",
    }
    (planner,) = spans["invoke_agent Planner"]
    (writer,) = spans["invoke_agent Writer"]
    for turn, agent in ((planner, "Planner"), (writer, "Writer")):
        assert parent_of(turn) == span_id(run)
        assert turn.attributes is not None
        assert turn.attributes["gen_ai.operation.name"] == "invoke_agent"
        assert turn.attributes["gen_ai.agent.name"] == agent
    assert planner.end_time is not None and writer.start_time is not None
    assert planner.end_time <= writer.start_time

    calls = spans["chat demo"]
    # the demo model calls the tool, then answers; the writer answers at once
    assert [parent_of(c) for c in calls] == [span_id(planner)] * 2 + [span_id(writer)]
    for call in calls:
        attrs = call.attributes or {}
        assert call.kind == SpanKind.CLIENT
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.provider.name"] == "mozaiks.demo"
        assert attrs["gen_ai.request.model"] == "demo"
        assert attrs["gen_ai.usage.input_tokens"] > 0
        assert attrs["gen_ai.usage.output_tokens"] > 0
        assert "gen_ai.response.finish_reasons" in attrs

    (tool,) = spans["execute_tool estimate_trip_cost"]
    assert parent_of(tool) == span_id(planner)
    assert tool.attributes is not None
    assert tool.attributes["gen_ai.tool.name"] == "estimate_trip_cost"
    assert tool.attributes["mozaiks.tool.outcome"] == "ok"
    assert tool.attributes["gen_ai.tool.call.id"]
    assert tool.status.status_code == StatusCode.UNSET
    assert calls[0].end_time is not None and tool.start_time is not None
    assert calls[0].end_time <= tool.start_time  # the tool runs after the call that asked for it
    assert run.context is not None
    assert {s.context.trace_id for s in rec.finished() if s.context} == {run.context.trace_id}


async def test_no_content_reaches_a_span_unless_allowed(runner: AG2Runner) -> None:
    hidden = recorded()
    await traced_run(hidden, runner, RecordingIO())
    for span in hidden.finished():
        for key, value in (span.attributes or {}).items():
            assert SECRET not in str(value), key
            assert not key.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.tool.call.arg"))
            assert key != "gen_ai.tool.call.result"

    shown = recorded(capture_content=True)
    await traced_run(shown, runner, RecordingIO())
    spans = by_name(shown.finished())
    run_attrs = spans["run estimates"][0].attributes or {}
    assert run_attrs["mozaiks.run.user_message"] == SECRET
    tool_attrs = spans["execute_tool estimate_trip_cost"][0].attributes or {}
    assert "Lisbon" in str(tool_attrs["gen_ai.tool.call.arguments"])
    assert "total" in str(tool_attrs["gen_ai.tool.call.result"])
    outputs = [(s.attributes or {}).get("gen_ai.output.messages") for s in spans["chat demo"]]
    last = json.loads(str(outputs[-1]))
    assert last[0]["role"] == "assistant" and "[demo model]" in last[0]["parts"][0]["content"]
    hidden.tracing.shutdown()
    shown.tracing.shutdown()


async def test_the_run_continues_the_callers_trace(rec: Recorded, runner: AG2Runner) -> None:
    await traced_run(rec, runner, RecordingIO(), parent=PARENT)
    (run,) = by_name(rec.finished())["run estimates"]
    assert run.parent is not None and run.parent.is_remote
    assert f"{run.parent.trace_id:032x}" == PARENT.split("-")[1]
    assert f"{run.parent.span_id:016x}" == PARENT.split("-")[2]


async def test_a_stopped_model_call_and_a_failed_run_are_marked(
    rec: Recorded, runner: AG2Runner
) -> None:
    with pytest.raises(BudgetExceeded):
        await traced_run(rec, runner, RecordingIO(model_budget=0))
    spans = by_name(rec.finished())
    (run,) = spans["run estimates"]
    assert run.status.status_code == StatusCode.ERROR
    assert (run.attributes or {})["error.type"] == "BUDGET_EXCEEDED"
    (turn,) = spans["invoke_agent Planner"]
    assert (turn.attributes or {})["error.type"] == "BUDGET_EXCEEDED"
    assert "chat demo" not in spans  # the budget stops the run before the model is called


def metric_points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    assert data is not None
    out: dict[str, list[Any]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                out[metric.name] = list(metric.data.data_points)
    return out


async def test_genai_client_metrics(rec: Recorded, runner: AG2Runner) -> None:
    await traced_run(rec, runner, RecordingIO())
    points = metric_points(rec.metrics)
    usage = {p.attributes["gen_ai.token.type"]: p for p in points["gen_ai.client.token.usage"]}
    assert set(usage) == {"input", "output"}
    calls = by_name(rec.finished())["chat demo"]
    spent = sum(int(str((c.attributes or {})["gen_ai.usage.input_tokens"])) for c in calls)
    assert usage["input"].count == 3 and usage["input"].sum == spent
    assert usage["input"].attributes["gen_ai.request.model"] == "demo"
    (duration,) = points["gen_ai.client.operation.duration"]
    assert duration.count == 3 and duration.attributes["gen_ai.operation.name"] == "chat"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (PARENT, True),
        (None, False),
        ("", False),
        (PARENT.upper(), False),
        ("00-" + "0" * 32 + "-00f067aa0ba902b7-01", False),  # all-zero trace id
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01", False),
        ("ff" + PARENT[2:], False),  # version ff is forbidden
        (PARENT + "-extra", False),
        ("not a traceparent", False),
    ],
)
def test_traceparent_values(value: str | None, valid: bool) -> None:
    assert traceparent(value) == (value if valid else None)


def test_settings_name_the_bad_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="MOZAIKS_OTEL_EXPORTER_OTLP_ENDPOINT"):
        Settings.load(dev_auth=True, otel_exporter_otlp_endpoint="collector:4318")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "chat-eu")
    assert Settings.load(dev_auth=True).otel_service_name == "chat-eu"
    assert start_tracing(Settings.load(dev_auth=True)) is None  # off by default
