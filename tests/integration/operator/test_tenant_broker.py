"""Tenant spec.broker against a real kube-apiserver: a broker without a key, or with a token
lifetime out of bounds, is refused at admission; a missing key Secret is a Degraded SecretMissing
with nothing rolled out; once it exists, the runtime Deployment gets MOZAIKS_BROKER_JWT_SECRET
from it and the token lifetime from the settings Secret."""

from __future__ import annotations

import base64

import pytest

from tests.integration.operator.conftest import (
    Operators,
    jwt_secret,
    tenant,
    wait_applied,
    wait_condition,
)
from tests.integration.operator.kapi import Api, ApiError

pytestmark = pytest.mark.integration
BROKER_REF = {"name": "broker", "key": "jwt-secret"}


def test_admission_refuses_a_broker_without_a_key_or_with_a_bad_lifetime(
    api: Api, k8s_namespace: str, operator_rbac: str
) -> None:
    ns = k8s_namespace
    with pytest.raises(ApiError) as info:
        api.create(tenant(ns, broker={"tokenTtlSeconds": 600}))
    assert info.value.status == 422 and "secretRef" in info.value.message
    for bad in (5, 100_000):
        with pytest.raises(ApiError) as info:
            api.create(tenant(ns, broker={"secretRef": BROKER_REF, "tokenTtlSeconds": bad}))
        assert info.value.status == 422 and "tokenTtlSeconds" in info.value.message


def test_missing_broker_secret_is_degraded_then_wired(
    api: Api, operators: Operators, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns, broker={"secretRef": BROKER_REF, "tokenTtlSeconds": 300}))
    operators.start(ns)
    cond = wait_condition(api, "Tenant", ns, "acme", "Degraded", "SecretMissing")
    assert cond["message"] == f"spec.broker.secretRef: Secret {ns}/broker does not exist"
    assert api.get("Deployment", ns, "acme-runtime") is None

    api.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "broker", "namespace": ns},
            "stringData": {"jwt-secret": "broker-secret-0123456789abcdef0123456789"},
        }
    )
    wait_applied(api, ns)
    dep = api.get("Deployment", ns, "acme-runtime") or {}
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MOZAIKS_BROKER_JWT_SECRET"]["valueFrom"]["secretKeyRef"] == BROKER_REF
    ttl = env["MOZAIKS_BROKER_TOKEN_TTL_SECONDS"]["valueFrom"]["secretKeyRef"]
    settings = api.get("Secret", ns, ttl["name"]) or {}
    assert base64.b64decode(settings["data"][ttl["key"]]).decode() == "300"
    assert (api.condition("Tenant", ns, "acme", "Degraded") or {})["status"] == "False"
