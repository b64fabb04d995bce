"""The NetworkPolicy evaluator the e2e tests use (kwok enforces no policy), on the operator's
own tenant policy: it must refuse as readily as it admits, or the e2e check proves nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.support.netpol import Source, admits, selects

from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.deployment import build_runtime_deployment
from mozaiks_operator.specs.network import build_runtime_network_policy

pytestmark = pytest.mark.unit
MakeTenant = Callable[..., Tenant]
NAME = "kubernetes.io/metadata.name"


def _source(ns: str, **labels: str) -> Source:
    return Source(ns, {NAME: ns, **labels}, {"app": "prometheus"})


def test_selectors() -> None:
    assert selects({}, {"a": "1"}) and selects(None, {})
    assert selects({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"})
    assert not selects({"matchLabels": {"a": "1"}}, {"a": "2"})
    expr = {"matchExpressions": [{"key": "team", "operator": "In", "values": ["obs"]}]}
    assert selects(expr, {"team": "obs"}) and not selects(expr, {})
    assert selects({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, {})


def test_the_tenant_policy_admits_scrapers_to_the_metrics_port_only(
    make_tenant: MakeTenant,
) -> None:
    tenant = make_tenant()
    policy = build_runtime_network_policy(
        tenant,
        ingress_namespace="ingress-nginx",
        database_port=27017,
        llm_port=None,
        monitoring_namespace="monitoring",
    )
    pod = build_runtime_deployment(tenant, image="i", config_digest="d")["spec"]["template"]
    pod = {**pod, "metadata": {**pod["metadata"], "namespace": tenant.namespace}}
    assert admits([policy], pod, _source("monitoring"), 9090)
    assert not admits([policy], pod, _source("monitoring"), 8080)
    assert not admits([policy], pod, _source("other"), 9090)
    assert admits([policy], pod, _source("ingress-nginx"), 8080)
    assert not admits([policy], pod, _source("ingress-nginx"), 9090)
    other_pod = {**pod, "metadata": {**pod["metadata"], "labels": {"app": "x"}}}
    assert admits([policy], other_pod, _source("other"), 1234)  # not selected: open


def test_named_ports_and_pod_selectors_alone(make_tenant: MakeTenant) -> None:
    pod = {
        "metadata": {"namespace": "a", "labels": {"app": "op"}},
        "spec": {"containers": [{"ports": [{"name": "metrics", "containerPort": 9090}]}]},
    }
    policy = {
        "metadata": {"namespace": "a"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "op"}},
            "ingress": [
                {"from": [{"podSelector": {}}], "ports": [{"port": "metrics"}]},
            ],
        },
    }
    assert admits([policy], pod, Source("a", {NAME: "a"}, {}), 9090)
    assert not admits([policy], pod, Source("b", {NAME: "b"}, {}), 9090)  # other namespace
    assert not admits([policy], pod, Source("a", {NAME: "a"}, {}), 9091)
