"""The tenant's workflows ConfigMap: one `<workflow name>.json` key per valid Workflow."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mozaiks_operator import constants as c
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.model.workflow import ServedFile, Workflow
from mozaiks_operator.specs.meta import child_metadata
from mozaiks_operator.specs.names import workflows_configmap_name


@dataclass(frozen=True)
class Selection:
    """The workflows a tenant serves, and the Workflows left out because their name is taken."""

    files: tuple[ServedFile, ...]
    sources: dict[str, str]  # definition name -> the Workflow resource serving it
    duplicates: dict[str, str] = field(default_factory=dict)  # left-out resource -> name


def select_workflows(tenant: Tenant, workflows: Iterable[Workflow]) -> Selection:
    """Valid (or last-valid) workflows meant for this tenant, one per definition name.

    Two Workflows with the same definition name would overwrite each other in the runtime; the
    first by resource name wins, so the choice is stable across passes.
    """
    files: dict[str, ServedFile] = {}
    sources: dict[str, str] = {}
    duplicates: dict[str, str] = {}
    for wf in sorted(workflows, key=lambda w: w.name):
        if wf.namespace != tenant.namespace or wf.deleting:
            continue
        if not wf.targets(tenant.name, tenant.labels):
            continue
        served, _ = wf.served()
        if served is None:
            continue
        if served.name in files:
            duplicates[wf.name] = served.name
            continue
        files[served.name] = served
        sources[served.name] = wf.name
    return Selection(tuple(files[n] for n in sorted(files)), sources, duplicates)


def configmap_data_bytes(data: dict[str, str]) -> int:
    """The size the API server counts against a ConfigMap's 1 MiB: keys plus UTF-8 values."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in data.items())


def build_workflows_configmap(tenant: Tenant, files: Iterable[ServedFile]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": child_metadata(
            tenant, name=workflows_configmap_name(tenant), component="workflows"
        ),
        "data": {f.key: f.json for f in files},
    }


def fits(configmap: dict[str, Any]) -> bool:
    return configmap_data_bytes(configmap["data"]) <= c.CONFIGMAP_LIMIT_BYTES
