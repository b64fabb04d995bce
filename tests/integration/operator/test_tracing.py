"""The operator's reconcile passes as spans in a real OTLP receiver (Jaeger v2, hack/jaeger):
the operator process runs against the real kube-apiserver with the chart's RBAC."""

from __future__ import annotations

import secrets

import pytest

from tests.harness.jaeger import Jaeger, TraceSpan
from tests.integration.operator.conftest import (
    Operators,
    jwt_secret,
    tenant,
    wait_ready,
    workflow,
)
from tests.integration.operator.kapi import Api

pytestmark = pytest.mark.integration


def passes(traces: list[list[TraceSpan]], name: str, kind: str = "Tenant") -> list[TraceSpan]:
    return [
        s
        for trace in traces
        for s in trace
        if s.name == f"reconcile {kind}" and s.tags["mozaiks.reconcile.name"] == name
    ]


def test_each_reconcile_pass_is_a_span(
    api: Api, operators: Operators, k8s_namespace: str, jaeger: Jaeger
) -> None:
    ns, service = k8s_namespace, f"mozaiks-operator-test-{secrets.token_hex(4)}"
    api.create(jwt_secret(ns))
    api.create(tenant(ns))
    broken = {"baseUrl": "https://llm.example/v1", "apiKeySecretRef": {"name": "nope", "key": "k"}}
    api.create(tenant(ns, "broken", llm=broken))
    api.create(workflow(ns))
    op = operators.start(
        ns,
        MOZAIKS_OPERATOR_OTEL_EXPORTER_OTLP_ENDPOINT=jaeger.otlp_url,
        MOZAIKS_OPERATOR_OTEL_SERVICE_NAME=service,
        OTEL_BSP_SCHEDULE_DELAY="200",  # ms; the SDK's own variable
    )
    wait_ready(api, ns)

    traces = jaeger.wait_for_spans(
        service,
        lambda t: (
            any(s.tags["mozaiks.reconcile.outcome"] == "ok" for s in passes(t, "acme"))
            and passes(t, "broken")
            and passes(t, "greeter", "Workflow")
        ),
    )
    ok = next(s for s in passes(traces, "acme") if s.tags["mozaiks.reconcile.outcome"] == "ok")
    assert ok.tags["mozaiks.reconcile.kind"] == "Tenant"
    assert ok.tags["k8s.namespace.name"] == ns
    assert "error" not in ok.tags
    failed = passes(traces, "broken")[0]
    assert failed.tags["mozaiks.reconcile.outcome"] == "SecretMissing"
    assert failed.tags["error.type"] == "SecretMissing"
    assert failed.tags["otel.status_code"] == "ERROR"
    # a Workflow's pass: validated, then its Tenants re-applied (their passes nest under it)
    validated = passes(traces, "greeter", "Workflow")
    assert all(s.tags["mozaiks.reconcile.outcome"] == "ok" for s in validated)
    assert all(s.tags["k8s.namespace.name"] == ns for s in validated)
    ids = {s.span_id for s in validated}
    assert any(s.parent_id in ids for s in passes(traces, "acme"))
    assert op.proc.poll() is None  # tracing never stopped the operator
