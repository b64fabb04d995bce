"""The runtime's autoscaler (only when autoscaling is on) and its PodDisruptionBudget.

CPU (the default) is a plain HPA. Open sockets and executing runs are what actually load a chat
runtime; they are the runtime's own gauges (constants.LOAD_GAUGES), which reach an autoscaler
either as Pods metrics through a metrics adapter (prometheus-adapter: an HPA, as for CPU) or
through KEDA's prometheus scaler (a ScaledObject; KEDA then makes the HPA itself). The operator
picks KEDA when its CRD is installed and it knows where Prometheus is (`keda_prometheus_url`).
"""

from __future__ import annotations

from typing import Any

from mozaiks_operator import constants as c
from mozaiks_operator.model.tenant import Autoscaling, Tenant
from mozaiks_operator.specs.meta import child_metadata
from mozaiks_operator.specs.names import runtime_name, selector_labels

HPA_KIND = "HorizontalPodAutoscaler"
SCALED_OBJECT_KIND = "ScaledObject"


def _cpu(scaling: Autoscaling) -> dict[str, Any]:
    percent = scaling.target_cpu_utilization_percentage
    target = {"type": "Utilization", "averageUtilization": percent}
    return {"type": "Resource", "resource": {"name": "cpu", "target": target}}


def _pods(scaling: Autoscaling) -> dict[str, Any]:
    return {
        "type": "Pods",
        "pods": {
            "metric": {"name": c.LOAD_GAUGES[scaling.metric]},
            "target": {"type": "AverageValue", "averageValue": str(_target(scaling))},
        },
    }


def _target(scaling: Autoscaling) -> int:
    if scaling.target_per_pod is None:  # the CRD refuses this at admission
        raise ValueError(f"autoscaling.targetPerPod is required for metric {scaling.metric}")
    return scaling.target_per_pod


def build_runtime_hpa(tenant: Tenant) -> dict[str, Any] | None:
    """None when autoscaling is off (then an existing HPA is pruned)."""
    scaling = tenant.spec.runtime.autoscaling
    if not scaling.enabled:
        return None
    return {
        "apiVersion": "autoscaling/v2",
        "kind": HPA_KIND,
        "metadata": child_metadata(tenant, name=runtime_name(tenant), component="runtime"),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": runtime_name(tenant),
            },
            "minReplicas": scaling.min_replicas,
            "maxReplicas": max(scaling.max_replicas, scaling.min_replicas),
            "metrics": [_cpu(scaling) if scaling.metric == "cpu" else _pods(scaling)],
        },
    }


def load_query(tenant: Tenant) -> str:
    """The PromQL sum of the tenant's load gauge over its pods (the labels prometheus-operator
    puts on every target scraped through the runtime Service)."""
    gauge = c.LOAD_GAUGES[tenant.spec.runtime.autoscaling.metric]
    return f'sum({gauge}{{namespace="{tenant.namespace}",service="{runtime_name(tenant)}"}})'


def build_runtime_scaled_object(tenant: Tenant, prometheus_url: str) -> dict[str, Any]:
    """A KEDA ScaledObject: `AverageValue` divides the query by the replica count, so the
    threshold is a per-pod target like the HPA's."""
    scaling = tenant.spec.runtime.autoscaling
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": SCALED_OBJECT_KIND,
        "metadata": child_metadata(tenant, name=runtime_name(tenant), component="runtime"),
        "spec": {
            "scaleTargetRef": {"name": runtime_name(tenant)},
            "minReplicaCount": scaling.min_replicas,
            "maxReplicaCount": max(scaling.max_replicas, scaling.min_replicas),
            "triggers": [
                {
                    "type": "prometheus",
                    "metricType": "AverageValue",
                    "metadata": {
                        "serverAddress": prometheus_url,
                        "query": load_query(tenant),
                        "threshold": str(_target(scaling)),
                    },
                }
            ],
        },
    }


def build_runtime_autoscaler(
    tenant: Tenant, *, keda_prometheus_url: str | None
) -> tuple[str, dict[str, Any]] | None:
    """(kind, object) of the autoscaler this Tenant wants; None when autoscaling is off.

    `keda_prometheus_url`: set when KEDA is installed and Prometheus known; then sockets and
    runs scale through a ScaledObject. CPU is always a plain HPA.
    """
    scaling = tenant.spec.runtime.autoscaling
    hpa = build_runtime_hpa(tenant)
    if hpa is None:
        return None
    if scaling.metric != "cpu" and keda_prometheus_url:
        return SCALED_OBJECT_KIND, build_runtime_scaled_object(tenant, keda_prometheus_url)
    return HPA_KIND, hpa


def build_runtime_pdb(tenant: Tenant) -> dict[str, Any]:
    # maxUnavailable rather than minAvailable: with a single replica, minAvailable 1 would block
    # every node drain forever. Chats survive a pod loss (they resume from the event log).
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": child_metadata(tenant, name=runtime_name(tenant), component="runtime"),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(tenant)}},
    }
