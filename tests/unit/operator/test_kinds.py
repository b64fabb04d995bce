"""The one kinds table: every child the builders make is known, and watched unless a Secret."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mozaiks_operator.kinds import KINDS
from mozaiks_operator.kube.client import resource_path
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.credentials import DatabaseCredentials
from mozaiks_operator.specs.desired import Environment, desired_children
from mozaiks_operator.specs.workflows import Selection

pytestmark = pytest.mark.unit
CREDS = DatabaseCredentials("mozaiks_acme", "mozaiks_acme", "pw", "mongodb://mozaiks_acme:pw@h/x")


def test_every_child_kind_is_in_the_table_and_watched_unless_a_secret(
    make_tenant: Callable[..., Tenant],
) -> None:
    tenant = make_tenant(ingress={"host": "a.example"}, runtime={"autoscaling": {"enabled": True}})
    desired = desired_children(
        tenant, Selection((), {}), Environment("img", "nginx", 27017, None, CREDS)
    )
    built = {o["kind"] for o in desired.children}
    for obj in desired.children:
        assert KINDS[obj["kind"]].api_version == obj["apiVersion"], obj["kind"]
    assert {k for k, kind in KINDS.items() if kind.watched} == built - {"Secret"}


def test_group_version_and_paths() -> None:
    assert (KINDS["Deployment"].group, KINDS["Deployment"].version) == ("apps", "v1")
    assert (KINDS["Service"].group, KINDS["Service"].version) == ("", "v1")
    assert resource_path("Service", "ns", "s") == "/api/v1/namespaces/ns/services/s"
    assert resource_path("Tenant", "ns", "t", "status") == (
        "/apis/mozaiks.ai/v1alpha1/namespaces/ns/tenants/t/status"
    )
    assert resource_path("Lease", None) == "/apis/coordination.k8s.io/v1/leases"
