"""A run resumed by another replica's sweeper after its process died goes on in the trace it was
in: `chat.run_start` records the run span's context, the resumed run's span is its child (the
killed process never exported its own span), in a real Jaeger."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from mozaiks_runtime.auth.mint import mint_token
from tests.harness.jaeger import Jaeger
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, SECRET
from tests.integration.runtime.processes import stored_events
from tests.integration.runtime.test_orphans import replicas, until_status, until_stored

pytestmark = pytest.mark.integration


async def test_a_resumed_run_goes_on_in_the_killed_runs_trace(
    tmp_path: Path, jaeger: Jaeger
) -> None:
    service = f"mozaiks-test-{secrets.token_hex(4)}"
    env = {
        "MOZAIKS_OTEL_EXPORTER_OTLP_ENDPOINT": jaeger.otlp_url,
        "MOZAIKS_OTEL_SERVICE_NAME": service,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export the resumed run's span soon after it ends
    }
    token = mint_token(SECRET, user="alice", app=APP)
    async with replicas(tmp_path, {}, ["replica-a", "replica-b"], env) as up:
        a, b = up["replica-a"], up["replica-b"]
        first = await ChatSocket.open(a.ws_url("stream", "c_traced_orphan"), token)
        started = await first.until("chat.run_start")
        await first.until("chat.text", content="message 2")
        await first.close()
        await until_stored(a.port, "c_traced_orphan", "message 4")
        await a.kill()  # its run span never ends, so it is never exported
        await until_status(b.port, "c_traced_orphan", "completed")
        stored = await stored_events(b.port, "c_traced_orphan")

    lost = started["data"]["traceparent"]
    _, trace_id, lost_span, _ = lost.split("-")
    starts = [e["data"] for e in stored if e["type"] == "chat.run_start"]
    assert len(starts) == 2 and starts[0]["traceparent"] == lost
    resumed_trace = starts[1]["traceparent"].split("-")
    assert resumed_trace[1] == trace_id and resumed_trace[2] != lost_span

    traces = jaeger.wait_for_spans(
        service, lambda ts: any(s.trace_id == trace_id for t in ts for s in t)
    )
    (run,) = [s for t in traces for s in t if s.name == "run stream"]
    assert run.trace_id == trace_id and run.span_id == resumed_trace[2]
    assert run.parent_id == lost_span  # under the killed run's span, in its trace
    assert run.tags["gen_ai.conversation.id"] == "c_traced_orphan"
    assert run.tags["mozaiks.run.outcome"] == "completed"
