"""The runtime's traces in a real OTLP receiver: Jaeger v2 (hack/jaeger), read back through its
query API. A two-agent chat with a tool call runs on the real AG2 engine against the fake
OpenAI-compatible server; the broker's trace context arrives in the socket's handshake, in a
client frame and in the HTTP request that creates the session."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from mozaiks_runtime.lifespan import default_runner
from tests.harness.jaeger import Jaeger, TraceSpan
from tests.harness.services import wait_for
from tests.integration.runtime.conftest import Runtime, base_settings, serve
from tests.integration.runtime.test_real_engine import EXAMPLES
from tests.support.fake_llm import FakeLLM, Reply

pytestmark = pytest.mark.integration

QUESTION = "Plan two days in Lisbon for my aunt Ottilie"  # must never reach a span

WORKFLOW = {
    "name": "research",
    "version": "3",
    "agents": [
        {
            "name": "Researcher",
            "system_message": "Find the cost.",
            "tools": ["estimate_trip_cost"],
            "handoffs": {"after_work": "Writer"},
        },
        {"name": "Writer", "system_message": "Summarise.", "handoffs": {"after_work": "user"}},
    ],
    "tools": [{"kind": "python", "name": "estimate_trip_cost", "description": "Estimate."}],
}


@pytest.fixture
def service() -> str:
    return f"mozaiks-test-{secrets.token_hex(4)}"  # this test's spans only


@pytest.fixture
async def traced(
    tmp_path: Path, fake_llm: FakeLLM, jaeger: Jaeger, service: str
) -> AsyncIterator[Runtime]:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "research.json").write_text(json.dumps(WORKFLOW))
    settings = base_settings(
        tmp_path,
        workflows_dir=workflows,
        llm_base_url=fake_llm.url,
        llm_api_key="sk-test",
        llm_model="fake-model",
        otel_exporter_otlp_endpoint=jaeger.otlp_url,
        otel_service_name=service,
    )
    async with serve(settings, runner_factory=default_runner) as rt:
        yield rt


def new_traceparent() -> str:
    """A fresh caller's trace: Jaeger returns a whole trace, whoever sent its spans."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id(traceparent: str) -> str:
    return traceparent.split("-")[1]


