"""Autoscaling on load against the real API server: the CRD refuses a load metric without a
target (CEL) and an unknown metric (enum); sockets and runs become an HPA on a Pods metric the
API server accepts; with KEDA's CRD installed (a minimal copy of it) and a Prometheus URL, a
ScaledObject instead, and switching back to CPU prunes it for an HPA."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.operator.conftest import Operators, jwt_secret, tenant, wait_applied
from tests.integration.operator.kapi import Api, ApiError, wait_for

pytestmark = pytest.mark.integration
PROMETHEUS = "http://prometheus.monitoring.svc:9090"
KEDA_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "scaledobjects.keda.sh"},
    "spec": {
        "group": "keda.sh",
        "scope": "Namespaced",
        "names": {
            "kind": "ScaledObject",
            "listKind": "ScaledObjectList",
            "plural": "scaledobjects",
            "singular": "scaledobject",
        },
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["scaleTargetRef", "triggers"],
                                "properties": {
                                    "scaleTargetRef": {
                                        "type": "object",
                                        "required": ["name"],
                                        "properties": {"name": {"type": "string"}},
                                    },
                                    "minReplicaCount": {"type": "integer"},
                                    "maxReplicaCount": {"type": "integer"},
                                    "triggers": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["type", "metadata"],
                                            "properties": {
                                                "type": {"type": "string"},
                                                "metricType": {"type": "string"},
                                                "metadata": {
                                                    "type": "object",
                                                    "additionalProperties": {"type": "string"},
                                                },
                                            },
                                        },
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
}


def scaling(**autoscaling: Any) -> dict[str, Any]:
    return {"runtime": {"autoscaling": {"enabled": True, "maxReplicas": 5, **autoscaling}}}


def test_admission_refuses_a_load_metric_without_target_and_unknown_metrics(
    api: Api, k8s_namespace: str, operator_rbac: str
) -> None:
    ns = k8s_namespace
    with pytest.raises(ApiError) as info:
        api.create(tenant(ns, "notarget", **scaling(metric="sockets")))
    assert info.value.status == 422
    assert "targetPerPod is required when metric is sockets or runs" in info.value.message
    with pytest.raises(ApiError) as info:
        api.create(tenant(ns, "memory", **scaling(metric="memory", targetPerPod=3)))
    assert info.value.status == 422 and "metric" in info.value.message
    with pytest.raises(ApiError) as info:
        api.create(tenant(ns, "zero", **scaling(metric="runs", targetPerPod=0)))
    assert info.value.status == 422 and "targetPerPod" in info.value.message
    created = api.create(tenant(ns, "cpu", **scaling()))
    assert created["spec"]["runtime"]["autoscaling"]["metric"] == "cpu"  # the default


def _hpa_metric(api: Api, ns: str) -> dict[str, Any] | None:
    hpa = api.get("HorizontalPodAutoscaler", ns, "acme-runtime")
    return None if hpa is None else dict(hpa["spec"]["metrics"][0])


def test_sockets_and_runs_scale_through_an_hpa_on_pods_metrics(
    api: Api, operators: Operators, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns, **scaling(metric="sockets", targetPerPod=150)))
    operators.start(ns)
    wait_applied(api, ns)
    metric = wait_for(lambda: _hpa_metric(api, ns), what="HPA")
    assert metric == {
        "type": "Pods",
        "pods": {
            "metric": {"name": "mozaiks_ws_open"},
            "target": {"type": "AverageValue", "averageValue": "150"},
        },
    }
    # The HPA owns the replica count: the operator does not apply it.
    deployment = api.get("Deployment", ns, "acme-runtime") or {}
    ours = [
        m["fieldsV1"]
        for m in deployment["metadata"]["managedFields"]
        if m["manager"] == "mozaiks-operator"
    ]
    assert ours and all("f:replicas" not in m.get("f:spec", {}) for m in ours)

    api.patch("Tenant", ns, "acme", {"spec": scaling(metric="runs", targetPerPod=8)})
    wait_for(
        lambda: (
            (_hpa_metric(api, ns) or {}).get("pods", {}).get("metric")
            == {"name": "mozaiks_runs_active"}
        ),
        what="HPA on runs",
    )


@pytest.fixture
def keda_crd(api: Api) -> Iterator[None]:
    """KEDA's ScaledObject kind (a minimal CRD), served for one test, then removed."""
    api.create(KEDA_CRD)

    def established() -> bool:
        crd = api.get("CustomResourceDefinition", None, "scaledobjects.keda.sh") or {}
        conds = (crd.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conds)

    wait_for(established, what="KEDA CRD established")
    yield
    api.delete("CustomResourceDefinition", None, "scaledobjects.keda.sh")


def test_with_keda_sockets_scale_through_a_scaled_object(
    api: Api, operators: Operators, k8s_namespace: str, keda_crd: None
) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns, **scaling(metric="sockets", targetPerPod=200, minReplicas=2)))
    operators.start(ns, MOZAIKS_OPERATOR_KEDA_PROMETHEUS_URL=PROMETHEUS)
    wait_applied(api, ns)
    scaled = wait_for(lambda: api.get("ScaledObject", ns, "acme-runtime"), what="ScaledObject")
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {"name": "acme-runtime"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 5)
    (trigger,) = spec["triggers"]
    assert trigger["metadata"]["serverAddress"] == PROMETHEUS
    assert trigger["metadata"]["query"] == (
        f'sum(mozaiks_ws_open{{namespace="{ns}",service="acme-runtime"}})'
    )
    assert trigger["metadata"]["threshold"] == "200"
    owner = scaled["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Tenant", "acme", True)
    assert api.get("HorizontalPodAutoscaler", ns, "acme-runtime") is None  # KEDA makes its own

    # Back to CPU: the ScaledObject goes, a plain HPA comes.
    api.patch("Tenant", ns, "acme", {"spec": scaling(metric="cpu")})
    wait_for(lambda: api.get("ScaledObject", ns, "acme-runtime") is None, what="pruned")
    cpu = wait_for(lambda: _hpa_metric(api, ns), what="CPU HPA")
    assert cpu["resource"]["name"] == "cpu"
