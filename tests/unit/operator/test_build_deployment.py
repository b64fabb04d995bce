"""The runtime Deployment: env matches the runtime's Settings, volumes, probes, hardening, hash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mozaiks_operator import constants as c
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.deployment import build_runtime_deployment, config_hash, runtime_env
from mozaiks_runtime.config import Settings as RuntimeSettings

pytestmark = pytest.mark.unit
MakeTenant = Callable[..., Tenant]

FULL_SPEC: dict[str, Any] = {
    "llm": {
        "baseUrl": "https://llm.example/v1",
        "model": "gpt-x",
        "apiKeySecretRef": {"name": "llm", "key": "api-key"},
    },
    "auth": {
        "issuer": "https://issuer",
        "audience": "aud",
        "jwksUrl": "https://issuer/jwks",
        "secretRef": {"name": "jwt", "key": "k"},
        "publicKeySecretRef": {"name": "pem", "key": "pub"},
        "allowQueryToken": False,
    },
    "quotas": {
        "tenantMonthlyTokens": 10,
        "userDailyTokens": 5,
        "messagesPerMinute": 7,
        "newChatsPerMinute": 3,
    },
    "ingress": {"host": "acme.example", "tlsSecretName": "tls"},
    "webhook": {
        "url": "https://backend.example/hooks",
        "secretRef": {"name": "hooks", "key": "signing-key"},
    },
}


def _deployment(tenant: Tenant) -> dict[str, Any]:
    return build_runtime_deployment(tenant, image="img:1", config_digest="abc")


def test_every_env_var_is_a_runtime_setting(make_tenant: MakeTenant) -> None:
    env = runtime_env(make_tenant(**FULL_SPEC))
    fields = {f"MOZAIKS_{name.upper()}" for name in RuntimeSettings.model_fields}
    names = [e["name"] for e in env]
    assert set(names) <= fields, set(names) - fields
    assert len(names) == len(set(names))
    # everything the spec says reaches the runtime
    for expected in (
        "MOZAIKS_APP_ID",
        "MOZAIKS_MONGO_URI",
        "MOZAIKS_MONGO_DATABASE",
        "MOZAIKS_WORKFLOWS_DIR",
        "MOZAIKS_JWT_SECRET",
        "MOZAIKS_JWT_PUBLIC_KEY",
        "MOZAIKS_JWT_JWKS_URL",
        "MOZAIKS_JWT_ISSUER",
        "MOZAIKS_JWT_AUDIENCE",
        "MOZAIKS_ALLOW_QUERY_TOKEN",
        "MOZAIKS_LLM_BASE_URL",
        "MOZAIKS_LLM_API_KEY",
        "MOZAIKS_LLM_MODEL",
        "MOZAIKS_BUDGET_TENANT_MONTHLY_TOKENS",
        "MOZAIKS_BUDGET_USER_DAILY_TOKENS",
        "MOZAIKS_RATE_LIMIT_MESSAGES_PER_MINUTE",
        "MOZAIKS_RATE_LIMIT_NEW_CHATS_PER_MINUTE",
        "MOZAIKS_PUBLIC_URL",
        "MOZAIKS_WEBHOOK_URL",
        "MOZAIKS_WEBHOOK_SECRET",
    ):
        assert expected in names


def test_secrets_come_from_secret_refs(make_tenant: MakeTenant) -> None:
    env = {e["name"]: e for e in runtime_env(make_tenant(**FULL_SPEC))}
    assert env["MOZAIKS_LLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "llm",
        "key": "api-key",
    }
    assert env["MOZAIKS_JWT_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "jwt", "key": "k"}
    assert env["MOZAIKS_MONGO_URI"]["valueFrom"]["secretKeyRef"] == {
        "name": "acme-database",
        "key": "uri",
    }
    assert env["MOZAIKS_APP_ID"]["valueFrom"]["secretKeyRef"]["name"] == "acme-runtime-settings"
    assert env["MOZAIKS_WORKFLOWS_DIR"]["value"] == c.WORKFLOWS_MOUNT


def test_own_database_uri_secret_is_used(make_tenant: MakeTenant) -> None:
    tenant = make_tenant(database={"uriSecretRef": {"name": "mine", "key": "uri"}})
    env = {e["name"]: e for e in runtime_env(tenant)}
    assert env["MOZAIKS_MONGO_URI"]["valueFrom"]["secretKeyRef"] == {"name": "mine", "key": "uri"}


def test_pod_is_hardened_and_probed(make_tenant: MakeTenant) -> None:
    dep = _deployment(make_tenant())
    pod = dep["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/ready"
    assert container["ports"][0]["containerPort"] == 8080
    assert container["command"] == ["mozaiks", "runtime", "--host", "0.0.0.0", "--port", "8080"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["workflows"] == {
        "name": "workflows",
        "mountPath": c.WORKFLOWS_MOUNT,
        "readOnly": True,
    }
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["workflows"]["configMap"]["name"] == "acme-workflows"
    assert container["image"] == "img:1"
    assert container["resources"]["limits"]["memory"] == "512Mi"


def test_owner_reference_and_labels(make_tenant: MakeTenant) -> None:
    dep = _deployment(make_tenant())
    meta = dep["metadata"]
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "mozaiks.ai/v1alpha1",
            "kind": "Tenant",
            "name": "acme",
            "uid": "uid-acme",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert meta["labels"]["tier"] == "gold"  # inherited
    assert "kopf.zalando.org/x" not in meta["labels"]  # bookkeeping is not
    assert "mozaiks.ai/last-handled-configuration" not in meta.get("annotations", {})
    assert meta["labels"][c.LABEL_TENANT] == "acme"
    selector = dep["spec"]["selector"]["matchLabels"]
    assert selector.items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    assert "tier" not in dep["spec"]["template"]["metadata"]["labels"]


def test_replicas_left_to_the_hpa_when_autoscaling(make_tenant: MakeTenant) -> None:
    assert _deployment(make_tenant(runtime={"replicas": 2}))["spec"]["replicas"] == 2
    auto = make_tenant(runtime={"autoscaling": {"enabled": True}})
    assert "replicas" not in _deployment(auto)["spec"]


def test_config_hash_follows_settings_not_workflows(make_tenant: MakeTenant) -> None:
    base = config_hash(make_tenant(), database_uri="mongodb://u:p@h/db")
    assert base == config_hash(make_tenant(), database_uri="mongodb://u:p@h/db")
    assert base != config_hash(
        make_tenant(quotas={"userDailyTokens": 9}), database_uri="mongodb://u:p@h/db"
    )
    assert base != config_hash(make_tenant(), database_uri="mongodb://u:other@h/db")
    annotations = build_runtime_deployment(make_tenant(), image="i", config_digest=base)["spec"][
        "template"
    ]["metadata"]["annotations"]
    assert annotations == {c.ANNOTATION_CONFIG_HASH: base}


def test_mcp_env_reaches_the_runtime_from_values_and_secrets(make_tenant: MakeTenant) -> None:
    mcp_env = [
        {"name": "MOZAIKS_MCP_WEATHER_URL", "value": "http://weather.tools:8000/mcp"},
        {"name": "MOZAIKS_MCP_WEATHER_TOKEN", "secretRef": {"name": "weather", "key": "token"}},
    ]
    tenant = make_tenant(mcpEnv=mcp_env)
    env = {e["name"]: e for e in runtime_env(tenant)}
    assert env["MOZAIKS_MCP_WEATHER_URL"]["value"] == "http://weather.tools:8000/mcp"
    assert env["MOZAIKS_MCP_WEATHER_TOKEN"]["valueFrom"] == {
        "secretKeyRef": {"name": "weather", "key": "token"}
    }
    # the Secret must exist before the runtime rolls out, like every other referenced key
    assert tenant.spec.secret_refs()["mcpEnv[1].secretRef"].name == "weather"
    # and changing them rolls the pods (the runtime reads them at start-up)
    assert config_hash(tenant, database_uri=None) != config_hash(make_tenant(), database_uri=None)
    names = [e["name"] for e in runtime_env(tenant)]
    assert len(names) == len(set(names))
