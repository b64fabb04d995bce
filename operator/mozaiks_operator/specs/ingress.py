"""The runtime Ingress, set up for long-lived WebSockets (one per chat)."""

from __future__ import annotations

from typing import Any

from mozaiks_operator import constants as c
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.meta import child_metadata
from mozaiks_operator.specs.names import runtime_name

# ingress-nginx upgrades WebSockets by itself but closes idle proxied connections after 60 s;
# chats wait on humans for minutes. Buffering off streams events as they are produced. Bodies
# up to the runtime's own limit (MOZAIKS_MAX_BODY_BYTES, 4 MiB) pass nginx's 1 MiB default, so
# an AG-UI history over it gets the runtime's JSON 413, not nginx's HTML page.
WEBSOCKET_ANNOTATIONS = {
    "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-buffering": "off",
    "nginx.ingress.kubernetes.io/proxy-http-version": "1.1",
    "nginx.ingress.kubernetes.io/proxy-body-size": "4m",
}


def build_runtime_ingress(tenant: Tenant) -> dict[str, Any] | None:
    """None when the Tenant asks for no Ingress (then an existing one is pruned)."""
    ingress = tenant.spec.ingress
    if ingress is None:
        return None
    meta = child_metadata(tenant, name=runtime_name(tenant), component="runtime")
    meta["annotations"] = {**meta.get("annotations", {}), **WEBSOCKET_ANNOTATIONS}
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": ingress.host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {
                                "service": {
                                    "name": runtime_name(tenant),
                                    "port": {"name": c.RUNTIME_PORT_NAME},
                                }
                            },
                        }
                    ]
                },
            }
        ]
    }
    if ingress.class_name:
        spec["ingressClassName"] = ingress.class_name
    if ingress.tls_secret_name:
        spec["tls"] = [{"hosts": [ingress.host], "secretName": ingress.tls_secret_name}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta,
        "spec": spec,
    }
