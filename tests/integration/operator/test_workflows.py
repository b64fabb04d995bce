"""Workflows: add, update, invalid update (the last valid version stays served), delete; a
definition that fails the schema (an unknown double-texting policy too) and a Workflow naming a
Tenant that does not exist."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.operator.conftest import (
    DEFINITION,
    Operators,
    jwt_secret,
    tenant,
    wait_applied,
    wait_condition,
    workflow,
)
from tests.integration.operator.kapi import Api, wait_for

pytestmark = pytest.mark.integration


def _served(api: Api, ns: str) -> dict[str, Any]:
    data = (api.get("ConfigMap", ns, "acme-workflows") or {}).get("data") or {}
    return {k: json.loads(v) for k, v in data.items()}


def test_workflow_add_update_invalid_delete(
    api: Api, operators: Operators, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns))
    api.create(workflow(ns))
    operators.start(ns)
    wait_applied(api, ns)
    assert set(_served(api, ns)) == {"greeter.json"}

    # add
    second = {"name": "helper", "agents": [{"name": "Helper", "system_message": "Help."}]}
    api.create(workflow(ns, "helper", definition=second))
    wait_for(lambda: set(_served(api, ns)) == {"greeter.json", "helper.json"}, what="added")
    wait_for(
        lambda: (api.get("Tenant", ns, "acme") or {})["status"].get("workflows") == 2,
        what="status.workflows == 2",
    )

    # update (valid)
    api.patch("Workflow", ns, "helper", {"spec": {"definition": {**second, "version": "2"}}})
    wait_for(lambda: _served(api, ns).get("helper.json", {}).get("version") == "2", what="v2")

    # invalid update: exact error in the condition, version 2 still served and said so
    broken = {
        **second,
        "version": "3",
        "agents": [
            {"name": "Helper", "system_message": "Help.", "handoffs": {"after_work": "Nobody"}}
        ],
    }
    api.patch("Workflow", ns, "helper", {"spec": {"definition": broken}})
    valid = wait_condition(api, "Workflow", ns, "helper", "Valid", "SchemaInvalid")
    assert "$.agents[0].handoffs.after_work" in valid["message"]
    assert "Nobody" in valid["message"]
    assert valid["message"].endswith("still serving generation 2")
    assert valid["observedGeneration"] == 3
    served = api.condition("Workflow", ns, "helper", "Served") or {}
    assert served["status"] == "True" and "the last valid version" in served["message"]
    status = (api.get("Workflow", ns, "helper") or {})["status"]
    assert status["errors"] and status["lastValid"]["generation"] == 2
    assert _served(api, ns)["helper.json"]["version"] == "2"
    reasons = wait_for(
        lambda: {e["reason"] for e in api.events(ns, "helper")} >= {"SchemaInvalid"},
        what="SchemaInvalid event",
    )
    assert reasons

    # delete: the ConfigMap drops it
    api.delete("Workflow", ns, "helper")
    wait_for(lambda: set(_served(api, ns)) == {"greeter.json"}, what="deleted workflow gone")


def test_workflow_bad_input(api: Api, operators: Operators, k8s_namespace: str) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns))
    api.create(workflow(ns))
    invalid: dict[str, Any] = {"name": "Bad Name", "agents": []}
    api.create(workflow(ns, "never-valid", definition=invalid))
    api.create(
        workflow(ns, "orphan", tenant_name="nobody", definition={**DEFINITION, "name": "orphan"})
    )
    rollback = {**DEFINITION, "name": "bad-policy", "on_new_message": "rollback"}
    api.create(workflow(ns, "bad-policy", definition=rollback))
    # An access rule that tests nothing (neither contains nor equals) is refused.
    vague = {**DEFINITION, "name": "bad-access", "access": {"anyOf": [{"claim": "roles"}]}}
    api.create(workflow(ns, "bad-access", definition=vague))
    operators.start(ns)
    wait_applied(api, ns)

    valid = wait_condition(api, "Workflow", ns, "never-valid", "Valid", "SchemaInvalid")
    assert "$.name" in valid["message"] and "$.agents" in valid["message"]
    served = api.condition("Workflow", ns, "never-valid", "Served") or {}
    assert served["status"] == "False" and served["reason"] == "SchemaInvalid"
    assert "lastValid" not in (api.get("Workflow", ns, "never-valid") or {})["status"]

    policy = wait_condition(api, "Workflow", ns, "bad-policy", "Valid", "SchemaInvalid")
    assert "$.on_new_message" in policy["message"] and "rollback" in policy["message"]
    access = wait_condition(api, "Workflow", ns, "bad-access", "Valid", "SchemaInvalid")
    assert "$.access.anyOf[0]: set exactly one of" in access["message"]

    orphan = wait_condition(api, "Workflow", ns, "orphan", "Served", "TenantNotFound")
    assert orphan["message"] == "Tenant 'nobody' not found in this namespace"
    events = wait_for(
        lambda: {e["reason"] for e in api.events(ns, "orphan")} >= {"TenantNotFound"},
        what="TenantNotFound event",
    )
    assert events
    # Nothing else is disturbed: the tenant serves only its valid workflow and stays Ready.
    assert set(_served(api, ns)) == {"greeter.json"}
    assert (api.condition("Tenant", ns, "acme", "Degraded") or {})["status"] == "False"

    # Once the tenant exists, the orphan is served (it looks again on its own).
    api.create(tenant(ns, "nobody"))
    wait_condition(api, "Workflow", ns, "orphan", "Served", "Served", timeout=90)
    data = (api.get("ConfigMap", ns, "nobody-workflows") or {}).get("data") or {}
    assert set(data) == {"orphan.json"}
