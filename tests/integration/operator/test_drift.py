"""Drift: children edited or deleted by someone else are restored (child events and the timer);
a paused Tenant is left alone until it is resumed."""

from __future__ import annotations

import base64

import pytest

from tests.integration.operator.conftest import (
    Operators,
    jwt_secret,
    tenant,
    wait_applied,
    workflow,
)
from tests.integration.operator.kapi import Api, wait_for

pytestmark = pytest.mark.integration


def _replicas(api: Api, ns: str) -> int | None:
    dep = api.get("Deployment", ns, "acme-runtime")
    return None if dep is None else int(dep["spec"]["replicas"])


def test_drift_is_repaired(api: Api, operators: Operators, k8s_namespace: str) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns))
    api.create(workflow(ns))
    operators.start(ns)
    wait_applied(api, ns)
    uid = (api.get("Service", ns, "acme-runtime") or {})["metadata"]["uid"]

    # Deleted children come back (Service: watched; Secret: the timer, Secrets are not watched).
    api.delete("Service", ns, "acme-runtime")
    api.delete("Secret", ns, "acme-runtime-settings")
    wait_for(
        lambda: (
            (api.get("Service", ns, "acme-runtime") or {}).get("metadata", {}).get("uid")
            not in (None, uid)
        ),
        what="Service recreated",
    )
    wait_for(lambda: api.get("Secret", ns, "acme-runtime-settings"), what="Secret recreated")

    # Edited fields go back to the desired values.
    api.patch("Deployment", ns, "acme-runtime", {"spec": {"replicas": 5}})
    api.patch("ConfigMap", ns, "acme-workflows", {"data": {"greeter.json": "{}", "x.json": "{}"}})
    wait_for(lambda: _replicas(api, ns) == 1, what="replicas back to 1")

    def workflows_restored() -> bool:
        data = (api.get("ConfigMap", ns, "acme-workflows") or {}).get("data") or {}
        return data.get("greeter.json", "{}") != "{}"

    wait_for(workflows_restored, what="ConfigMap restored")
    # The database Secret keeps its password across repairs (the user's password must match).
    first = (api.get("Secret", ns, "acme-database") or {})["data"]["password"]
    api.patch(
        "Secret",
        ns,
        "acme-database",
        {"data": {"username": base64.b64encode(b"someone-else").decode()}},
    )
    wait_for(
        lambda: (
            (api.get("Secret", ns, "acme-database") or {})["data"]["username"]
            != base64.b64encode(b"someone-else").decode()
        ),
        what="database Secret restored",
    )
    assert (api.get("Secret", ns, "acme-database") or {})["data"]["password"] == first


def test_paused_tenant_is_not_touched(api: Api, operators: Operators, k8s_namespace: str) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns))
    operators.start(ns)
    wait_applied(api, ns)

    api.patch("Tenant", ns, "acme", {"spec": {"paused": True}})

    def paused() -> bool:
        cond = api.condition("Tenant", ns, "acme", "Progressing") or {}
        return cond.get("reason") == "Paused"

    wait_for(paused, what="Progressing=Paused")
    api.patch("Deployment", ns, "acme-runtime", {"spec": {"replicas": 3}})
    api.patch("Tenant", ns, "acme", {"spec": {"runtime": {"replicas": 2}}})
    # Several drift periods (3 s) pass: nothing is repaired or applied while paused.
    with pytest.raises(AssertionError):
        wait_for(lambda: _replicas(api, ns) != 3, timeout=8, what="a change while paused")

    api.patch("Tenant", ns, "acme", {"spec": {"paused": False}})
    wait_for(lambda: _replicas(api, ns) == 2, what="resumed: replicas from the spec")
    wait_applied(api, ns)
