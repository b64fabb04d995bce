"""Deleting a Tenant: the finalizer removes the children; Retain keeps the database and its
user, Delete drops both."""

from __future__ import annotations

import base64

import pytest
from pymongo import MongoClient

from tests.harness.mongo import FerretDBAuth
from tests.integration.operator.conftest import Operators, jwt_secret, tenant, wait_applied
from tests.integration.operator.kapi import CHILD_KINDS, Api, wait_for

pytestmark = pytest.mark.integration


def _children(api: Api, ns: str) -> list[str]:
    return [
        f"{kind}/{o['metadata']['name']}"
        for kind in CHILD_KINDS
        for o in api.list(kind, ns, "mozaiks.ai/tenant=acme")
    ]


@pytest.mark.parametrize("policy", ["Retain", "Delete"])
def test_delete_honours_the_deletion_policy(
    policy: str, api: Api, operators: Operators, k8s_namespace: str, ferretdb_auth: FerretDBAuth
) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns, deletionPolicy=policy))
    operators.start(ns)
    wait_applied(api, ns)
    secret = api.get("Secret", ns, "acme-database") or {}
    db, user = (base64.b64decode(secret["data"][k]).decode() for k in ("database", "username"))
    assert (api.get("Tenant", ns, "acme") or {})["metadata"]["finalizers"] == [
        "mozaiks.ai/finalizer"
    ]
    assert len(_children(api, ns)) == 7  # no Ingress (no host), no HPA

    api.delete("Tenant", ns, "acme")
    wait_for(lambda: api.get("Tenant", ns, "acme") is None, what="Tenant gone")
    assert _children(api, ns) == []
    reason = "DatabaseRetained" if policy == "Retain" else "DatabaseDropped"
    assert reason in {e["reason"] for e in api.events(ns, "acme")}

    with MongoClient(ferretdb_auth.admin_uri, serverSelectionTimeoutMS=5000) as admin:
        users = admin[db].command("usersInfo", user)["users"]
        databases = admin.list_database_names()
    if policy == "Retain":
        assert [u["user"] for u in users] == [user] and db in databases
    else:
        assert users == [] and db not in databases
