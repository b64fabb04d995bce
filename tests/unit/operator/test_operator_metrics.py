"""The operator's metrics: own registry, Tenants counted by condition, database timings."""

from __future__ import annotations

import pytest

from mozaiks_operator.metrics import OperatorMetrics

pytestmark = pytest.mark.unit


def _conds(ready: str, degraded: str) -> list[dict[str, str]]:
    return [{"type": "Ready", "status": ready}, {"type": "Degraded", "status": degraded}]


def test_tenants_are_counted_by_their_last_conditions() -> None:
    m = OperatorMetrics()
    m.tenant_conditions("a", "t1", _conds("True", "False"))
    m.tenant_conditions("a", "t2", _conds("False", "True"))
    m.tenant_conditions("b", "t1", _conds("True", "False"))
    m.tenant_conditions("a", "t2", _conds("True", "False"))  # t2 recovered: counted once
    value = m.registry.get_sample_value
    assert value("mozaiks_operator_tenants", {"condition": "Ready", "status": "True"}) == 3
    assert value("mozaiks_operator_tenants", {"condition": "Degraded", "status": "True"}) is None
    m.forget_tenant("a", "t1")
    assert value("mozaiks_operator_tenants", {"condition": "Ready", "status": "True"}) == 2


def test_reconcile_passes_and_errors_by_kind() -> None:
    m = OperatorMetrics()
    m.reconciled("Tenant", 0.02)
    m.reconciled("Tenant", 0.5, "SecretMissing")
    value = m.registry.get_sample_value
    assert value("mozaiks_operator_reconcile_passes_total", {"kind": "Tenant", "result": "ok"}) == 1
    labels = {"kind": "Tenant", "reason": "SecretMissing"}
    assert value("mozaiks_operator_reconcile_errors_total", labels) == 1
    count = value("mozaiks_operator_reconcile_duration_seconds_count", {"kind": "Tenant"})
    assert count == 2


def test_database_operations_count_failures_too() -> None:
    m = OperatorMetrics()
    with m.database_operation("ensure"):
        pass
    with pytest.raises(RuntimeError), m.database_operation("ensure"):
        raise RuntimeError("unreachable")
    value = m.registry.get_sample_value
    ops = "mozaiks_operator_database_operations_total"
    assert value(ops, {"operation": "ensure", "result": "ok"}) == 1
    assert value(ops, {"operation": "ensure", "result": "error"}) == 1
