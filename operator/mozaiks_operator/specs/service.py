"""The runtime Service (ClusterIP, port 80 to the pods' named `http` port, 9090 to `metrics`)."""

from __future__ import annotations

from typing import Any

from mozaiks_operator import constants as c
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.meta import child_metadata
from mozaiks_operator.specs.names import runtime_name, selector_labels


def build_runtime_service(tenant: Tenant) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(tenant, name=runtime_name(tenant), component="runtime"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(tenant),
            "ports": [
                {
                    "name": c.RUNTIME_PORT_NAME,
                    "port": c.SERVICE_PORT,
                    "targetPort": c.RUNTIME_PORT_NAME,
                    "protocol": "TCP",
                },
                {  # for Prometheus (the chart's ServiceMonitor), never for the Ingress
                    "name": c.METRICS_PORT_NAME,
                    "port": c.METRICS_PORT,
                    "targetPort": c.METRICS_PORT_NAME,
                    "protocol": "TCP",
                },
            ],
        },
    }


def service_url(tenant: Tenant) -> str:
    return f"http://{runtime_name(tenant)}.{tenant.namespace}.svc:{c.SERVICE_PORT}"
