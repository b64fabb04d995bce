"""Scraping that works, end to end on the real API server: the chart rendered with its
ServiceMonitors on, its objects applied, the operator run with the env of the chart's Deployment
and the token of the chart's ServiceAccount, a Tenant reconciled (kwok runs its pods). Each
ServiceMonitor is resolved to its targets as prometheus-operator does (namespaces, Service
labels, endpoint port name, Service targetPort, the pods' container ports), and every target
must be admitted by the NetworkPolicies as they are in the cluster, from the monitoring
namespace only and on the metrics port only. kwok enforces no policy, so tests/support/netpol.py
evaluates their semantics on the objects. (The operator runs as a process here; the e2e story
runs the image.)"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.harness.chart import CHART, ROOT, wait_until
from tests.harness.kube import KubeCluster
from tests.harness.mongo import FerretDBAuth
from tests.integration.operator.kapi import Api
from tests.support.netpol import Source, admits

pytestmark = pytest.mark.e2e
RELEASE = "mzscrape"
PROMETHEUS_POD = {"app.kubernetes.io/name": "prometheus"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _render(helm_bin: Path, ns: str, monitoring: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [
            str(helm_bin),
            "template",
            RELEASE,
            str(CHART),
            "-n",
            ns,
            "--set-json",
            f"watchNamespaces={json.dumps([ns])}",
            "--set",
            f"runtime.monitoringNamespace={monitoring}",
            "--set",
            "serviceMonitor.enabled=true",
            "--api-versions",
            "monitoring.coreos.com/v1/ServiceMonitor",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def _operator_env(deployment: dict[str, Any], ns: str, admin_uri: str) -> dict[str, str]:
    """The chart's container env, references resolved as the kubelet would."""
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {}
    for var in container["env"]:
        if "value" in var:
            env[var["name"]] = str(var["value"])
        elif "secretKeyRef" in var["valueFrom"]:
            env[var["name"]] = admin_uri
        else:
            env[var["name"]] = ns
    return env


def _items(api: Api, kind: str, ns: str) -> list[dict[str, Any]]:
    return api.list(kind, ns)


def _targets(api: Api, monitor: dict[str, Any], ns: str) -> list[tuple[dict[str, Any], int]]:
    """(pod, port) of every target of a ServiceMonitor, resolved like prometheus-operator."""
    spec = monitor["spec"]
    selector = spec.get("namespaceSelector") or {}
    namespaces = selector.get("matchNames") or [monitor["metadata"]["namespace"]]
    assert not selector.get("any"), "the chart scopes its monitors to the watched namespaces"
    wanted = spec["selector"]["matchLabels"]
    found = []
    for namespace in namespaces:
        for svc in _items(api, "Service", namespace):
            labels = svc["metadata"].get("labels") or {}
            if any(labels.get(k) != v for k, v in wanted.items()):
                continue
            pods = [
                p
                for p in _items(api, "Pod", namespace)
                if all(
                    (p["metadata"].get("labels") or {}).get(k) == v
                    for k, v in svc["spec"]["selector"].items()
                )
            ]
            for endpoint in spec["endpoints"]:
                (svc_port,) = [p for p in svc["spec"]["ports"] if p["name"] == endpoint["port"]]
                target = svc_port["targetPort"]
                for pod in pods:
                    ports = {
                        p["name"]: p["containerPort"]
                        for c in pod["spec"]["containers"]
                        for p in c.get("ports") or []
                    }
                    found.append((pod, ports[target] if isinstance(target, str) else target))
    return found


def _source(api: Api, ns: str) -> Source:
    labels = (api.get("Namespace", None, ns) or {})["metadata"]["labels"]
    return Source(ns, labels, PROMETHEUS_POD)


@pytest.fixture
def side_namespaces(kube_cluster: KubeCluster, k8s_namespace: str) -> Iterator[tuple[str, str]]:
    names = (f"{k8s_namespace[:50]}-mon", f"{k8s_namespace[:50]}-oth")
    for name in names:
        kube_cluster.create_namespace(name)
    yield names
    for name in names:
        kube_cluster.delete_namespace(name)


