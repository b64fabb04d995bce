"""Every child of a Tenant, in apply order, from the Tenant, its workflows and the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.credentials import (
    DatabaseCredentials,
    build_database_secret,
    build_settings_secret,
)
from mozaiks_operator.specs.deployment import build_runtime_deployment, config_hash
from mozaiks_operator.specs.ingress import build_runtime_ingress
from mozaiks_operator.specs.network import build_runtime_network_policy
from mozaiks_operator.specs.scaling import (
    HPA_KIND,
    SCALED_OBJECT_KIND,
    build_runtime_autoscaler,
    build_runtime_pdb,
)
from mozaiks_operator.specs.service import build_runtime_service
from mozaiks_operator.specs.workflows import Selection, build_workflows_configmap, fits


@dataclass(frozen=True)
class Environment:
    """What the operator's settings and the database layer contribute to every tenant."""

    default_image: str
    ingress_namespace: str
    database_port: int
    llm_port: int | None
    credentials: DatabaseCredentials | None  # None when the Tenant brings its own URI Secret
    # The namespace admitted to the runtimes' metrics port ("": none unless the Tenant says).
    monitoring_namespace: str = ""
    # Where KEDA's scaler finds Prometheus: set when the operator has one configured and KEDA's
    # ScaledObject kind is served (specs/scaling.py); None: HPAs only, no ScaledObject pruned.
    keda_prometheus_url: str | None = None


@dataclass(frozen=True)
class Desired:
    children: list[dict[str, Any]]  # in apply order
    absent_kinds: list[str]  # optional kinds this tenant does not want (to prune)
    workflows_fit: bool  # False: the ConfigMap would exceed 1 MiB and is left as it was


def desired_children(tenant: Tenant, selection: Selection, env: Environment) -> Desired:
    children: list[dict[str, Any]] = []
    if env.credentials is not None:
        children.append(build_database_secret(tenant, env.credentials))
    children.append(build_settings_secret(tenant))
    configmap = build_workflows_configmap(tenant, selection.files)
    workflows_fit = fits(configmap)
    if workflows_fit:
        children.append(configmap)
    children.append(build_runtime_service(tenant))
    digest = config_hash(
        tenant, database_uri=env.credentials.uri if env.credentials is not None else None
    )
    children.append(build_runtime_deployment(tenant, image=env.default_image, config_digest=digest))
    children.append(build_runtime_pdb(tenant))
    children.append(
        build_runtime_network_policy(
            tenant,
            ingress_namespace=env.ingress_namespace,
            database_port=env.database_port,
            llm_port=env.llm_port,
            monitoring_namespace=env.monitoring_namespace,
        )
    )
    # At most one autoscaler: an HPA and KEDA's own HPA would fight over the replicas.
    scaler = build_runtime_autoscaler(tenant, keda_prometheus_url=env.keda_prometheus_url)
    kinds = [HPA_KIND, SCALED_OBJECT_KIND] if env.keda_prometheus_url else [HPA_KIND]
    absent = [k for k in kinds if scaler is None or scaler[0] != k]
    if scaler is not None:
        children.append(scaler[1])
    ingress = build_runtime_ingress(tenant)
    if ingress is None:
        absent.append("Ingress")
    else:
        children.append(ingress)
    return Desired(children, absent, workflows_fit)


def llm_port(base_url: str | None) -> int | None:
    """The TCP port of the LLM endpoint (None: the built-in demo model, no egress needed)."""
    if not base_url:
        return None
    parts = urlsplit(base_url)
    if parts.port:
        return parts.port
    return 80 if parts.scheme == "http" else 443