def tree(spans: list[TraceSpan]) -> dict[str, list[TraceSpan]]:
    """Children by parent span id (roots under the remote parent's id)."""
    out: dict[str, list[TraceSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_us):
        out.setdefault(span.parent_id or "", []).append(span)
    return out


def trace_of(traces: list[list[TraceSpan]], traceparent: str) -> list[TraceSpan]:
    return next((t for t in traces if t and t[0].trace_id == trace_id(traceparent)), [])


def has_run(traceparent: str, spans: int) -> Callable[[list[list[TraceSpan]]], bool]:
    return lambda traces: len(trace_of(traces, traceparent)) >= spans


async def test_a_chat_run_is_one_trace_under_the_brokers(
    traced: Runtime, fake_llm: FakeLLM, jaeger: Jaeger, service: str
) -> None:
    broker = new_traceparent()
    fake_llm.script(
        Reply.tool("estimate_trip_cost", {"destination": "Lisbon", "days": 2}, usage=(120, 8)),
        Reply.say("Two days in Lisbon cost about 580 EUR.", usage=(150, 20)),
        Reply.say("Summary: 580 EUR for two days.", usage=(90, 30)),
    )
    sock = await traced.socket("research", "c_traced", traceparent=broker)
    await sock.send({"type": "user.input.submit", "text": QUESTION})
    done = await sock.until("chat.run_complete", wait=30)
    assert done["data"]["status"] == "completed"
    await sock.close()

    # run -> 2 agent turns -> 3 model calls + 1 tool call
    traces = jaeger.wait_for_spans(service, has_run(broker, 7))
    spans = trace_of(traces, broker)
    assert len(spans) == 7
    children = tree(spans)
    (run,) = children[broker.split("-")[2]]  # the broker's span is the run's parent
    assert run.name == "run research"
    assert run.tags["gen_ai.conversation.id"] == "c_traced"
    assert run.tags["mozaiks.app.id"] == "demo"
    assert run.tags["mozaiks.workflow.name"] == "research"
    assert run.tags["mozaiks.workflow.version"] == "3"
    assert str(run.tags["mozaiks.workflow.hash"])
    assert run.tags["mozaiks.run.outcome"] == "completed"

    researcher, writer = children[run.span_id]
    assert (researcher.name, writer.name) == ("invoke_agent Researcher", "invoke_agent Writer")
    assert researcher.tags["gen_ai.agent.name"] == "Researcher"
    assert researcher.start_us + researcher.duration_us <= writer.start_us

    asked, tool, answered = children[researcher.span_id]  # by start time
    (summary,) = children[writer.span_id]
    for call, tokens in ((asked, (120, 8)), (answered, (150, 20)), (summary, (90, 30))):
        assert call.name == "chat fake-model"
        assert call.tags["span.kind"] == "client"
        assert call.tags["gen_ai.operation.name"] == "chat"
        assert call.tags["gen_ai.provider.name"] == "openai"
        assert call.tags["gen_ai.request.model"] == "fake-model"
        assert call.tags["gen_ai.usage.input_tokens"] == tokens[0]
        assert call.tags["gen_ai.usage.output_tokens"] == tokens[1]
    assert "tool_calls" in str(asked.tags["gen_ai.response.finish_reasons"])
    assert "stop" in str(summary.tags["gen_ai.response.finish_reasons"])

    assert tool.name == "execute_tool estimate_trip_cost"
    assert tool.tags["gen_ai.tool.name"] == "estimate_trip_cost"
    assert tool.tags["mozaiks.tool.outcome"] == "ok"
    assert asked.start_us + asked.duration_us <= tool.start_us <= answered.start_us

    for span in spans:  # message content stays out unless MOZAIKS_OTEL_CAPTURE_CONTENT
        values = [str(v) for v in span.tags.values()]
        assert not any(text in v for v in values for text in ("Ottilie", "Lisbon cost", "Summary"))
        assert not any(k.startswith(("gen_ai.input", "gen_ai.output")) for k in span.tags)


async def test_the_session_requests_then_a_frames_traceparent_are_honoured(
    traced: Runtime, fake_llm: FakeLLM, jaeger: Jaeger, service: str
) -> None:
    broker, later = new_traceparent(), new_traceparent()
    created = await traced.http.post(
        "/api/sessions",
        json={"workflow_name": "research"},
        headers={**traced.auth(), "traceparent": broker},
    )
    assert created.status_code == 201
    # the socket URL handed to the browser carries the broker's trace context
    query = parse_qs(urlsplit(created.json()["ws_url"]).query)
    assert query["traceparent"] == [broker]
    chat_id = created.json()["chat_id"]
    # an invalid one is ignored (W3C): the session is created, its URL carries nothing
    ignored = await traced.http.post(
        "/api/sessions",
        json={"workflow_name": "research"},
        headers={**traced.auth(), "traceparent": "00-zz-not-valid-01"},
    )
    assert ignored.status_code == 201
    assert urlsplit(ignored.json()["ws_url"]).query == ""

    fake_llm.script(*[Reply.say("Nothing to look up.")] * 3)
    sock = await traced.socket("research", chat_id, traceparent=query["traceparent"][0])
    await sock.send({"type": "user.input.submit", "text": "hi"})
    await sock.until("chat.run_complete", wait=30)
    # a frame's traceparent wins for the runs that follow it
    await sock.send({"type": "user.input.submit", "text": "more", "traceparent": later})
    await sock.until("chat.run_complete", wait=30)
    bad = {"type": "user.input.submit", "text": "again", "traceparent": "not-a-traceparent"}
    await sock.send(bad)
    error = await sock.until("chat.error", wait=10)
    assert error["data"]["error_code"] == "SCHEMA_VALIDATION_FAILED"
    await sock.close()

    traces = jaeger.wait_for_spans(
        # the first run: both agents; the second goes on with the Writer, who handed to the user
        service,
        lambda t: has_run(broker, 5)(t) and has_run(later, 3)(t),
    )
    for parent in (broker, later):
        (run,) = [s for s in trace_of(traces, parent) if s.name == "run research"]
        assert run.parent_id == parent.split("-")[2]
        assert run.tags["gen_ai.conversation.id"] == chat_id


async def test_genai_metrics_reach_the_receiver(
    tmp_path: Path, fake_llm: FakeLLM, jaeger: Jaeger, service: str
) -> None:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "research.json").write_text(json.dumps(WORKFLOW))
    settings = base_settings(
        tmp_path,
        workflows_dir=workflows,
        llm_base_url=fake_llm.url,
        llm_model="fake-model",
        otel_exporter_otlp_endpoint=jaeger.otlp_url,
        otel_service_name=service,
    )
    fake_llm.script(Reply.say("Short.", usage=(11, 4)), Reply.say("Done.", usage=(12, 5)))
    async with serve(settings, runner_factory=default_runner) as rt:
        sock = await rt.socket("research", "c_metrics")
        await sock.send({"type": "user.input.submit", "text": "hi"})
        await sock.until("chat.run_complete", wait=30)
        await sock.close()
    # shutting down flushed the metrics; Jaeger's debug exporter prints what it received

    def printed() -> str | None:
        text = jaeger.log.read_text(errors="replace")
        return text if f"-> service.name: Str({service})" in text else None

    log = wait_for(printed, 15, 0.3, "metrics in the Jaeger log")
    mine = log[log.index(f"-> service.name: Str({service})") :]
    assert "gen_ai.client.token.usage" in mine
    assert "gen_ai.client.operation.duration" in mine
    assert "gen_ai.token.type: Str(input)" in mine


