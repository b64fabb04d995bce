"""The chart's RBAC is what the operator needs and no more (checked by the API server itself)."""

from __future__ import annotations

import pytest

from tests.integration.operator.conftest import SA, SYSTEM_NS
from tests.integration.operator.kapi import Api

pytestmark = pytest.mark.integration
USER = f"system:serviceaccount:{SYSTEM_NS}:{SA}"

ALLOWED = [
    ("list", "mozaiks.ai", "tenants", None),
    ("watch", "mozaiks.ai", "workflows", None),
    ("patch", "mozaiks.ai", "tenants", "team"),
    ("patch", "mozaiks.ai", "tenants/status", "team"),
    ("create", "", "events", "team"),
    ("get", "", "secrets", "team"),
    ("create", "", "secrets", "team"),
    ("patch", "apps", "deployments", "team"),
    ("delete", "networking.k8s.io", "ingresses", "team"),
    ("create", "policy", "poddisruptionbudgets", "team"),
    ("update", "coordination.k8s.io", "leases", SYSTEM_NS),
]
DENIED = [
    ("list", "", "secrets", None),
    ("watch", "", "secrets", "team"),  # no reading every Secret
    ("create", "mozaiks.ai", "tenants", "team"),
    ("delete", "mozaiks.ai", "workflows", "team"),
    ("list", "apiextensions.k8s.io", "customresourcedefinitions", None),
    ("list", "", "namespaces", None),
    ("create", "", "pods", "team"),
    ("update", "coordination.k8s.io", "leases", "team"),  # its Lease lives in its namespace only
    ("create", "rbac.authorization.k8s.io", "roles", "team"),
]


def _allowed(api: Api, verb: str, group: str, resource: str, namespace: str | None) -> bool:
    sub, _, subresource = resource.partition("/")
    attrs = {"verb": verb, "group": group, "resource": sub}
    if subresource:
        attrs["subresource"] = subresource
    if namespace:
        attrs["namespace"] = namespace
    review = api.create(
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "metadata": {},
            "spec": {
                "user": USER,
                "groups": ["system:serviceaccounts"],
                "resourceAttributes": attrs,
            },
        }
    )
    return bool(review["status"].get("allowed"))


@pytest.mark.parametrize(("verb", "group", "resource", "namespace"), ALLOWED)
def test_allowed(
    api: Api, operator_rbac: str, verb: str, group: str, resource: str, namespace: str | None
) -> None:
    assert _allowed(api, verb, group, resource, namespace)


@pytest.mark.parametrize(("verb", "group", "resource", "namespace"), DENIED)
def test_denied(
    api: Api, operator_rbac: str, verb: str, group: str, resource: str, namespace: str | None
) -> None:
    assert not _allowed(api, verb, group, resource, namespace)
