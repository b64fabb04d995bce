"""Conditions from outcomes: Ready/Progressing/Degraded, transition times, events-worthy flips."""

from __future__ import annotations

from typing import Any

import pytest

from mozaiks_operator import constants as c
from mozaiks_operator.errors import Blocked, InvalidSpec, OperatorError
from mozaiks_operator.status import (
    TENANT_NOTICES,
    WORKFLOW_NOTICES,
    Outcome,
    RuntimeState,
    WorkflowOutcome,
    condition_events,
    tenant_status,
    transitions,
    workflow_status,
)

pytestmark = pytest.mark.unit
T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"
UP = RuntimeState(
    True, generation=2, observed_generation=2, replicas=2, updated=2, ready=2, available=2
)
ROLLING = RuntimeState(
    True, generation=2, observed_generation=2, replicas=2, updated=1, ready=1, available=1
)


def _conds(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {x["type"]: x for x in status["conditions"]}


def test_rolling_out_then_ready() -> None:
    s1 = tenant_status(Outcome(4, ROLLING, workflows=2, database="db"), {}, now=T0)
    conds = _conds(s1)
    assert conds["Ready"]["status"] == "False" and conds["Ready"]["reason"] == c.REASON_ROLLING_OUT
    assert conds["Progressing"]["status"] == "True"
    assert conds["Degraded"]["status"] == "False"
    assert all(x["observedGeneration"] == 4 for x in conds.values())
    assert s1["observedGeneration"] == 4 and s1["workflows"] == 2 and s1["database"] == "db"
    s2 = tenant_status(Outcome(4, UP), s1, now=T1)
    conds2 = _conds(s2)
    assert conds2["Ready"]["status"] == "True" and conds2["Ready"]["lastTransitionTime"] == T1
    assert conds2["Degraded"]["lastTransitionTime"] == T0  # did not flip
    assert s2["readyReplicas"] == 2 and s2["workflows"] == 2  # kept
    assert [x["type"] for x in transitions(s1, s2)] == ["Ready", "Progressing"]
    assert transitions(s2, tenant_status(Outcome(4, UP), s2, now=T1)) == []


def test_error_is_degraded_and_keeps_observed_generation() -> None:
    ok = tenant_status(Outcome(1, UP), {}, now=T0)
    err = Blocked(c.REASON_SECRET_MISSING, "spec.llm.apiKeySecretRef: Secret x does not exist")
    bad = tenant_status(Outcome(2, UP, error=err), ok, now=T1)
    conds = _conds(bad)
    assert conds["Degraded"]["status"] == "True"
    assert conds["Degraded"]["reason"] == c.REASON_SECRET_MISSING
    assert conds["Degraded"]["message"] == err.message
    assert conds["Ready"]["status"] == "True"  # the old runtime still serves
    assert conds["Progressing"]["reason"] == c.REASON_SECRET_MISSING
    assert bad["observedGeneration"] == 1  # generation 2 was not acted on
    assert [x["type"] for x in transitions(ok, bad)] == ["Progressing", "Degraded"]


def test_warning_degrades_but_counts_as_acted_on() -> None:
    warn = OperatorError(c.REASON_WORKFLOWS_TOO_LARGE, "too big")
    status = tenant_status(Outcome(3, UP, warnings=(warn,)), {}, now=T0)
    assert _conds(status)["Degraded"]["reason"] == c.REASON_WORKFLOWS_TOO_LARGE
    assert status["observedGeneration"] == 3


def test_paused_only_says_so() -> None:
    ok = tenant_status(Outcome(1, UP), {}, now=T0)
    paused = tenant_status(Outcome(2, RuntimeState(False), paused=True), ok, now=T1)
    conds = _conds(paused)
    assert conds["Progressing"]["reason"] == c.REASON_PAUSED
    assert conds["Ready"] == _conds(ok)["Ready"]
    assert paused["observedGeneration"] == 1


def test_no_deployment_yet() -> None:
    err = InvalidSpec(c.REASON_DUPLICATE_APP_ID, "taken")
    status = tenant_status(Outcome(1, RuntimeState(False), error=err), {}, now=T0)
    assert _conds(status)["Ready"]["message"] == "the runtime Deployment does not exist yet"
    assert "observedGeneration" not in status and "replicas" not in status


def _wf(**kw: Any) -> WorkflowOutcome:
    base: dict[str, Any] = dict(
        generation=2,
        errors=(),
        tenants=("acme",),
        wanted="Tenant 'acme'",
        served={"name": "g", "definition": "{}", "generation": 2},
    )
    base.update(kw)
    return WorkflowOutcome(**base)


def test_workflow_valid_and_served() -> None:
    s = workflow_status(_wf(), {}, now=T0)
    conds = _conds(s)
    assert conds["Valid"]["status"] == "True" and conds["Served"]["status"] == "True"
    assert "acme" in conds["Served"]["message"]
    assert s["lastValid"]["generation"] == 2 and s["tenants"] == ["acme"]


def test_workflow_invalid_update_keeps_last_valid_and_says_so() -> None:
    last = {"name": "g", "definition": "{}", "generation": 1}
    s = workflow_status(_wf(errors=("wf: $.agents: too short",), served=last), {}, now=T0)
    conds = _conds(s)
    assert conds["Valid"]["status"] == "False"
    assert conds["Valid"]["message"] == "wf: $.agents: too short; still serving generation 1"
    assert conds["Served"]["status"] == "True"
    assert "generation 1 (the last valid version)" in conds["Served"]["message"]
    assert s["errors"] == ["wf: $.agents: too short"]


def test_workflow_never_valid_and_tenant_missing() -> None:
    s = workflow_status(_wf(errors=("bad",), served=None), {}, now=T0)
    assert _conds(s)["Served"]["reason"] == c.REASON_SCHEMA_INVALID
    s = workflow_status(_wf(tenants=()), {}, now=T0)
    served = _conds(s)["Served"]
    assert served["reason"] == c.REASON_TENANT_NOT_FOUND
    assert served["message"] == "Tenant 'acme' not found in this namespace"
    s = workflow_status(_wf(duplicate_of="other"), {}, now=T0)
    assert _conds(s)["Served"]["reason"] == c.REASON_DUPLICATE_WORKFLOW


def test_tenant_events_say_degraded_flips_and_becoming_ready() -> None:
    rolling = tenant_status(Outcome(1, ROLLING), {}, now=T0)
    # First status: Degraded=False is news (Normal), Ready=False while rolling out is not.
    assert condition_events({}, rolling, TENANT_NOTICES) == [
        ("Normal", c.REASON_RECONCILED, "all children applied")
    ]
    up = tenant_status(Outcome(1, UP), rolling, now=T1)
    assert condition_events(rolling, up, TENANT_NOTICES) == [
        ("Normal", c.REASON_AVAILABLE, "2/2 replicas available, 2 up to date")
    ]
    err = Blocked(c.REASON_SECRET_MISSING, "Secret x does not exist")
    bad = tenant_status(Outcome(2, UP, error=err), up, now=T1)
    assert condition_events(up, bad, TENANT_NOTICES) == [
        ("Warning", c.REASON_SECRET_MISSING, "Secret x does not exist")
    ]
    # Same status and reason with another message (the replica count moved): no Event.
    fewer = RuntimeState(
        True, generation=2, observed_generation=2, replicas=3, updated=3, ready=3, available=3
    )
    assert condition_events(up, tenant_status(Outcome(1, fewer), up, now=T1), TENANT_NOTICES) == []


def test_workflow_events_include_new_messages() -> None:
    served = workflow_status(_wf(), {}, now=T0)
    assert [e[0] for e in condition_events({}, served, WORKFLOW_NOTICES)] == ["Normal", "Normal"]
    assert condition_events(served, served, WORKFLOW_NOTICES) == []
    more = workflow_status(_wf(tenants=("acme", "beta")), served, now=T1)
    assert condition_events(served, more, WORKFLOW_NOTICES) == [
        ("Normal", c.REASON_SERVED, "generation 2 served by Tenant(s) acme, beta")
    ]
    invalid = workflow_status(_wf(errors=("bad",)), more, now=T1)
    events = condition_events(more, invalid, WORKFLOW_NOTICES)
    assert events[0] == ("Warning", c.REASON_SCHEMA_INVALID, "bad; still serving generation 2")
    missing = workflow_status(_wf(tenants=()), served, now=T1)
    assert condition_events(served, missing, WORKFLOW_NOTICES) == [
        ("Warning", c.REASON_TENANT_NOT_FOUND, "Tenant 'acme' not found in this namespace")
    ]


def test_workflow_waiting_for_tenant() -> None:
    assert _wf(tenants=()).waiting_for_tenant
    assert not _wf().waiting_for_tenant
    assert not _wf(tenants=(), served=None).waiting_for_tenant
    assert not _wf(tenants=(), duplicate_of="other").waiting_for_tenant


def test_merge_patch_removes_keys() -> None:
    from mozaiks_operator.kube.status import merge_patch

    before = {"a": 1, "e": {"service": "s", "public": "p"}, "c": [1]}
    after = {"a": 1, "e": {"service": "s"}, "c": [2], "n": 3}
    assert merge_patch(before, after) == {"e": {"public": None}, "c": [2], "n": 3}
    assert merge_patch(after, after) == {}
