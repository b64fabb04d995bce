"""Tenant spec.webhook against a real kube-apiserver: a non-http(s) URL is refused at admission;
one the schema lets through but the runtime would refuse is a Degraded InvalidWebhook; a good
one reaches the runtime Deployment as MOZAIKS_WEBHOOK_URL and MOZAIKS_WEBHOOK_SECRET."""

from __future__ import annotations

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
HOOK_REF = {"name": "hooks", "key": "signing-key"}


def test_admission_refuses_a_webhook_that_is_not_http(
    api: Api, k8s_namespace: str, operator_rbac: str
) -> None:
    ns = k8s_namespace
    for bad in ("ftp://backend.example/h", "https:///no-host", "backend.example"):
        with pytest.raises(ApiError) as info:
            api.create(tenant(ns, webhook={"url": bad, "secretRef": HOOK_REF}))
        assert info.value.status == 422
        assert "webhook.url must be an http(s) URL with a host" in info.value.message
    with pytest.raises(ApiError) as info:
        api.create(tenant(ns, webhook={"url": "https://backend.example/h"}))
    assert info.value.status == 422 and "secretRef" in info.value.message


def test_bad_webhook_url_is_degraded_then_fixed(
    api: Api, operators: Operators, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hooks", "namespace": ns},
            "stringData": {"signing-key": "whsec-test"},
        }
    )
    api.create(
        tenant(ns, webhook={"url": "https://backend.example:99999/h", "secretRef": HOOK_REF})
    )
    operators.start(ns)
    cond = wait_condition(api, "Tenant", ns, "acme", "Degraded", "InvalidWebhook")
    assert cond["status"] == "True" and "spec.webhook.url" in cond["message"]
    assert api.get("Deployment", ns, "acme-runtime") is None

    api.patch("Tenant", ns, "acme", {"spec": {"webhook": {"url": "https://backend.example/h"}}})
    wait_applied(api, ns)
    dep = api.get("Deployment", ns, "acme-runtime") or {}
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MOZAIKS_WEBHOOK_SECRET"]["valueFrom"]["secretKeyRef"] == HOOK_REF
    assert env["MOZAIKS_WEBHOOK_URL"]["valueFrom"]["secretKeyRef"]["key"] == "MOZAIKS_WEBHOOK_URL"
    assert (api.condition("Tenant", ns, "acme", "Degraded") or {})["status"] == "False"
