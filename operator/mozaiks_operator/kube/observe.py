"""Read children's live state into the plain values status.py works with."""

from __future__ import annotations

from mozaiks_operator.kube.client import Obj
from mozaiks_operator.status import RuntimeState


def runtime_state(deployment: Obj | None) -> RuntimeState:
    if deployment is None:
        return RuntimeState(exists=False)
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    return RuntimeState(
        exists=True,
        generation=int(deployment["metadata"].get("generation", 0)),
        observed_generation=int(status.get("observedGeneration", 0)),
        replicas=int(spec.get("replicas", 1)),
        updated=int(status.get("updatedReplicas", 0)),
        ready=int(status.get("readyReplicas", 0)),
        available=int(status.get("availableReplicas", 0)),
    )
