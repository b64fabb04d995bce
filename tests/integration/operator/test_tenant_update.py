"""Update a Tenant: children follow; settings changes roll the pods, workflow changes do not;
children the Tenant no longer wants are pruned."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.integration.operator.conftest import (
    DEFINITION,
    Operators,
    jwt_secret,
    tenant,
    wait_applied,
    workflow,
)
from tests.integration.operator.kapi import Api, wait_for

pytestmark = pytest.mark.integration
HASH = "mozaiks.ai/config-hash"


def _hash(api: Api, ns: str) -> str:
    dep = api.get("Deployment", ns, "acme-runtime") or {}
    return str(dep["spec"]["template"]["metadata"]["annotations"][HASH])


def _observed(api: Api, ns: str, generation: int) -> bool:
    status = (api.get("Tenant", ns, "acme") or {}).get("status") or {}
    return status.get("observedGeneration") == generation


def test_update_follows_spec_and_rolls_only_on_settings(
    api: Api, operators: Operators, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns, ingress={"host": "acme.example"}))
    api.create(workflow(ns))
    operators.start(ns)
    wait_applied(api, ns)
    before = _hash(api, ns)

    # A workflow change reaches the ConfigMap but leaves the pod template alone.
    changed = {**DEFINITION, "description": "now with a description"}
    api.patch("Workflow", ns, "greeter", {"spec": {"definition": changed}})

    def described() -> bool:
        cm = api.get("ConfigMap", ns, "acme-workflows") or {}
        data = json.loads((cm.get("data") or {}).get("greeter.json", "{}"))
        return data.get("description") == "now with a description"

    wait_for(described, what="workflow change in the ConfigMap")
    assert _hash(api, ns) == before

    # A settings change rolls the pods: new hash, new settings Secret, observedGeneration 2.
    api.patch(
        "Tenant",
        ns,
        "acme",
        {"spec": {"quotas": {"userDailyTokens": 1234}, "runtime": {"replicas": 2}}},
    )
    wait_for(lambda: _observed(api, ns, 2), what="observedGeneration 2")
    assert _hash(api, ns) != before
    secret = api.get("Secret", ns, "acme-runtime-settings") or {}
    value = base64.b64decode(secret["data"]["MOZAIKS_BUDGET_USER_DAILY_TOKENS"]).decode()
    assert value == "1234"
    assert (api.get("Deployment", ns, "acme-runtime") or {})["spec"]["replicas"] == 2
    wait_applied(api, ns)

    # Autoscaling on: an HPA appears and owns replicas; ingress off: the Ingress is pruned.
    patch: dict[str, Any] = {
        "spec": {
            "ingress": None,
            "runtime": {"autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 4}},
        }
    }
    api.patch("Tenant", ns, "acme", patch)
    wait_for(lambda: _observed(api, ns, 3), what="observedGeneration 3")
    assert api.get("Ingress", ns, "acme-runtime") is None
    hpa = api.get("HorizontalPodAutoscaler", ns, "acme-runtime")
    assert hpa is not None and hpa["spec"]["maxReplicas"] == 4
    status = (api.get("Tenant", ns, "acme") or {})["status"]
    assert "public" not in status["endpoints"]

    # ... and off again: the HPA goes.
    api.patch("Tenant", ns, "acme", {"spec": {"runtime": {"autoscaling": {"enabled": False}}}})
    wait_for(
        lambda: api.get("HorizontalPodAutoscaler", ns, "acme-runtime") is None, what="HPA pruned"
    )
