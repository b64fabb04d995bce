"""The runtime NetworkPolicy: only the ingress controller gets in; only DNS, the database and
the LLM endpoint get out.

NetworkPolicy speaks in pods, namespaces and IP blocks, not host names, so egress to the database
and the LLM is limited by port (their addresses may be anywhere, even outside the cluster).
"""

from __future__ import annotations

from typing import Any

from mozaiks_operator import constants as c
from mozaiks_operator.build.meta import child_metadata
from mozaiks_operator.build.names import runtime_name, selector_labels
from mozaiks_operator.model.tenant import Tenant


def build_runtime_network_policy(
    tenant: Tenant, *, ingress_namespace: str, database_port: int, llm_port: int | None
) -> dict[str, Any]:
    dns = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    egress: list[dict[str, Any]] = [
        {"ports": dns},
        {"ports": [{"port": database_port, "protocol": "TCP"}]},
    ]
    if llm_port is not None:
        egress.append({"ports": [{"port": llm_port, "protocol": "TCP"}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": child_metadata(tenant, name=runtime_name(tenant), component="runtime"),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(tenant)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": ingress_namespace}
                            }
                        }
                    ],
                    "ports": [{"port": c.RUNTIME_PORT, "protocol": "TCP"}],
                }
            ],
            "egress": egress,
        },
    }
