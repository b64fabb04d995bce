"""HorizontalPodAutoscaler (only when autoscaling is on) and PodDisruptionBudget."""

from __future__ import annotations

from typing import Any

from mozaiks_operator.build.meta import child_metadata
from mozaiks_operator.build.names import runtime_name, selector_labels
from mozaiks_operator.model.tenant import Tenant


def build_runtime_hpa(tenant: Tenant) -> dict[str, Any] | None:
    """None when autoscaling is off (then an existing HPA is pruned)."""
    scaling = tenant.spec.runtime.autoscaling
    if not scaling.enabled:
        return None
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": child_metadata(tenant, name=runtime_name(tenant), component="runtime"),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": runtime_name(tenant),
            },
            "minReplicas": scaling.min_replicas,
            "maxReplicas": max(scaling.max_replicas, scaling.min_replicas),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": scaling.target_cpu_utilization_percentage,
                        },
                    },
                }
            ],
        },
    }


def build_runtime_pdb(tenant: Tenant) -> dict[str, Any]:
    # maxUnavailable rather than minAvailable: with a single replica, minAvailable 1 would block
    # every node drain forever. Chats survive a pod loss (they resume from the event log).
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": child_metadata(tenant, name=runtime_name(tenant), component="runtime"),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(tenant)}},
    }
