"""More workflows than a ConfigMap holds (1 MiB): reported as Degraded, the previous set kept."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.operator.conftest import (
    Operators,
    jwt_secret,
    tenant,
    wait_applied,
    wait_condition,
    workflow,
)
from tests.integration.operator.kapi import Api, wait_for

pytestmark = pytest.mark.integration


def _big(name: str) -> dict[str, Any]:
    """About 400 KB: four agents with 100,000-character system messages (the schema's limit)."""
    agents = [{"name": f"A{i}", "system_message": "x" * 100_000} for i in range(4)]
    return {"name": name, "agents": agents}


def test_workflows_over_one_mebibyte(api: Api, operators: Operators, k8s_namespace: str) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns))
    api.create(workflow(ns, "big-1", definition=_big("big-1")))
    api.create(workflow(ns, "big-2", definition=_big("big-2")))
    operators.start(ns)
    wait_applied(api, ns)
    keys = set((api.get("ConfigMap", ns, "acme-workflows") or {})["data"])
    assert keys == {"big-1.json", "big-2.json"}

    api.create(workflow(ns, "big-3", definition=_big("big-3")))
    cond = wait_condition(api, "Tenant", ns, "acme", "Degraded", "WorkflowsTooLarge")
    assert cond["status"] == "True" and "1 MiB" in cond["message"]
    wait_for(
        lambda: any(e["reason"] == "WorkflowsTooLarge" for e in api.events(ns, "acme")),
        what="Warning event",
    )
    # The runtime keeps serving the two that fit.
    assert set((api.get("ConfigMap", ns, "acme-workflows") or {})["data"]) == keys
    assert (api.get("Tenant", ns, "acme") or {})["status"]["workflows"] == 2

    api.delete("Workflow", ns, "big-3")
    wait_condition(api, "Tenant", ns, "acme", "Degraded", "Reconciled")
