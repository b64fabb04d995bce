"""Metadata every child gets: our labels, the parent's own labels and annotations (minus framework
bookkeeping), and a controller owner reference so garbage collection follows the Tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mozaiks_operator import constants as c
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.names import child_labels


def _inheritable(items: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in items.items() if not k.startswith(c.BOOKKEEPING_PREFIXES)}


def owner_reference(tenant: Tenant) -> dict[str, Any]:
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.TENANT_KIND,
        "name": tenant.name,
        "uid": tenant.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def child_metadata(tenant: Tenant, *, name: str, component: str) -> dict[str, Any]:
    """`metadata` for a child: our labels win over inherited ones with the same key."""
    meta: dict[str, Any] = {
        "name": name,
        "namespace": tenant.namespace,
        "labels": {**_inheritable(tenant.labels), **child_labels(tenant, component)},
        "ownerReferences": [owner_reference(tenant)],
    }
    annotations = _inheritable(tenant.annotations)
    if annotations:
        meta["annotations"] = annotations
    return meta


def is_owned_by(obj: Mapping[str, Any], tenant_uid: str) -> bool:
    """Whether `obj` is ours: a controller owner reference to this very Tenant (by uid)."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(r.get("uid") == tenant_uid and r.get("controller") for r in refs)
