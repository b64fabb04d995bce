"""The Workflow resource: which tenants serve it, and whether its definition passes the runtime's
own schema (`mozaiks_runtime.workflows.schema`, the same check the runtime applies on load).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mozaiks_runtime.workflows.model import WorkflowDefinition, dump_definition
from mozaiks_runtime.workflows.schema import WorkflowInvalid, validate_definition


@dataclass(frozen=True)
class Check:
    """The outcome of validating one definition: the parsed workflow, or the exact errors."""

    definition: WorkflowDefinition | None
    errors: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return self.definition is not None


def check_definition(data: object, *, source: str) -> Check:
    """Validate a definition; never raises for bad input (the errors are the result)."""
    try:
        return Check(validate_definition(data, source), ())
    except WorkflowInvalid as exc:
        return Check(None, tuple(exc.errors) or (str(exc),))


def definition_json(definition: WorkflowDefinition) -> str:
    """The file the runtime loads: stable key order, so equal workflows give equal ConfigMaps."""
    return json.dumps(dump_definition(definition), sort_keys=True, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class ServedFile:
    """One workflow as the runtime receives it: `<name>.json` in the tenant's ConfigMap."""

    name: str  # the definition's name (the runtime's URL segment), not the resource's
    json: str
    generation: int  # the Workflow generation this version came from

    @property
    def key(self) -> str:
        return f"{self.name}.json"

    def to_status(self) -> dict[str, Any]:
        return {"name": self.name, "definition": self.json, "generation": self.generation}

    @classmethod
    def from_status(cls, data: object) -> ServedFile | None:
        if not isinstance(data, Mapping):
            return None
        try:
            return cls(str(data["name"]), str(data["definition"]), int(data["generation"]))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Workflow:
    """What reconcile needs from a Workflow body."""

    name: str
    namespace: str
    generation: int
    definition: Any
    tenant_ref: str | None
    tenant_selector: dict[str, str] | None
    last_valid: ServedFile | None  # the last valid version, kept in status.lastValid
    deleting: bool

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Workflow:
        meta, spec = body["metadata"], body.get("spec") or {}
        status = body.get("status") or {}
        ref = spec.get("tenantRef") or {}
        selector = spec.get("tenantSelector") or {}
        return cls(
            name=meta["name"],
            namespace=meta["namespace"],
            generation=int(meta.get("generation", 1)),
            definition=spec.get("definition"),
            tenant_ref=ref.get("name"),
            tenant_selector=dict(selector.get("matchLabels") or {}) if selector else None,
            last_valid=ServedFile.from_status(status.get("lastValid")),
            deleting=bool(meta.get("deletionTimestamp")),
        )

    @property
    def source(self) -> str:
        return f"Workflow {self.namespace}/{self.name}"

    def targets(self, tenant_name: str, tenant_labels: Mapping[str, str]) -> bool:
        """Whether this workflow is meant for the tenant (same namespace is the caller's job)."""
        if self.tenant_ref is not None:
            return self.tenant_ref == tenant_name
        if self.tenant_selector is not None:
            return all(tenant_labels.get(k) == v for k, v in self.tenant_selector.items())
        return False

    def served(self) -> tuple[ServedFile | None, Check]:
        """What to serve: the current definition if valid, else the last valid one (if any)."""
        check = check_definition(self.definition, source=self.source)
        if check.definition is not None:
            file = ServedFile(
                check.definition.name, definition_json(check.definition), self.generation
            )
            return file, check
        return self.last_valid, check
