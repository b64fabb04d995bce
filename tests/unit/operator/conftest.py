"""Shared builders for the operator's unit tests: Tenant and Workflow bodies as the API returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mozaiks_operator.model.tenant import Tenant

VALID_DEFINITION: dict[str, Any] = {
    "name": "greeter",
    "agents": [{"name": "Greeter", "system_message": "Greet the user."}],
}


def tenant_body(name: str = "acme", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "mozaiks.ai/v1alpha1",
        "kind": "Tenant",
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "uid": f"uid-{name}",
            "generation": 3,
            "labels": {"tier": "gold", "kopf.zalando.org/x": "no"},
            "annotations": {"note": "hi", "mozaiks.ai/last-handled-configuration": "{}"},
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {"appId": name, "auth": {"secretRef": {"name": "jwt", "key": "k"}}, **spec},
    }


def workflow_body(
    name: str = "wf", *, definition: Any = None, tenant: str | None = "acme", **extra: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {"definition": VALID_DEFINITION if definition is None else definition}
    if tenant is not None:
        spec["tenantRef"] = {"name": tenant}
    spec.update(extra)
    return {
        "metadata": {"name": name, "namespace": "team-a", "generation": 1},
        "spec": spec,
    }


@pytest.fixture
def make_tenant() -> Callable[..., Tenant]:
    def make(name: str = "acme", **spec: Any) -> Tenant:
        return Tenant.from_body(tenant_body(name, **spec))

    return make
