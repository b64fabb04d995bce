"""MCP on the operator side: a Workflow whose MCP declaration is bad is Valid=False with the path
and reason (a good one is served as written); a Tenant's mcpEnv is checked at admission and
reaches the runtime as MOZAIKS_MCP_* variables (values and Secret keys), with egress to the
servers' ports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.operator.conftest import (
    Operators,
    jwt_secret,
    tenant,
    wait_applied,
    wait_condition,
    workflow,
)
from tests.integration.operator.kapi import Api, ApiError

pytestmark = pytest.mark.integration

MCP_ENV = [
    {"name": "MOZAIKS_MCP_WEATHER_URL", "value": "http://weather.tools:8000/mcp"},
    {"name": "MOZAIKS_MCP_WEATHER_TOKEN", "secretRef": {"name": "weather", "key": "token"}},
]


def weather(**server: Any) -> dict[str, Any]:
    return {
        "name": "weather",
        "agents": [{"name": "Forecaster", "system_message": "Forecast.", "tools": ["forecast"]}],
        "mcp_servers": [
            {
                "name": "weather",
                "url_env": "MOZAIKS_MCP_WEATHER_URL",
                "auth": {"value_env": "MOZAIKS_MCP_WEATHER_TOKEN", "prefix": "Bearer "},
                "tools": ["forecast"],
                **server,
            }
        ],
    }


def test_admission_checks_mcp_env(api: Api, k8s_namespace: str, operator_rbac: str) -> None:
    ns = k8s_namespace
    bad_entries = [
        ({"name": "MOZAIKS_LLM_API_KEY", "value": "x"}, "mcpEnv[0].name"),
        (
            {"name": "MOZAIKS_MCP_X", "value": "x", "secretRef": {"name": "s", "key": "k"}},
            "exactly one",
        ),
        ({"name": "MOZAIKS_MCP_X"}, "exactly one of value and secretRef"),
    ]
    for entry, expected in bad_entries:
        with pytest.raises(ApiError) as info:
            api.create(tenant(ns, "bad", mcpEnv=[entry]))
        assert info.value.status == 422 and expected in info.value.message, info.value.message


def test_mcp_workflows_and_tenant_env(api: Api, operators: Operators, k8s_namespace: str) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "weather", "namespace": ns},
            "stringData": {"token": "mcp-token"},
        }
    )
    api.create(tenant(ns, mcpEnv=MCP_ENV))
    api.create(workflow(ns, "weather", definition=weather()))
    inline = weather(auth={"value": "sk-inline"})  # a secret written into the workflow
    api.create(workflow(ns, "inline", definition={**inline, "name": "inline"}))
    clash = weather(url="http://weather.tools:8000/mcp")  # url and url_env both
    api.create(workflow(ns, "clash", definition={**clash, "name": "clash"}))
    operators.start(ns)
    wait_applied(api, ns)

    bad = wait_condition(api, "Workflow", ns, "inline", "Valid", "SchemaInvalid")
    assert "$.mcp_servers[0].auth.value: unknown field" in bad["message"]
    bad = wait_condition(api, "Workflow", ns, "clash", "Valid", "SchemaInvalid")
    assert "$.mcp_servers[0]: set exactly one of url and url_env" in bad["message"]
    wait_condition(api, "Workflow", ns, "weather", "Valid", "SchemaValid")

    data = (api.get("ConfigMap", ns, "acme-workflows") or {}).get("data") or {}
    assert set(data) == {"weather.json"}
    assert json.loads(data["weather.json"])["mcp_servers"] == weather()["mcp_servers"]

    deployment = api.get("Deployment", ns, "acme-runtime") or {}
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MOZAIKS_MCP_WEATHER_URL"]["value"] == "http://weather.tools:8000/mcp"
    assert env["MOZAIKS_MCP_WEATHER_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "weather",
        "key": "token",
    }
    policy = api.get("NetworkPolicy", ns, "acme-runtime") or {}
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert 8000 in ports
