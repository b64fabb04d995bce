"""Every kind the operator reads, writes or watches, listed once: apiVersion, plural, watched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mozaiks_operator import constants as c


@dataclass(frozen=True)
class Kind:
    api_version: str
    plural: str
    # A child kind whose events re-reconcile its Tenant (handlers/children.py). Secrets are not
    # watched (that needs list/watch on every Secret in the cluster; the drift timer repairs
    # them), nor KEDA's ScaledObject (installed or not, so not always there to watch).
    watched: bool = False

    @property
    def group(self) -> str:
        """The API group ("" for the core group)."""
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]


KINDS: Final[dict[str, Kind]] = {
    "Secret": Kind("v1", "secrets"),
    "ConfigMap": Kind("v1", "configmaps", watched=True),
    "Service": Kind("v1", "services", watched=True),
    "Deployment": Kind("apps/v1", "deployments", watched=True),
    "Ingress": Kind("networking.k8s.io/v1", "ingresses", watched=True),
    "NetworkPolicy": Kind("networking.k8s.io/v1", "networkpolicies", watched=True),
    "HorizontalPodAutoscaler": Kind("autoscaling/v2", "horizontalpodautoscalers", watched=True),
    "PodDisruptionBudget": Kind("policy/v1", "poddisruptionbudgets", watched=True),
    "Lease": Kind("coordination.k8s.io/v1", "leases"),
    "ScaledObject": Kind("keda.sh/v1alpha1", "scaledobjects"),  # only where KEDA is installed
    c.TENANT_KIND: Kind(c.API_VERSION, c.TENANT_PLURAL),
    c.WORKFLOW_KIND: Kind(c.API_VERSION, c.WORKFLOW_PLURAL),
}
