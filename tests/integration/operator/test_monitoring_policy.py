"""Who may scrape a runtime, on the real API server: the operator's monitoring namespace by
default; a Tenant's own spec.monitoring.namespaceSelector instead (applied as written, the API
server validating the selector); the metrics port alone either way; and the runtime pods'
metrics port and Service port that rule points at."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.operator.conftest import Operators, jwt_secret, tenant, wait_applied
from tests.integration.operator.kapi import Api, wait_for

pytestmark = pytest.mark.integration
SELECTOR = {"matchExpressions": [{"key": "team", "operator": "In", "values": ["observability"]}]}


def _scrape_rules(api: Api, ns: str, name: str) -> list[dict[str, Any]] | None:
    policy = api.get("NetworkPolicy", ns, f"{name}-runtime")
    if policy is None:
        return None
    return [r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] == 9090]


def test_scrapers_are_admitted_to_the_metrics_port_only(
    api: Api, operators: Operators, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns, "byname"))
    api.create(tenant(ns, "byteam", monitoring={"namespaceSelector": SELECTOR}))
    operators.start(ns, MOZAIKS_OPERATOR_MONITORING_NAMESPACE="prometheus")
    wait_applied(api, ns, "byname")
    wait_applied(api, ns, "byteam")

    (default,) = wait_for(lambda: _scrape_rules(api, ns, "byname"), what="policy")
    assert default["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "prometheus"}}}
    ]
    assert default["ports"] == [{"port": 9090, "protocol": "TCP"}]
    (own,) = wait_for(lambda: _scrape_rules(api, ns, "byteam"), what="policy")
    assert own["from"] == [{"namespaceSelector": SELECTOR}]

    # The chats' port is still the ingress controller's alone.
    policy = api.get("NetworkPolicy", ns, "byname-runtime") or {}
    (chat,) = [r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] == 8080]
    assert chat["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"
    }
    service = api.get("Service", ns, "byname-runtime") or {}
    assert {(p["name"], p["port"]) for p in service["spec"]["ports"]} == {
        ("http", 80),
        ("metrics", 9090),
    }

    # Dropping the Tenant's selector falls back to the operator's namespace.
    api.patch("Tenant", ns, "byteam", {"spec": {"monitoring": {"namespaceSelector": None}}})
    wait_for(
        lambda: (_scrape_rules(api, ns, "byteam") or [{}])[0].get("from") == default["from"],
        what="fallback to the default",
    )
