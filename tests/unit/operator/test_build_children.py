"""Service, Ingress, HPA, PDB, NetworkPolicy, Secrets, and the full desired set."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.credentials import (
    DatabaseCredentials,
    build_database_secret,
    build_settings_secret,
)
from mozaiks_operator.specs.desired import Environment, desired_children, llm_port
from mozaiks_operator.specs.ingress import build_runtime_ingress
from mozaiks_operator.specs.network import build_runtime_network_policy
from mozaiks_operator.specs.scaling import build_runtime_hpa, build_runtime_pdb
from mozaiks_operator.specs.service import build_runtime_service
from mozaiks_operator.specs.workflows import Selection

pytestmark = pytest.mark.unit
MakeTenant = Callable[..., Tenant]
CREDS = DatabaseCredentials("mozaiks_acme", "mozaiks_acme", "pw", "mongodb://mozaiks_acme:pw@h/x")


def _decode(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_service_targets_the_runtime_pods(make_tenant: MakeTenant) -> None:
    svc = build_runtime_service(make_tenant())
    assert svc["spec"]["selector"] == {
        "app.kubernetes.io/name": "mozaiks-runtime",
        "app.kubernetes.io/instance": "acme",
    }
    assert svc["spec"]["ports"][0]["port"] == 80
    assert svc["spec"]["ports"][0]["targetPort"] == "http"


def test_ingress_is_websocket_ready_and_optional(make_tenant: MakeTenant) -> None:
    assert build_runtime_ingress(make_tenant()) is None
    ing = build_runtime_ingress(
        make_tenant(ingress={"host": "a.example", "className": "nginx", "tlsSecretName": "tls"})
    )
    assert ing is not None
    ann = ing["metadata"]["annotations"]
    assert int(ann["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert ann["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert ann["nginx.ingress.kubernetes.io/proxy-body-size"] == "4m"  # the runtime's limit
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"hosts": ["a.example"], "secretName": "tls"}]
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "acme-runtime", "port": {"name": "http"}}


def test_hpa_only_when_enabled(make_tenant: MakeTenant) -> None:
    assert build_runtime_hpa(make_tenant()) is None
    hpa = build_runtime_hpa(
        make_tenant(
            runtime={
                "autoscaling": {
                    "enabled": True,
                    "minReplicas": 2,
                    "maxReplicas": 5,
                    "targetCPUUtilizationPercentage": 60,
                }
            }
        )
    )
    assert hpa is not None
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert hpa["spec"]["scaleTargetRef"]["name"] == "acme-runtime"


def test_pdb_never_blocks_a_single_replica(make_tenant: MakeTenant) -> None:
    pdb = build_runtime_pdb(make_tenant())
    assert pdb["spec"] == {
        "maxUnavailable": 1,
        "selector": {
            "matchLabels": {
                "app.kubernetes.io/name": "mozaiks-runtime",
                "app.kubernetes.io/instance": "acme",
            }
        },
    }


def test_network_policy_ingress_controller_in_dns_db_llm_out(make_tenant: MakeTenant) -> None:
    pol = build_runtime_network_policy(
        make_tenant(), ingress_namespace="ingress-nginx", database_port=27018, llm_port=443
    )
    spec = pol["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    (rule,) = spec["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]
    ports = [p["port"] for r in spec["egress"] for p in r["ports"]]
    assert sorted(ports) == [53, 53, 443, 27018]
    no_llm = build_runtime_network_policy(
        make_tenant(), ingress_namespace="x", database_port=27017, llm_port=None
    )
    assert len(no_llm["spec"]["egress"]) == 2


def test_network_policy_lets_the_runtime_reach_the_services_named_by_url(
    make_tenant: MakeTenant,
) -> None:
    tenant = make_tenant(
        mcpEnv=[
            {"name": "MOZAIKS_MCP_A_URL", "value": "http://weather.tools:8000/mcp"},
            {"name": "MOZAIKS_MCP_B_URL", "value": "https://search.example/mcp"},
            {"name": "MOZAIKS_MCP_C_URL", "value": "http://other.tools:8000/sse"},
            {"name": "MOZAIKS_MCP_MODE", "value": "fast"},  # not a URL: no port
            {"name": "MOZAIKS_MCP_B_TOKEN", "secretRef": {"name": "s", "key": "k"}},
        ]
    )
    pol = build_runtime_network_policy(
        tenant, ingress_namespace="x", database_port=27017, llm_port=None
    )
    *_, mcp = pol["spec"]["egress"]
    assert mcp == {"ports": [{"port": 443, "protocol": "TCP"}, {"port": 8000, "protocol": "TCP"}]}
    # The webhook receiver and the OTLP collector are reached too.
    tenant = make_tenant(
        webhook={"url": "https://hooks.example:8443/in", "secretRef": {"name": "s", "key": "k"}},
        tracing={"otlpEndpoint": "http://collector.observability:4318"},
    )
    pol = build_runtime_network_policy(
        tenant, ingress_namespace="x", database_port=27017, llm_port=None
    )
    *_, services = pol["spec"]["egress"]
    assert [p["port"] for p in services["ports"]] == [4318, 8443]


def test_llm_port() -> None:
    assert llm_port(None) is None
    assert llm_port("https://api.example/v1") == 443
    assert llm_port("http://fake:8000/v1") == 8000
    assert llm_port("http://fake/v1") == 80


def test_settings_secret_holds_runtime_settings(make_tenant: MakeTenant) -> None:
    data = _decode(
        build_settings_secret(
            make_tenant(
                quotas={"userDailyTokens": 5},
                auth={"jwksUrl": "https://j", "allowQueryToken": False},
            )
        )
    )
    assert data["MOZAIKS_APP_ID"] == "acme"
    assert data["MOZAIKS_MONGO_DATABASE"] == "mozaiks_acme"
    assert data["MOZAIKS_BUDGET_USER_DAILY_TOKENS"] == "5"
    assert data["MOZAIKS_ALLOW_QUERY_TOKEN"] == "false"
    assert "MOZAIKS_BUDGET_TENANT_MONTHLY_TOKENS" not in data  # unset = unlimited


def test_database_secret(make_tenant: MakeTenant) -> None:
    data = _decode(build_database_secret(make_tenant(), CREDS))
    assert data == {
        "database": "mozaiks_acme",
        "username": "mozaiks_acme",
        "password": "pw",
        "uri": "mongodb://mozaiks_acme:pw@h/x",
    }


def _env(creds: DatabaseCredentials | None = CREDS) -> Environment:
    return Environment("img", "ingress-nginx", 27017, None, creds)


def test_desired_children_in_apply_order(make_tenant: MakeTenant) -> None:
    desired = desired_children(make_tenant(), Selection((), {}), _env())
    kinds = [o["kind"] for o in desired.children]
    assert kinds == [
        "Secret",
        "Secret",
        "ConfigMap",
        "Service",
        "Deployment",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ]
    assert sorted(desired.absent_kinds) == ["HorizontalPodAutoscaler", "Ingress"]
    assert desired.workflows_fit
    assert all(o["metadata"]["namespace"] == "team-a" for o in desired.children)


def test_desired_with_own_database_and_everything_on(make_tenant: MakeTenant) -> None:
    tenant = make_tenant(
        ingress={"host": "a.example"},
        runtime={"autoscaling": {"enabled": True}},
        database={"uriSecretRef": {"name": "db", "key": "uri"}},
    )
    desired = desired_children(tenant, Selection((), {}), _env(None))
    kinds = [o["kind"] for o in desired.children]
    assert kinds.count("Secret") == 1  # no database Secret: the Tenant brings its own URI
    assert "Ingress" in kinds and "HorizontalPodAutoscaler" in kinds
    assert desired.absent_kinds == []
