"""The CRD files: names, columns, status subresource, and agreement with the typed models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from mozaiks_operator import constants as c
from mozaiks_operator.model.tenant import TenantSpec

pytestmark = pytest.mark.unit
CRDS = Path(__file__).resolve().parents[3] / "crds"


def _crd(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((CRDS / name).read_text())
    return doc


@pytest.mark.parametrize(
    ("file", "kind", "short"),
    [
        ("tenants.yaml", c.TENANT_KIND, "mzt"),
        ("workflows.yaml", c.WORKFLOW_KIND, "mzw"),
    ],
)
def test_crd_names_and_versions(file: str, kind: str, short: str) -> None:
    crd = _crd(file)
    spec = crd["spec"]
    assert spec["group"] == c.GROUP and spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == kind
    assert spec["names"]["shortNames"] == [short]
    assert spec["names"]["categories"] == ["mozaiks"]
    (version,) = spec["versions"]
    assert version["name"] == c.VERSION and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}
    columns = [col["name"] for col in version["additionalPrinterColumns"]]
    assert columns[-1] == "Age"


def test_tenant_columns() -> None:
    version = _crd("tenants.yaml")["spec"]["versions"][0]
    paths = {col["name"]: col["jsonPath"] for col in version["additionalPrinterColumns"]}
    assert paths["App ID"] == ".spec.appId"
    assert paths["Ready"] == '.status.conditions[?(@.type=="Ready")].status'
    assert paths["Replicas"] == ".status.readyReplicas"


def _aliases(model: type[BaseModel]) -> dict[str, Any]:
    return {(f.alias or n): f for n, f in model.model_fields.items()}


def _compare(schema: dict[str, Any], model: type[BaseModel], where: str) -> None:
    """Every schema property is a model field and the other way round, recursively."""
    props = schema.get("properties") or schema.get("items", {}).get("properties", {})
    fields = _aliases(model)
    assert set(props) == set(fields), f"{where}: CRD {sorted(props)} vs model {sorted(fields)}"
    for key, prop in props.items():
        annotation = fields[key].annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                _compare(prop, candidate, f"{where}.{key}")


def test_tenant_schema_matches_the_model() -> None:
    schema = _crd("tenants.yaml")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    _compare(schema["properties"]["spec"], TenantSpec, "spec")


def test_tenant_defaults_match_the_model() -> None:
    spec = _crd("tenants.yaml")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "spec"
    ]["properties"]
    model = TenantSpec.model_validate({"appId": "a"})
    assert spec["deletionPolicy"]["default"] == model.deletion_policy == "Retain"
    assert spec["paused"]["default"] is model.paused is False
    assert spec["runtime"]["properties"]["replicas"]["default"] == model.runtime.replicas
    auto = spec["runtime"]["properties"]["autoscaling"]["properties"]
    assert auto["maxReplicas"]["default"] == model.runtime.autoscaling.max_replicas
    assert auto["targetCPUUtilizationPercentage"]["default"] == (
        model.runtime.autoscaling.target_cpu_utilization_percentage
    )
    assert spec["llm"]["properties"]["model"]["default"] == model.llm.model
