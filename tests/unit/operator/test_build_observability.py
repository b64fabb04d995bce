"""Metrics port on the pods and the Service, the monitoring rule of the NetworkPolicy, and the
autoscaler on CPU, sockets or runs (an HPA on a Pods metric, or a KEDA ScaledObject)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.deployment import build_runtime_deployment
from mozaiks_operator.specs.desired import Environment, desired_children
from mozaiks_operator.specs.network import build_runtime_network_policy
from mozaiks_operator.specs.scaling import build_runtime_autoscaler
from mozaiks_operator.specs.service import build_runtime_service
from mozaiks_operator.specs.workflows import Selection

pytestmark = pytest.mark.unit
MakeTenant = Callable[..., Tenant]
PROM = "http://prometheus.monitoring.svc:9090"


def _scaling(**autoscaling: Any) -> dict[str, Any]:
    return {"runtime": {"autoscaling": {"enabled": True, "maxReplicas": 6, **autoscaling}}}


def test_pods_and_service_expose_a_separate_metrics_port(make_tenant: MakeTenant) -> None:
    dep = build_runtime_deployment(make_tenant(), image="img", config_digest="d")
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080, "metrics": 9090}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MOZAIKS_METRICS_PORT"] == "9090"
    assert container["readinessProbe"]["httpGet"]["port"] == "http"
    svc = build_runtime_service(make_tenant())
    assert [(p["name"], p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [
        ("http", 80, "http"),
        ("metrics", 9090, "metrics"),
    ]


def _policy(tenant: Tenant, monitoring: str) -> dict[str, Any]:
    return build_runtime_network_policy(
        tenant,
        ingress_namespace="ingress-nginx",
        database_port=27017,
        llm_port=None,
        monitoring_namespace=monitoring,
    )


def test_the_monitoring_namespace_reaches_the_metrics_port_only(make_tenant: MakeTenant) -> None:
    ingress, scrape = _policy(make_tenant(), "monitoring")["spec"]["ingress"]
    assert ingress["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert scrape == {
        "from": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        ],
        "ports": [{"port": 9090, "protocol": "TCP"}],
    }
    # no default and no Tenant selector: nothing but the ingress controller gets in
    assert len(_policy(make_tenant(), "")["spec"]["ingress"]) == 1


def test_a_tenant_selector_overrides_the_default(make_tenant: MakeTenant) -> None:
    selector = {"matchLabels": {"team": "observability"}}
    tenant = make_tenant(monitoring={"namespaceSelector": selector})
    _, scrape = _policy(tenant, "monitoring")["spec"]["ingress"]
    assert scrape["from"] == [{"namespaceSelector": selector}]
    assert scrape["ports"] == [{"port": 9090, "protocol": "TCP"}]


def test_cpu_is_the_default_and_stays_an_hpa_even_with_keda(make_tenant: MakeTenant) -> None:
    assert build_runtime_autoscaler(make_tenant(), keda_prometheus_url=PROM) is None
    kind, hpa = build_runtime_autoscaler(make_tenant(**_scaling()), keda_prometheus_url=PROM) or (
        "",
        {},
    )
    assert kind == "HorizontalPodAutoscaler"
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80},
            },
        }
    ]


@pytest.mark.parametrize(
    ("metric", "gauge"), [("sockets", "mozaiks_ws_open"), ("runs", "mozaiks_runs_active")]
)
def test_sockets_and_runs_scale_on_a_pods_metric(
    make_tenant: MakeTenant, metric: str, gauge: str
) -> None:
    tenant = make_tenant(**_scaling(metric=metric, targetPerPod=50))
    kind, hpa = build_runtime_autoscaler(tenant, keda_prometheus_url=None) or ("", {})
    assert kind == "HorizontalPodAutoscaler"
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": gauge},
                "target": {"type": "AverageValue", "averageValue": "50"},
            },
        }
    ]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 6)


def test_with_keda_sockets_scale_through_a_scaled_object(make_tenant: MakeTenant) -> None:
    tenant = make_tenant(**_scaling(metric="sockets", targetPerPod=200, minReplicas=2))
    kind, obj = build_runtime_autoscaler(tenant, keda_prometheus_url=PROM) or ("", {})
    assert kind == "ScaledObject" and obj["apiVersion"] == "keda.sh/v1alpha1"
    spec = obj["spec"]
    assert spec["scaleTargetRef"] == {"name": "acme-runtime"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 6)
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "AverageValue"
    assert trigger["metadata"] == {
        "serverAddress": PROM,
        "query": 'sum(mozaiks_ws_open{namespace="team-a",service="acme-runtime"})',
        "threshold": "200",
    }
    assert obj["metadata"]["ownerReferences"][0]["controller"] is True


def _kinds(tenant: Tenant, keda: str | None) -> tuple[list[str], list[str]]:
    env = Environment("img", "ingress-nginx", 27017, None, None, "monitoring", keda)
    desired = desired_children(tenant, Selection((), {}), env)
    return [c["kind"] for c in desired.children], desired.absent_kinds


def test_one_autoscaler_at_most_and_the_other_is_pruned(make_tenant: MakeTenant) -> None:
    sockets = make_tenant(**_scaling(metric="sockets", targetPerPod=10))
    kinds, absent = _kinds(sockets, PROM)
    assert "ScaledObject" in kinds and "HorizontalPodAutoscaler" not in kinds
    assert "HorizontalPodAutoscaler" in absent
    kinds, absent = _kinds(sockets, None)
    assert "HorizontalPodAutoscaler" in kinds
    assert "ScaledObject" not in absent  # without KEDA the kind is not even looked up
    kinds, absent = _kinds(make_tenant(), PROM)
    assert {"HorizontalPodAutoscaler", "ScaledObject"} <= set(absent)


def test_sockets_without_a_target_is_refused_by_the_model(make_tenant: MakeTenant) -> None:
    tenant = make_tenant(**_scaling(metric="sockets"))
    with pytest.raises(ValueError, match="targetPerPod is required"):
        build_runtime_autoscaler(tenant, keda_prometheus_url=None)
    with pytest.raises(ValidationError):
        make_tenant(**_scaling(metric="memory", targetPerPod=1))
