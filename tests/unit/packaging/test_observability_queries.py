"""Every PromQL expression we ship (the Grafana dashboard, the example alerts, the KEDA query and
the HPA's Pods metrics) names only series the runtime and the operator export.

The exported names come from the code: both metrics registries, with the suffixes Prometheus
sees (`_total`/`_created` of counters, `_bucket`/`_sum`/`_count` of histograms). A small PromQL
reader strips strings, label matchers, ranges and grouping clauses; what remains that is not a
function, keyword or number is a metric name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from mozaiks_operator import constants as c
from mozaiks_operator.metrics import OperatorMetrics
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.scaling import load_query
from mozaiks_runtime.metrics import Metrics

pytestmark = pytest.mark.unit
CHART = Path(__file__).resolve().parents[3] / "charts" / "mozaiks"
DASHBOARD = CHART / "files" / "grafana" / "mozaiks.json"
ALERTS = CHART / "files" / "prometheus" / "alerts.yaml"

SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "group_left", "group_right", "inf", "nan"}
GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)"


def exported(registry: CollectorRegistry) -> set[str]:
    names = set()
    for family in registry.collect():
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


EXPORTED = exported(Metrics().registry) | exported(OperatorMetrics().registry)


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads; raises ValueError on what is not PromQL-shaped."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    if text.count("(") != text.count(")") or text.count("{") != text.count("}"):
        raise ValueError(f"unbalanced: {expr}")
    text = re.sub(r"\{[^{}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\[\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(GROUPING, " ", text)
    text = re.sub(r"\b\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:ms|s|m|h|d|w|y)?\b", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or match.group().lower() in KEYWORDS:
            continue  # a function or an aggregation, or a keyword
        names.add(match.group())
    if not names:
        raise ValueError(f"reads no series: {expr}")
    return names


def dashboard_queries() -> Iterator[str]:
    board: dict[str, Any] = json.loads(DASHBOARD.read_text())
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":  # label_values(metric, label)
            found = re.fullmatch(r"label_values\((\w+),\s*\w+\)", variable["definition"])
            assert found, variable["definition"]
            yield found.group(1)


def alert_queries() -> Iterator[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert {"alert", "expr", "labels", "annotations"} <= set(rule), rule
            yield rule["expr"]


def test_the_reader_finds_metric_names_and_nothing_else() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, model) (rate(a_b_bucket{x=~"5..",y="c d"}[5m])))'
        " / on (model) group_left sum without (pod) (c_total offset 1h) > bool 1e3"
    )
    assert metric_names(expr) == {"a_b_bucket", "c_total"}
    assert metric_names("sum(up) < 1 or absent(x_y)") == {"up", "x_y"}
    with pytest.raises(ValueError, match="unbalanced"):
        metric_names("sum(rate(x[5m])")
    with pytest.raises(ValueError, match="reads no series"):
        metric_names("vector(1)")


def test_a_misspelt_series_is_caught() -> None:
    assert not metric_names("rate(mozaiks_event_sent_total[5m])") <= EXPORTED


def test_the_code_exports_the_series_the_checks_rely_on() -> None:
    for name in ("mozaiks_ws_open", "mozaiks_runs_active", "mozaiks_tokens_total"):
        assert name in EXPORTED
    assert "mozaiks_operator_reconcile_duration_seconds_bucket" in EXPORTED
    assert "mozaiks_operator_tenants" in EXPORTED  # a custom collector, found too


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_shipped_query_names_exported_series(source: str) -> None:
    queries = list(dashboard_queries() if source == "dashboard" else alert_queries())
    assert len(queries) >= 10
    unknown = {q: sorted(metric_names(q) - EXPORTED) for q in queries}
    assert {q: u for q, u in unknown.items() if u} == {}


def test_the_autoscaling_gauges_and_keda_query_are_exported() -> None:
    assert set(c.LOAD_GAUGES.values()) <= EXPORTED
    body = {
        "metadata": {"name": "acme", "namespace": "ns", "uid": "u"},
        "spec": {
            "appId": "acme",
            "runtime": {"autoscaling": {"enabled": True, "metric": "runs", "targetPerPod": 5}},
        },
    }
    assert metric_names(load_query(Tenant.from_body(body))) == {"mozaiks_runs_active"}


def test_the_dashboard_covers_what_operators_look_at() -> None:
    text = DASHBOARD.read_text()
    for series in (
        "mozaiks_ws_open",
        "mozaiks_runs_active",
        "mozaiks_events_sent_total",
        "mozaiks_model_call_seconds_bucket",
        "mozaiks_event_publish_delay_seconds_bucket",
        "mozaiks_tokens_total",
        "mozaiks_cost_total",
        "mozaiks_budget_tenant_remaining_tokens",
        "mozaiks_operator_reconcile_passes_total",
        "mozaiks_operator_tenants",
    ):
        assert series in text, series
