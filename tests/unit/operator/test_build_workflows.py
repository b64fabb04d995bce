"""Which workflows a tenant serves, the last-valid fallback, duplicates and the 1 MiB limit."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from tests.unit.operator.conftest import VALID_DEFINITION, workflow_body

from mozaiks_operator import constants as c
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.model.workflow import ServedFile, Workflow
from mozaiks_operator.specs.desired import Environment, desired_children
from mozaiks_operator.specs.workflows import (
    build_workflows_configmap,
    configmap_data_bytes,
    fits,
    select_workflows,
)

pytestmark = pytest.mark.unit
MakeTenant = Callable[..., Tenant]


def _wf(name: str = "wf", **kw: object) -> Workflow:
    return Workflow.from_body(workflow_body(name, **kw))  # type: ignore[arg-type]


def test_valid_workflow_is_served_by_its_tenant(make_tenant: MakeTenant) -> None:
    sel = select_workflows(make_tenant(), [_wf(), _wf("other", tenant="someone-else")])
    assert [f.key for f in sel.files] == ["greeter.json"]
    assert json.loads(sel.files[0].json)["name"] == "greeter"
    assert sel.sources == {"greeter": "wf"}


def test_invalid_never_served_without_a_last_valid(make_tenant: MakeTenant) -> None:
    bad = _wf(definition={"name": "broken", "agents": []})
    assert select_workflows(make_tenant(), [bad]).files == ()


def test_invalid_update_keeps_the_last_valid_version(make_tenant: MakeTenant) -> None:
    last = ServedFile("greeter", '{"name": "greeter"}', 1)
    body = workflow_body(definition={"name": "greeter", "agents": "oops"})
    body["status"] = {"lastValid": last.to_status()}
    served, check = Workflow.from_body(body).served()
    assert not check.valid and check.errors
    assert served == last
    sel = select_workflows(make_tenant(), [Workflow.from_body(body)])
    assert sel.files == (last,)


def test_selector_and_namespace(make_tenant: MakeTenant) -> None:
    tenant = make_tenant()
    by_label = _wf(tenant=None, tenantSelector={"matchLabels": {"tier": "gold"}})
    wrong_label = _wf("w2", tenant=None, tenantSelector={"matchLabels": {"tier": "tin"}})
    assert len(select_workflows(tenant, [by_label, wrong_label]).files) == 1
    body = workflow_body()
    body["metadata"]["namespace"] = "elsewhere"
    assert select_workflows(tenant, [Workflow.from_body(body)]).files == ()


def test_deleting_workflows_are_dropped(make_tenant: MakeTenant) -> None:
    body = workflow_body()
    body["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert select_workflows(make_tenant(), [Workflow.from_body(body)]).files == ()


def test_same_definition_name_first_resource_wins(make_tenant: MakeTenant) -> None:
    sel = select_workflows(make_tenant(), [_wf("b"), _wf("a")])
    assert sel.sources == {"greeter": "a"}
    assert sel.duplicates == {"b": "greeter"}


def test_configmap_limit_detected(make_tenant: MakeTenant) -> None:
    tenant = make_tenant()
    big = ServedFile("big", "x" * (c.CONFIGMAP_LIMIT_BYTES - 8), 1)  # "big.json" is 8 bytes
    assert fits(build_workflows_configmap(tenant, [big]))
    bigger = ServedFile("big", "x" * (c.CONFIGMAP_LIMIT_BYTES - 7), 1)
    cm = build_workflows_configmap(tenant, [bigger])
    assert configmap_data_bytes(cm["data"]) == c.CONFIGMAP_LIMIT_BYTES + 1
    assert not fits(cm)
    from mozaiks_operator.specs.workflows import Selection

    desired = desired_children(
        tenant, Selection((bigger,), {}), Environment("i", "n", 27017, None, None)
    )
    assert not desired.workflows_fit
    assert "ConfigMap" not in [o["kind"] for o in desired.children]


def test_definition_json_is_stable() -> None:
    a = _wf(definition=dict(VALID_DEFINITION)).served()[0]
    b = _wf(definition=dict(reversed(list(VALID_DEFINITION.items())))).served()[0]
    assert a is not None and b is not None and a.json == b.json
