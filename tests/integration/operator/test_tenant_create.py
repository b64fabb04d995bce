"""Create a Tenant: every child exists, owned by the Tenant, wired to what the runtime reads;
the database user exists with working credentials; Ready once the Deployment is available."""

from __future__ import annotations

import base64
import json

import pytest
from pymongo import MongoClient

from mozaiks_runtime.config import Settings as RuntimeSettings
from tests.harness.mongo import FerretDBAuth
from tests.integration.operator.conftest import (
    Operators,
    jwt_secret,
    tenant,
    wait_ready,
    workflow,
)
from tests.integration.operator.kapi import CHILD_KINDS, Api, wait_for

pytestmark = pytest.mark.integration


def _secret_data(api: Api, ns: str, name: str) -> dict[str, str]:
    secret = api.get("Secret", ns, name)
    assert secret is not None, name
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_create_tenant_children_wired_and_ready(
    api: Api, operators: Operators, k8s_namespace: str, ferretdb_auth: FerretDBAuth
) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    t = api.create(tenant(ns, ingress={"host": "acme.example"}))
    api.create(workflow(ns))
    operators.start(ns)
    wait_ready(api, ns)

    uid = t["metadata"]["uid"]
    names = {"Secret": ["acme-runtime-settings", "acme-database"], "ConfigMap": ["acme-workflows"]}
    for kind in CHILD_KINDS:
        for name in names.get(kind, ["acme-runtime"]):
            obj = api.get(kind, ns, name)
            assert obj is not None, f"{kind} {name} missing"
            (ref,) = obj["metadata"]["ownerReferences"]
            assert (ref["kind"], ref["uid"], ref["controller"]) == ("Tenant", uid, True)
            assert obj["metadata"]["labels"]["mozaiks.ai/tenant"] == "acme"

    # The Deployment's env: only names the runtime's Settings read, each from an existing key.
    dep = api.get("Deployment", ns, "acme-runtime")
    assert dep is not None
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    fields = {f"MOZAIKS_{n.upper()}" for n in RuntimeSettings.model_fields}
    env = {e["name"]: e for e in container["env"]}
    assert set(env) <= fields
    for var in env.values():
        if "valueFrom" in var:
            ref = var["valueFrom"]["secretKeyRef"]
            assert ref["key"] in _secret_data(api, ns, ref["name"]), var
    settings = _secret_data(api, ns, "acme-runtime-settings")
    app_id = t["spec"]["appId"]
    assert settings["MOZAIKS_APP_ID"] == app_id
    assert env["MOZAIKS_JWT_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "jwt",
        "key": "secret",
    }
    # ... and the workflows volume is the ConfigMap holding the valid workflow.
    mount = next(m for m in container["volumeMounts"] if m["name"] == "workflows")
    assert mount["readOnly"] is True
    assert env["MOZAIKS_WORKFLOWS_DIR"]["value"] == mount["mountPath"]
    cm = api.get("ConfigMap", ns, "acme-workflows")
    assert cm is not None and json.loads(cm["data"]["greeter.json"])["name"] == "greeter"

    # The database user exists and its credentials work.
    db = _secret_data(api, ns, "acme-database")
    assert (
        db["database"]
        == settings["MOZAIKS_MONGO_DATABASE"]
        == f"mozaiks_{app_id.replace('-', '_')}"
    )
    with MongoClient(ferretdb_auth.admin_uri, serverSelectionTimeoutMS=5000) as admin:
        users = admin[db["database"]].command("usersInfo", db["username"])["users"]
        assert [u["user"] for u in users] == [db["username"]]
    with MongoClient(
        ferretdb_auth.uri_for(db["username"], db["password"], db["database"]),
        serverSelectionTimeoutMS=5000,
    ) as client:
        client[db["database"]]["probe"].insert_one({"ok": 1})
    assert f"/{db['database']}?" in db["uri"] and db["password"] in db["uri"]

    status = (api.get("Tenant", ns, "acme") or {})["status"]
    assert status["observedGeneration"] == 1
    assert status["workflows"] == 1 and status["database"] == db["database"]
    assert status["endpoints"] == {
        "service": f"http://acme-runtime.{ns}.svc:80",
        "public": "http://acme.example",
    }
    reasons = wait_for(
        lambda: {e["reason"] for e in api.events(ns, "acme")} >= {"Reconciled", "RuntimeAvailable"},
        what="events",
    )
    assert reasons
    # A Workflow reports that it is valid and served.
    wf = api.get("Workflow", ns, "greeter") or {}
    conds = {c["type"]: c for c in wf["status"]["conditions"]}
    assert conds["Valid"]["status"] == conds["Served"]["status"] == "True"
