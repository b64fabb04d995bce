"""`examples/tenant.yaml` and `examples/workflow.yaml` work as they are (what the README runs)."""

from __future__ import annotations

import pytest

from tests.harness.kube import KubeCluster
from tests.integration.operator.conftest import ROOT, Operators, wait_condition, wait_ready
from tests.integration.operator.kapi import Api

pytestmark = pytest.mark.integration


def test_examples_apply_and_become_ready(
    api: Api, operators: Operators, k8s_namespace: str, kube_cluster: KubeCluster
) -> None:
    ns = k8s_namespace
    operators.start(ns)
    kube_cluster.kubectl(
        "apply",
        "-n",
        ns,
        "-f",
        str(ROOT / "examples" / "tenant.yaml"),
        "-f",
        str(ROOT / "examples" / "workflow.yaml"),
    )
    wait_ready(api, ns, "demo")
    wait_condition(api, "Workflow", ns, "greeter", "Served", "Served")
    cm = api.get("ConfigMap", ns, "demo-workflows") or {}
    assert set(cm["data"]) == {"greeter.json"}
    ingress = api.get("Ingress", ns, "demo-runtime") or {}
    assert ingress["spec"]["rules"][0]["host"] == "demo.mozaiks.localhost"
    # Delete it again so the next run starts from the same place (the database is retained).
    api.delete("Tenant", ns, "demo")
