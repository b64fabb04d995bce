"""The chart's static files: CRDs identical to crds/, values valid against values.schema.json,
and the settings the chart passes are settings the operator reads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mozaiks_operator.config import Settings as OperatorSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "mozaiks"


def _values() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_chart_crds_are_the_top_level_crds_byte_for_byte() -> None:
    top = {p.name: p.read_bytes() for p in sorted((ROOT / "crds").glob("*.yaml"))}
    chart = {p.name: p.read_bytes() for p in sorted((CHART / "crds").glob("*.yaml"))}
    assert top, "crds/ is empty"
    assert sorted(chart) == sorted(top), "run: cp crds/*.yaml charts/mozaiks/crds/"
    for name, data in top.items():
        assert chart[name] == data, f"charts/mozaiks/crds/{name} differs from crds/{name}: copy it"


def test_chart_crds_define_tenant_and_workflow() -> None:
    kinds = set()
    for path in (CHART / "crds").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc["kind"] == "CustomResourceDefinition"
            kinds.add(doc["spec"]["names"]["kind"])
    assert kinds == {"Tenant", "Workflow"}


def test_default_values_satisfy_the_schema() -> None:
    errors = list(_validator().iter_errors(_values()))
    assert errors == []


def _with(path: str, value: object) -> dict[str, Any]:
    values = _values()
    node = values
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return values


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("watchNamespaces", ["Not_A_Namespace"]),
        ("watchNamespaces", "team-a"),
        ("operator.image.digest", "sha256:short"),
        ("operator.image.pullPolicy", "Sometimes"),
        ("operator.healthPort", 80),
        ("operator.logLevel", "chatty"),
        ("operator.resources", {}),
        ("runtime.defaultImage", "no-tag-or-digest"),
        ("database.adminSecret", {"name": "admin"}),
        ("database.runtimeUri", "http://not-mongo"),
        ("exampleTenant.appId", "UPPER"),
        ("serviceMonitor.interval", "often"),
        ("operator.replicas", 2),
    ],
)
def test_schema_rejects_wrong_values(path: str, value: object) -> None:
    assert list(_validator().iter_errors(_with(path, value))), f"{path}={value!r} was accepted"


def test_schema_rejects_unknown_top_level_keys() -> None:
    values = _values()
    values["oprator"] = {}
    messages = [e.message for e in _validator().iter_errors(values)]
    assert any("oprator" in m for m in messages)


def test_every_operator_setting_the_chart_sets_is_read_by_the_operator() -> None:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    names = set(re.findall(r"name: MOZAIKS_OPERATOR_([A-Z_]+)", helpers))
    assert {"WATCH_NAMESPACES", "ADMIN_MONGO_URI", "DEFAULT_RUNTIME_IMAGE", "LIVENESS_URL"} <= names
    fields = {f.upper() for f in OperatorSettings.model_fields}
    assert names <= fields, f"the operator does not read: {sorted(names - fields)}"


def test_default_images_follow_the_chart_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    pyproject = (ROOT / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M)
    assert version is not None
    assert chart["appVersion"] == version.group(1)
    assert _values()["runtime"]["defaultImage"].endswith(":" + chart["appVersion"])
    assert _values()["operator"]["image"]["tag"] == ""  # defaults to appVersion


def test_service_monitor_selects_what_the_operator_labels() -> None:
    from mozaiks_operator import constants as c

    text = (CHART / "templates" / "servicemonitor.yaml").read_text()
    assert f"{c.LABEL_NAME}: {c.RUNTIME_NAME}" in text
    assert f"{c.LABEL_MANAGED_BY}: {c.MANAGED_BY}" in text
    assert f"- port: {c.METRICS_PORT_NAME}" in text
    assert "path: /metrics" in text
