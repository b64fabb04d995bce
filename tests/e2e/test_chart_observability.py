"""The chart's observability values against helm and the real API server: lint, render and
server-side dry-run with them on, the dashboard and the alerts rendered exactly as shipped, the
schema refusing bad values with the key's name, and the PrometheusRule's missing CRD explained."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.harness.kube import KubeCluster

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "mozaiks"
MONITORING_APIS = [
    "--api-versions",
    "monitoring.coreos.com/v1/ServiceMonitor",
    "--api-versions",
    "monitoring.coreos.com/v1/PrometheusRule",
]
OBSERVABILITY = {
    "operator": {"metricsPort": 9100},
    "runtime": {
        "monitoringNamespace": "prometheus",
        "kedaPrometheusUrl": "http://prometheus.prometheus.svc:9090",
    },
    "grafanaDashboard": {"enabled": True, "namespace": "grafana", "labels": {"dash": "yes"}},
    "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
}


def _helm(helm_bin: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "helm"
    env = {
        **os.environ,
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    return subprocess.run(
        [str(helm_bin), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _sets(values: dict[str, Any]) -> list[str]:
    return [a for k, v in values.items() for a in ("--set-json", f"{k}={json.dumps(v)}")]


def _render(helm_bin: Path, tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    proc = _helm(helm_bin, tmp_path, "template", "mzobs", str(CHART), "-n", "mz", *args)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


@pytest.mark.parametrize("values", [{}, {"grafanaDashboard": {"enabled": True}}])
def test_lint_is_clean_with_the_observability_values(
    helm_bin: Path, tmp_path: Path, values: dict[str, Any]
) -> None:
    proc = _helm(helm_bin, tmp_path, "lint", "--strict", str(CHART), *_sets(values))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


def test_defaults_ship_no_dashboard_rules_or_monitors_but_the_metrics_port(
    helm_bin: Path, tmp_path: Path
) -> None:
    docs = _render(helm_bin, tmp_path)
    kinds = {d["kind"] for d in docs}
    assert not kinds & {"ServiceMonitor", "PrometheusRule"}
    assert not [d for d in docs if d["kind"] == "ConfigMap"]
    service = _one(docs, "Service", "mzobs-operator-metrics")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]
    (container,) = _one(docs, "Deployment", "mzobs-operator")["spec"]["template"]["spec"][
        "containers"
    ]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MOZAIKS_OPERATOR_METRICS_PORT"] == "9090"
    assert env["MOZAIKS_OPERATOR_MONITORING_NAMESPACE"] == "monitoring"
    assert "MOZAIKS_OPERATOR_KEDA_PROMETHEUS_URL" not in env
    policy = _one(docs, "NetworkPolicy", "mzobs-operator")["spec"]["ingress"]
    assert policy[1] == {
        "from": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        ],
        "ports": [{"port": "metrics", "protocol": "TCP"}],
    }


def test_everything_on_renders_the_files_as_shipped(helm_bin: Path, tmp_path: Path) -> None:
    docs = _render(helm_bin, tmp_path, *_sets(OBSERVABILITY), *MONITORING_APIS)
    dashboard = _one(docs, "ConfigMap", "mzobs-operator-dashboard")
    assert dashboard["metadata"]["namespace"] == "grafana"
    assert dashboard["metadata"]["labels"]["dash"] == "yes"
    shipped = json.loads((CHART / "files" / "grafana" / "mozaiks.json").read_text())
    assert json.loads(dashboard["data"]["mozaiks.json"]) == shipped
    rule = _one(docs, "PrometheusRule", "mzobs-operator")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    alerts = yaml.safe_load((CHART / "files" / "prometheus" / "alerts.yaml").read_text())
    assert rule["spec"] == alerts  # $labels templates reach Prometheus untouched
    monitors = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ServiceMonitor"}
    assert monitors["mzobs-operator-runtimes"]["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitors["mzobs-operator"]["spec"]["endpoints"][0]["port"] == "metrics"
    (container,) = _one(docs, "Deployment", "mzobs-operator")["spec"]["template"]["spec"][
        "containers"
    ]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MOZAIKS_OPERATOR_KEDA_PROMETHEUS_URL"] == "http://prometheus.prometheus.svc:9090"
    assert env["MOZAIKS_OPERATOR_METRICS_PORT"] == "9100"
    assert {"name": "metrics", "containerPort": 9100, "protocol": "TCP"} in container["ports"]
    rbac = [d for d in docs if d["kind"] == "ClusterRole"]
    rules = [r for role in rbac for r in role["rules"]]
    assert any(r["apiGroups"] == ["keda.sh"] for r in rules)


def test_rendered_observability_objects_pass_server_side_dry_run(
    helm_bin: Path, tmp_path: Path, kube_cluster: KubeCluster, k8s_namespace: str
) -> None:
    values = {**OBSERVABILITY, "grafanaDashboard": {"enabled": True}}
    proc = _helm(
        helm_bin,
        tmp_path,
        "template",
        "mzobs",
        str(CHART),
        "-n",
        k8s_namespace,
        *_sets(values),
        *MONITORING_APIS,
    )
    assert proc.returncode == 0, proc.stderr
    # the monitoring CRDs are not in the test cluster: everything else goes to the server
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    served = [d for d in docs if d["kind"] not in ("ServiceMonitor", "PrometheusRule")]
    assert {"ConfigMap", "Service"} <= {d["kind"] for d in served}
    applied = kube_cluster.kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=chart-test",
        "-f",
        "-",
        input=yaml.safe_dump_all(served),
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.count("(server dry run)") == len(served)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "operator.metricsPort=80"], "at '/operator/metricsPort'"),
        (["--set", "runtime.monitoringNamespace=Bad_NS"], "at '/runtime/monitoringNamespace'"),
        (["--set", "runtime.kedaPrometheusUrl=prometheus:9090"], "at '/runtime/kedaPrometheusUrl'"),
        (["--set", "grafanaDashboard.enabld=true"], "additional properties 'enabld' not allowed"),
        (["--set", "prometheusRule.enabled=yes"], "at '/prometheusRule/enabled'"),
    ],
    ids=["metrics-port", "monitoring-namespace", "keda-url", "typo", "not-a-bool"],
)
def test_bad_observability_values_fail_with_the_key(
    helm_bin: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    proc = _helm(helm_bin, tmp_path, "template", "mzobs", str(CHART), *args)
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr, proc.stderr


def test_prometheus_rule_without_its_crd_fails_with_a_hint(helm_bin: Path, tmp_path: Path) -> None:
    proc = _helm(
        helm_bin, tmp_path, "template", "mzobs", str(CHART), "--set", "prometheusRule.enabled=true"
    )
    assert proc.returncode != 0
    assert "needs the prometheus-operator CRDs" in proc.stderr
    assert "prometheusRule.enabled=false" in proc.stderr
