"""The operator's reconcile passes as spans in a real OTLP receiver (Jaeger v2, hack/jaeger):
the operator process runs against the real kube-apiserver with the chart's RBAC."""

from __future__ import annotations

import secrets

import pytest

from tests.harness.jaeger import Jaeger, TraceSpan
from tests.integration.operator.conftest import Operators, jwt_secret, tenant, wait_ready
from tests.integration.operator.kapi import Api

pytestmark = pytest.mark.integration


def passes(traces: list[list[TraceSpan]], name: str) -> list[TraceSpan]:
    return [
        s
        for trace in traces
        for s in trace
        if s.name == "reconcile Tenant" and s.tags["mozaiks.reconcile.name"] == name
    ]


def test_each_reconcile_pass_is_a_span(
    api: Api, operators: Operators, k8s_namespace: str, jaeger: Jaeger
) -> None:
    ns, service = k8s_namespace, f"mozaiks-operator-test-{secrets.token_hex(4)}"
    api.create(jwt_secret(ns))
    api.create(tenant(ns))
    broken = {"baseUrl": "https://llm.example/v1", "apiKeySecretRef": {"name": "nope", "key": "k"}}
    api.create(tenant(ns, "broken", llm=broken))
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
    assert op.proc.poll() is None  # tracing never stopped the operator