@pytest.mark.timeout(600)
def test_service_monitor_targets_are_reachable_under_the_rendered_policies(
    kube_cluster: KubeCluster,
    helm_bin: Path,
    k8s_namespace: str,
    ferretdb_auth: FerretDBAuth,
    side_namespaces: tuple[str, str],
    tmp_path: Path,
) -> None:
    ns, (monitoring, other) = k8s_namespace, side_namespaces
    kube_cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    kube_cluster.kubectl("wait", "--for=condition=Established", "crd/tenants.mozaiks.ai")
    docs = _render(helm_bin, ns, monitoring)
    monitors = [d for d in docs if d["kind"] == "ServiceMonitor"]
    assert len(monitors) == 2  # the runtimes and the operator
    rest = [d for d in docs if d["kind"] != "ServiceMonitor"]
    kube_cluster.kubectl(
        "apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(rest)
    )  # the chart's objects as installed (its operator pod runs on kwok)

    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    env = _operator_env(deployment, ns, ferretdb_auth.admin_uri)
    assert env["MOZAIKS_OPERATOR_MONITORING_NAMESPACE"] == monitoring
    env["MOZAIKS_OPERATOR_LIVENESS_URL"] = f"http://127.0.0.1:{_free_port()}/healthz"
    metrics_port = _free_port()
    env["MOZAIKS_OPERATOR_METRICS_PORT"] = str(metrics_port)
    env["MOZAIKS_OPERATOR_IDENTITY"] = "scrape-e2e"
    sa = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    token = kube_cluster.service_account_token(ns, sa, duration=1800)
    kubeconfig = kube_cluster.write_kubeconfig(tmp_path / "kubeconfig", token, ns)
    base = {k: v for k, v in os.environ.items() if not k.startswith("MOZAIKS_OPERATOR_")}
    log = tmp_path / "operator.log"
    api = Api(kube_cluster)
    with log.open("wb") as out:
        operator = subprocess.Popen(
            [sys.executable, "-m", "mozaiks_operator"],
            env={**base, **env, "KUBECONFIG": str(kubeconfig)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        api.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "jwt", "namespace": ns},
                "stringData": {"secret": base64.b64encode(os.urandom(24)).decode()},
            }
        )
        api.create(
            {
                "apiVersion": "mozaiks.ai/v1alpha1",
                "kind": "Tenant",
                "metadata": {"name": "acme", "namespace": ns},
                "spec": {
                    "appId": f"scrape-{ns[-6:]}",
                    "auth": {"secretRef": {"name": "jwt", "key": "secret"}},
                },
            }
        )
        runtime_monitor, operator_monitor = monitors

        def targets_up() -> list[tuple[dict[str, Any], int]] | None:
            assert operator.poll() is None, log.read_text()[-3000:]
            found = _targets(api, runtime_monitor, ns)
            ours = _targets(api, operator_monitor, ns)
            return found + ours if found and ours else None

        targets = wait_until("runtime and operator pods", targets_up, timeout=180)
        assert {port for _, port in targets} == {9090}
        policies = _items(api, "NetworkPolicy", ns)
        assert {p["metadata"]["name"] for p in policies} >= {"acme-runtime", f"{RELEASE}-operator"}
        prometheus, stranger = _source(api, monitoring), _source(api, other)
        ingress = Source("ingress-nginx", {"kubernetes.io/metadata.name": "ingress-nginx"}, {})
        for pod, port in targets:
            name = pod["metadata"]["name"]
            assert admits(policies, pod, prometheus, port), f"{name}:{port} refused"
            assert not admits(policies, pod, stranger, port), f"{name}:{port} open to {other}"
            assert not admits(policies, pod, prometheus, 5000), f"{name}:5000 open to scrapers"
        runtime_pods = [pod for pod, _ in _targets(api, runtime_monitor, ns)]
        for pod in runtime_pods:  # the chats' port stays the ingress controller's alone
            assert not admits(policies, pod, prometheus, 8080)
            assert admits(policies, pod, ingress, 8080)
            assert not admits(policies, pod, ingress, 9090)
        # The operator really serves what its monitor scrapes (a process here: loopback).
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert 'mozaiks_operator_reconcile_passes_total{kind="Tenant",result="ok"}' in text
    finally:
        operator.terminate()
        operator.wait(20)
        if api.get("Tenant", ns, "acme") is not None:
            api.patch("Tenant", ns, "acme", {"metadata": {"finalizers": None}})
        api.close()
