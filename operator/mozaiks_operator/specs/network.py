"""The runtime NetworkPolicy: only the ingress controller reaches the HTTP port and only the
monitoring namespace reaches the metrics port; only DNS, the database, the LLM endpoint and the
services the Tenant names by URL (webhook receiver, OTLP collector, MCP servers) get out.

NetworkPolicy speaks in pods, namespaces and IP blocks, not host names, so egress to the database
and the LLM is limited by port (their addresses may be anywhere, even outside the cluster).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from mozaiks_operator import constants as c
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.meta import child_metadata
from mozaiks_operator.specs.names import runtime_name, selector_labels

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace


def monitoring_selector(tenant: Tenant, default_namespace: str) -> dict[str, Any] | None:
    """The Tenant's own namespace selector, else the operator's monitoring namespace by name;
    None when neither is set (then nothing reaches the metrics port)."""
    own = tenant.spec.monitoring.namespace_selector
    if own is not None:
        return own
    if default_namespace:
        return {"matchLabels": {NAMESPACE_NAME_LABEL: default_namespace}}
    return None


def build_runtime_network_policy(
    tenant: Tenant,
    *,
    ingress_namespace: str,
    database_port: int,
    llm_port: int | None,
    monitoring_namespace: str = "",
) -> dict[str, Any]:
    dns = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    egress: list[dict[str, Any]] = [
        {"ports": dns},
        {"ports": [{"port": database_port, "protocol": "TCP"}]},
    ]
    if llm_port is not None:
        egress.append({"ports": [{"port": llm_port, "protocol": "TCP"}]})
    services = outbound_ports(tenant)
    if services:
        egress.append({"ports": [{"port": port, "protocol": "TCP"} for port in services]})
    ingress: list[dict[str, Any]] = [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: ingress_namespace}}}
            ],
            "ports": [{"port": c.RUNTIME_PORT, "protocol": "TCP"}],
        }
    ]
    scrapers = monitoring_selector(tenant, monitoring_namespace)
    if scrapers is not None:
        ingress.append(
            {
                "from": [{"namespaceSelector": scrapers}],
                "ports": [{"port": c.METRICS_PORT, "protocol": "TCP"}],
            }
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": child_metadata(tenant, name=runtime_name(tenant), component="runtime"),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(tenant)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


def outbound_ports(tenant: Tenant) -> list[int]:
    """The ports of the services the Tenant names by URL: its webhook receiver, its OTLP
    collector and the MCP servers among its plain `mcpEnv` values (a URL kept in a Secret is not
    read here: give URLs as values, keep only credentials in Secrets)."""
    spec = tenant.spec
    urls = [var.value or "" for var in spec.mcp_env]
    urls += [spec.webhook.url if spec.webhook else "", spec.tracing.otlp_endpoint or ""]
    ports: set[int] = set()
    for url in urls:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.hostname:
            ports.add(port or (443 if parts.scheme == "https" else 80))
    return sorted(ports)
