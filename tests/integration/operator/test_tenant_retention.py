"""Tenant spec.retention against a real kube-apiserver: malformed durations are refused at
admission; a good one reaches the runtime Deployment as MOZAIKS_RETENTION_CHATS_DAYS."""

from __future__ import annotations

import base64

import pytest

from tests.integration.operator.conftest import Operators, jwt_secret, tenant, wait_applied
from tests.integration.operator.kapi import Api, ApiError

pytestmark = pytest.mark.integration


def test_admission_refuses_a_bad_retention(
    api: Api, k8s_namespace: str, operator_rbac: str
) -> None:
    for bad in ("90", "0d", "90 days", "12345d", 90):
        with pytest.raises(ApiError) as info:
            api.create(tenant(k8s_namespace, retention={"chats": bad}))
        assert info.value.status == 422 and "retention.chats" in info.value.message


def test_retention_reaches_the_runtime(api: Api, operators: Operators, k8s_namespace: str) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns, retention={"chats": "30d"}))
    operators.start(ns)
    wait_applied(api, ns)
    dep = api.get("Deployment", ns, "acme-runtime") or {}
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    ref = env["MOZAIKS_RETENTION_CHATS_DAYS"]["valueFrom"]["secretKeyRef"]
    secret = api.get("Secret", ns, ref["name"]) or {}
    assert base64.b64decode(secret["data"][ref["key"]]).decode() == "30"
