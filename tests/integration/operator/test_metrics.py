"""The operator's /metrics, scraped from a real operator process against the real API server:
the series move with what the operator does (a pass, a drift repair, an error), Tenants are
counted by condition, and a standby replica is scraped too (leader 0)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.operator.conftest import (
    Operators,
    jwt_secret,
    tenant,
    wait_applied,
    wait_condition,
)
from tests.integration.operator.kapi import Api, wait_for
from tests.integration.operator.test_operator_process import free_port

pytestmark = pytest.mark.integration


class Scrape:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"

    def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
        try:
            text = httpx.get(self.url, timeout=2).text
        except httpx.HTTPError:
            return None
        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        return (self.samples() or {}).get((name, frozenset(labels.items())), 0.0)


def test_operator_metrics_move_with_reconciles(
    api: Api, operators: Operators, k8s_namespace: str
) -> None:
    ns, port, standby_port = k8s_namespace, free_port(), free_port()
    scrape = Scrape(port)
    leader = operators.start(
        ns, MOZAIKS_OPERATOR_METRICS_PORT=str(port), MOZAIKS_OPERATOR_METRICS_HOST="127.0.0.1"
    )
    wait_for(lambda: scrape.value("mozaiks_operator_leader", identity=leader.identity) == 1)
    assert scrape.value("mozaiks_operator_reconcile_passes_total", kind="Tenant", result="ok") == 0

    api.create(jwt_secret(ns))
    api.create(tenant(ns))
    wait_applied(api, ns)
    passes = "mozaiks_operator_reconcile_passes_total"
    wait_for(lambda: scrape.value(passes, kind="Tenant", result="ok") >= 1, what="a pass")
    assert scrape.value("mozaiks_operator_children_applied_total", kind="Deployment") >= 1
    assert scrape.value("mozaiks_operator_children_applied_total", kind="NetworkPolicy") >= 1
    ops = "mozaiks_operator_database_operations_total"
    assert scrape.value(ops, operation="ensure", result="ok") >= 1
    assert scrape.value("mozaiks_operator_reconcile_duration_seconds_count", kind="Tenant") >= 1
    degraded = "mozaiks_operator_tenants"
    assert scrape.value(degraded, condition="Degraded", status="False") == 1

    # Someone deletes a child: the watch event's pass puts it back and counts the repair.
    api.delete("Service", ns, "acme-runtime")
    wait_for(
        lambda: scrape.value("mozaiks_operator_drift_repaired_total", kind="Service") >= 1,
        what="drift counted",
    )
    assert api.get("Service", ns, "acme-runtime") is not None

    # A Tenant whose Secret is missing: an error pass, counted by reason, and one Degraded.
    api.create(tenant(ns, "broken", auth={"secretRef": {"name": "nope", "key": "k"}}))
    wait_condition(api, "Tenant", ns, "broken", "Degraded", "SecretMissing")
    errors = "mozaiks_operator_reconcile_errors_total"
    wait_for(lambda: scrape.value(errors, kind="Tenant", reason="SecretMissing") >= 1)
    wait_for(lambda: scrape.value(degraded, condition="Degraded", status="True") == 1)
    assert scrape.value(passes, kind="Tenant", result="SecretMissing") >= 1

    # A standby replica serves its metrics while it waits: leader 0.
    standby = operators.start(
        ns,
        MOZAIKS_OPERATOR_METRICS_PORT=str(standby_port),
        MOZAIKS_OPERATOR_METRICS_HOST="127.0.0.1",
    )
    second = Scrape(standby_port)
    wait_for(lambda: second.samples() is not None, what="standby metrics")
    assert second.value("mozaiks_operator_leader", identity=standby.identity) == 0
    assert second.value(passes, kind="Tenant", result="ok") == 0

    # Stopping the leader closes its metrics port (the server is owned by the process's run).
    leader.stop()
    assert scrape.samples() is None
    wait_for(lambda: second.value("mozaiks_operator_leader", identity=standby.identity) == 1)
