"""Deterministic child names and the label set every child carries.

The CRD limits a Tenant's name to 40 characters, so `<tenant>-<suffix>` always fits a DNS label
(63) and every name below is valid for every kind we create.
"""

from __future__ import annotations

from mozaiks_operator import constants as c
from mozaiks_operator.model.tenant import Tenant


def runtime_name(tenant: Tenant) -> str:
    """Deployment, Service, Ingress, HPA, PDB and NetworkPolicy share this name."""
    return f"{tenant.name}-runtime"


def settings_secret_name(tenant: Tenant) -> str:
    return f"{tenant.name}-runtime-settings"


def database_secret_name(tenant: Tenant) -> str:
    return f"{tenant.name}-database"


def workflows_configmap_name(tenant: Tenant) -> str:
    return f"{tenant.name}-workflows"


def selector_labels(tenant: Tenant) -> dict[str, str]:
    """The runtime pods' identity: stable for the life of the tenant (selectors are immutable)."""
    return {c.LABEL_NAME: c.RUNTIME_NAME, c.LABEL_INSTANCE: tenant.name}


def child_labels(tenant: Tenant, component: str) -> dict[str, str]:
    return {
        **selector_labels(tenant),
        c.LABEL_COMPONENT: component,
        c.LABEL_MANAGED_BY: c.MANAGED_BY,
        c.LABEL_TENANT: tenant.name,
        c.LABEL_APP_ID: tenant.spec.app_id,
    }