async def test_an_answer_over_http_continues_the_callers_trace(
    tmp_path: Path, jaeger: Jaeger, service: str
) -> None:
    """The run that asked is gone (the runtime restarted while it waited): the answer posted to
    /api/user-input/submit starts the run that goes on, under the answering request's trace."""
    settings = base_settings(
        tmp_path,
        workflows_dir=EXAMPLES,  # `hello` on the demo model: asks the user's name, then greets
        otel_exporter_otlp_endpoint=jaeger.otlp_url,
        otel_service_name=service,
    )
    async with serve(settings, runner_factory=default_runner) as rt:
        sock = await rt.socket("hello", "c_answered")
        asked = await sock.until("chat.input_request", wait=30)
        await sock.close()
    answering = new_traceparent()
    async with serve(settings, runner_factory=default_runner) as again:
        answered = await again.http.post(
            "/api/user-input/submit",
            json={"input_request_id": asked["data"]["request_id"], "user_input": "Ada"},
            headers={**again.auth(), "traceparent": answering},
        )
        assert answered.status_code == 200, answered.text
        watch = await again.socket("hello", "c_answered", last_seq=asked["seq"])
        while (frame := await watch.recv(wait=30))["type"] != "chat.run_complete":
            if frame["type"] == "chat.input_request":  # the demo model may ask once more
                answer = {"input_request_id": frame["data"]["request_id"], "text": "Ada"}
                await watch.send({"type": "user.input.submit", **answer})
        await watch.close()
        assert frame["data"]["status"] == "completed"

    traces = jaeger.wait_for_spans(service, has_run(answering, 1))
    (run,) = [s for s in trace_of(traces, answering) if s.name == "run hello"]
    assert run.parent_id == answering.split("-")[2]
    assert run.tags["gen_ai.conversation.id"] == "c_answered"
    assert run.tags["mozaiks.run.outcome"] == "completed"
