"""The runtime Deployment: settings from Secrets, workflows mounted read-only, probes, hardening."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mozaiks_operator import constants as c
from mozaiks_operator.model.tenant import SecretKeyRef, Tenant
from mozaiks_operator.specs.credentials import runtime_settings
from mozaiks_operator.specs.meta import child_metadata
from mozaiks_operator.specs.names import (
    child_labels,
    database_secret_name,
    runtime_name,
    selector_labels,
    settings_secret_name,
    workflows_configmap_name,
)


def _from_secret(env: str, name: str, key: str) -> dict[str, Any]:
    return {"name": env, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}


def runtime_env(tenant: Tenant) -> list[dict[str, Any]]:
    """Every variable the runtime reads, by the names of its `Settings` fields (MOZAIKS_*)."""
    spec = tenant.spec
    settings_secret = settings_secret_name(tenant)
    env: list[dict[str, Any]] = [
        {"name": "MOZAIKS_WORKFLOWS_DIR", "value": c.WORKFLOWS_MOUNT},
        {"name": "MOZAIKS_METRICS_PORT", "value": str(c.METRICS_PORT)},
    ]
    env += [_from_secret(k, settings_secret, k) for k in sorted(runtime_settings(tenant))]
    mongo = spec.database.uri_secret_ref or SecretKeyRef(
        name=database_secret_name(tenant), key="uri"
    )
    env.append(_from_secret("MOZAIKS_MONGO_URI", mongo.name, mongo.key))
    refs = {
        "MOZAIKS_LLM_API_KEY": spec.llm.api_key_secret_ref,
        "MOZAIKS_JWT_SECRET": spec.auth.secret_ref,
        "MOZAIKS_JWT_PUBLIC_KEY": spec.auth.public_key_secret_ref,
        "MOZAIKS_WEBHOOK_SECRET": spec.webhook.secret_ref if spec.webhook else None,
        "MOZAIKS_BROKER_JWT_SECRET": spec.broker.secret_ref if spec.broker else None,
    }
    env += [_from_secret(k, r.name, r.key) for k, r in refs.items() if r is not None]
    for var in spec.mcp_env:  # for the workflows' MCP servers (URLs, auth header values)
        if var.secret_ref is not None:
            env.append(_from_secret(var.name, var.secret_ref.name, var.secret_ref.key))
        else:
            env.append({"name": var.name, "value": var.value or ""})
    return env


def config_hash(tenant: Tenant, *, database_uri: str | None) -> str:
    """A digest of what the pods read at start-up: settings, referenced Secret keys, database URI.

    Workflows are deliberately not part of it: the runtime hot-reloads the mounted ConfigMap, so a
    workflow change must not restart chats.
    """
    material = {
        "settings": runtime_settings(tenant),
        "env": runtime_env(tenant),
        "database_uri": database_uri,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]


def _probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": c.RUNTIME_PORT_NAME},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def build_runtime_deployment(tenant: Tenant, *, image: str, config_digest: str) -> dict[str, Any]:
    spec = tenant.spec
    container: dict[str, Any] = {
        "name": "runtime",
        "image": spec.runtime.image or image,
        "command": list(c.RUNTIME_COMMAND),
        "ports": [
            {"name": c.RUNTIME_PORT_NAME, "containerPort": c.RUNTIME_PORT, "protocol": "TCP"},
            {"name": c.METRICS_PORT_NAME, "containerPort": c.METRICS_PORT, "protocol": "TCP"},
        ],
        "env": runtime_env(tenant),
        "resources": spec.runtime.resources,
        # Startup allows a slow first load; liveness then only restarts a hung process.
        "startupProbe": _probe(c.LIVENESS_PATH, period=2, failures=30),
        "livenessProbe": _probe(c.LIVENESS_PATH, period=10, failures=3),
        "readinessProbe": _probe(c.READINESS_PATH, period=5, failures=2),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "workflows", "mountPath": c.WORKFLOWS_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108  # the only writable path
        ],
    }
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(tenant)},
        "revisionHistoryLimit": 3,
        # Chats resume on any replica, but never drop below the wanted count while rolling.
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": {
            "metadata": {
                # Only our own labels: a label edit on the Tenant must not roll the pods.
                "labels": child_labels(tenant, "runtime"),
                "annotations": {c.ANNOTATION_CONFIG_HASH: config_digest},
            },
            "spec": {
                "automountServiceAccountToken": False,  # the runtime never calls the API
                "enableServiceLinks": False,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": c.RUNTIME_UID,
                    "runAsGroup": c.RUNTIME_UID,
                    "fsGroup": c.RUNTIME_UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "terminationGracePeriodSeconds": 30,
                "containers": [container],
                "volumes": [
                    {"name": "workflows", "configMap": {"name": workflows_configmap_name(tenant)}},
                    {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                ],
            },
        },
    }
    # With autoscaling on, the HPA owns `replicas`; applying it too would fight the HPA.
    if not spec.runtime.autoscaling.enabled:
        deployment_spec["replicas"] = spec.runtime.replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": child_metadata(tenant, name=runtime_name(tenant), component="runtime"),
        "spec": deployment_spec,
    }
