"""Bad Tenants: rejected at admission (app id format, app id change) or reported with a
Degraded condition and a Warning Event (missing Secret, duplicate app id, unreachable
database), and nothing else is disturbed."""

from __future__ import annotations

import pytest
from pymongo import MongoClient

from tests.harness.kube import KubeCluster
from tests.harness.mongo import FerretDBAuth
from tests.integration.operator.conftest import (
    Operators,
    jwt_secret,
    tenant,
    wait_applied,
    wait_condition,
)
from tests.integration.operator.kapi import Api, ApiError, wait_for

pytestmark = pytest.mark.integration


def _warned(api: Api, ns: str, name: str, reason: str) -> bool:
    return any(e["reason"] == reason and e["type"] == "Warning" for e in api.events(ns, name))


def test_admission_rejects_bad_and_changed_app_ids(
    api: Api, k8s_namespace: str, operator_rbac: str
) -> None:
    ns = k8s_namespace
    for bad in ("Upper", "under_score", "-dash", "x" * 51):
        with pytest.raises(ApiError) as info:
            api.create(tenant(ns, "bad", app_id=bad))
        assert info.value.status == 422
        assert "appId" in info.value.message
    with pytest.raises(ApiError) as info:
        api.create({**tenant(ns, "b" * 41)})
    assert "at most 40 characters" in info.value.message
    api.create(tenant(ns, app_id=f"fixed-{ns[-6:]}"))
    with pytest.raises(ApiError) as info:
        api.patch("Tenant", ns, "acme", {"spec": {"appId": "another"}})
    assert info.value.status == 422 and "appId is immutable" in info.value.message
    with pytest.raises(ApiError) as info:
        api.create({**tenant(ns, "nokey"), "spec": {"appId": "nokey", "auth": {}}})
    assert "auth needs a key source" in info.value.message


def test_missing_llm_secret_then_provided(
    api: Api, operators: Operators, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(
        tenant(
            ns,
            llm={
                "baseUrl": "https://llm.example/v1",
                "apiKeySecretRef": {"name": "llm", "key": "api-key"},
            },
        )
    )
    api.create(tenant(ns, "other"))  # a healthy neighbour
    operators.start(ns)
    cond = wait_condition(api, "Tenant", ns, "acme", "Degraded", "SecretMissing")
    assert cond["status"] == "True"
    assert cond["message"] == f"spec.llm.apiKeySecretRef: Secret {ns}/llm does not exist"
    wait_for(lambda: _warned(api, ns, "acme", "SecretMissing"), what="Warning event")
    assert api.get("Deployment", ns, "acme-runtime") is None  # nothing rolled out half-wired
    wait_applied(api, ns, "other")

    api.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "llm", "namespace": ns},
            "stringData": {"api-key": "sk-test"},
        }
    )
    wait_applied(api, ns)  # the drift timer finds the Secret
    dep = api.get("Deployment", ns, "acme-runtime") or {}
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MOZAIKS_LLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "llm",
        "key": "api-key",
    }
    assert (api.condition("Tenant", ns, "acme", "Degraded") or {})["status"] == "False"


def test_duplicate_app_id_in_another_namespace(
    api: Api,
    operators: Operators,
    k8s_namespace: str,
    kube_cluster: KubeCluster,
    ferretdb_auth: FerretDBAuth,
) -> None:
    first = k8s_namespace
    second = f"{first[:50]}-dup"
    kube_cluster.create_namespace(second)
    try:
        for ns in (first, second):
            api.create(jwt_secret(ns))
        app_id = f"dup-{first[-6:]}"
        api.create(tenant(first, app_id=app_id))
        operators.start(first, second)
        wait_applied(api, first)
        api.create(tenant(second, app_id=app_id, deletionPolicy="Delete"))
        cond = wait_condition(api, "Tenant", second, "acme", "Degraded", "DuplicateAppId")
        assert cond["message"].startswith(
            f"appId '{app_id}' already belongs to Tenant {first}/acme"
        )
        wait_for(lambda: _warned(api, second, "acme", "DuplicateAppId"), what="Warning event")
        assert api.get("Deployment", second, "acme-runtime") is None
        assert (api.condition("Tenant", first, "acme", "Degraded") or {})["status"] == "False"
        # Deleting the duplicate (deletionPolicy Delete) never drops the first one's database.
        api.delete("Tenant", second, "acme")
        wait_for(lambda: api.get("Tenant", second, "acme") is None, what="duplicate deleted")
        database = f"mozaiks_{app_id.replace('-', '_')}"
        with MongoClient(ferretdb_auth.admin_uri, serverSelectionTimeoutMS=5000) as admin:
            assert database in admin.list_database_names()
            assert admin[database].command("usersInfo", database)["users"]
    finally:
        kube_cluster.delete_namespace(second)


def test_unreachable_database(api: Api, operators: Operators, k8s_namespace: str) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns))
    # A tenant that brings its own database is not affected by the admin connection.
    api.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": ns},
            "stringData": {"uri": "mongodb://u:p@db.example:27017/own"},
        }
    )
    api.create(tenant(ns, "own", database={"uriSecretRef": {"name": "db", "key": "uri"}}))
    operators.start(
        ns,
        MOZAIKS_OPERATOR_ADMIN_MONGO_URI="mongodb://127.0.0.1:9/",
        MOZAIKS_OPERATOR_MONGO_TIMEOUT_SECONDS="1",
    )
    cond = wait_condition(api, "Tenant", ns, "acme", "Degraded", "DatabaseUnreachable")
    assert "cannot create database" in cond["message"]
    wait_for(lambda: _warned(api, ns, "acme", "DatabaseUnreachable"), what="Warning event")
    assert api.get("Deployment", ns, "acme-runtime") is None
    wait_applied(api, ns, "own")
    assert api.get("Secret", ns, "own-database") is None
    pol = api.get("NetworkPolicy", ns, "own-runtime") or {}
    ports = {p["port"] for rule in pol["spec"]["egress"] for p in rule["ports"]}
    assert 27017 in ports


def test_foreign_object_is_never_taken_over(
    api: Api, operators: Operators, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    foreign = api.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "acme-workflows", "namespace": ns},
            "data": {"mine.txt": "not yours"},
        }
    )
    api.create(tenant(ns))
    operators.start(ns)
    cond = wait_condition(api, "Tenant", ns, "acme", "Degraded", "ChildConflict")
    assert cond["message"].startswith(f"ConfigMap {ns}/acme-workflows exists and is not owned")
    wait_for(lambda: _warned(api, ns, "acme", "ChildConflict"), what="Warning event")
    live = api.get("ConfigMap", ns, "acme-workflows") or {}
    assert live["data"] == {"mine.txt": "not yours"}
    assert live["metadata"]["resourceVersion"] == foreign["metadata"]["resourceVersion"]
    assert "ownerReferences" not in live["metadata"]
    # Once its owner removes it, the Tenant gets its own.
    api.delete("ConfigMap", ns, "acme-workflows")
    wait_applied(api, ns)
