"""The whole story on a real node: `helm install` the chart, run the operator image as the
chart's pod would, apply examples/tenant.yaml and examples/workflow.yaml as they are; the
operator's Deployment then starts a real runtime pod, from the runtime image built from
Dockerfile.runtime, on `hack/node`'s kubelet (containerd + runc). The pod mounts the workflow
ConfigMap, reaches FerretDB with the tenant's own database user, passes its probes, serves a
scripted WebSocket chat through its Service (a ClusterIP, kube-proxy's iptables in the node's
network namespace), and picks up a Workflow update while it keeps running."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pymongo
import pytest
import yaml
from kubernetes import client
from tests.harness.chart import (
    GROUP,
    ROOT,
    VERSION,
    Helm,
    start_operator,
    tenant_serving,
    wait_until,
)
from tests.harness.images import Container, Images
from tests.harness.kube import KubeCluster
from tests.harness.mongo import FerretDBAuth
from tests.harness.node import RealNode

from mozaiks_runtime.auth.mint import mint_token

pytestmark = pytest.mark.e2e


def _examples() -> tuple[dict[str, Any], str, dict[str, Any]]:
    docs = list(yaml.safe_load_all((ROOT / "examples" / "tenant.yaml").read_text()))
    (tenant,) = [d for d in docs if d["kind"] == "Tenant"]
    (secret,) = [d for d in docs if d["kind"] == "Secret"]
    workflow = yaml.safe_load((ROOT / "examples" / "workflow.yaml").read_text())
    return tenant, secret["stringData"]["secret"], workflow


def _runtime_pod(core: client.CoreV1Api, ns: str, app: str) -> client.V1Pod | None:
    pods = core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/component=runtime")
    ready = [
        p
        for p in pods.items
        if p.status.phase == "Running"
        and all(s.ready for s in p.status.container_statuses or [])
        and p.status.container_statuses
    ]
    return ready[0] if len(ready) == 1 and len(pods.items) == 1 else None


@pytest.mark.timeout(900)
def test_the_operator_starts_a_real_runtime_pod_that_serves_a_chat(
    kube_cluster: KubeCluster,
    real_node: RealNode,
    helm_bin: Path,
    k8s_namespace: str,
    ferretdb_auth: FerretDBAuth,
    tmp_path: Path,
    images: Images,
    operators: list[Container],
    record_property: Callable[[str, object], None],
) -> None:
    ns = k8s_namespace
    tenant, key, workflow = _examples()
    real_node.load(images.runtime)
    helm = Helm(helm_bin, kube_cluster, tmp_path / "helm")
    manifest = helm.install(
        "story",
        ns,
        ferretdb_auth.admin_uri,
        "--set",
        f"runtime.defaultImage={images.runtime}",
        "--set",
        f"database.runtimeUri={real_node.mongo_uri(ferretdb_auth.port)}",
    )
    # Claimed after the install: the chart's own operator pod stays on kwok's fake node (the
    # operator image runs in podman below, as that pod would); the runtime pods go to the real one.
    real_node.claim(ns)
    operator, _ = start_operator(kube_cluster, images.operator, manifest, ns, tmp_path)
    operators.append(operator)
    operator.wait_healthy(timeout=90)
    for example in ("tenant.yaml", "workflow.yaml"):
        kube_cluster.kubectl("apply", "-n", ns, "-f", str(ROOT / "examples" / example))

    name, wf_name = tenant["metadata"]["name"], workflow["metadata"]["name"]
    with kube_cluster.api_client() as api:
        core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)

        # Ready only once its Deployment is available: a real pod passed its probes.
        serving = tenant_serving(custom, ns, name, operator)
        status = wait_until("the Tenant Ready (a real pod Ready)", serving, timeout=300)["status"]
        pod = wait_until("one Ready runtime pod", lambda: _runtime_pod(core, ns, name), timeout=60)
        assert pod.spec.node_name == real_node.name
        assert re.fullmatch(r"198\.18\.0\.\d+", pod.status.pod_ip), pod.status.pod_ip
        (container,) = pod.status.container_statuses
        assert container.image == images.runtime and container.restart_count == 0
        assert container.container_id.startswith("containerd://")
        mounts = {m.mount_path for m in pod.spec.containers[0].volume_mounts}
        assert "/etc/mozaiks/workflows" in mounts
        (svc,) = core.list_namespaced_service(
            ns, label_selector="app.kubernetes.io/component=runtime"
        ).items
        address = f"{svc.spec.cluster_ip}:{svc.spec.ports[0].port}"
        url = f"http://{address}"
        assert re.fullmatch(r"198\.19\.\d+\.\d+", svc.spec.cluster_ip)

        # A scripted chat through the Service, as a user's browser would hold it through the
        # Ingress: the tenant's host name (the runtime's ws_url names it), connections to the
        # Service.
        proc = subprocess.run(
            [
                *(sys.executable, str(ROOT / "hack" / "chat_smoke.py")),
                *("--url", f"http://{tenant['spec']['ingress']['host']}", "--connect", address),
                *("--app", tenant["spec"]["appId"], "--secret", key, "--workflow", wf_name),
                *("--timeout", "120"),
            ],
            capture_output=True,
            text=True,
            timeout=150,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert re.search(r"^Greeter: \S", proc.stdout, re.M), proc.stdout
        chat = re.search(r"^chat (\S+) ", proc.stdout, re.M)
        assert chat, proc.stdout
        record_property(
            "ran_for_real",
            f"operator-made pod {pod.metadata.name} on {pod.spec.node_name} "
            f"({pod.status.pod_ip}, {container.image}) served chat {chat[1]} via Service {url}",
        )

        # ...its events are in the tenant's own database, written with the tenant's user.
        with pymongo.MongoClient(ferretdb_auth.admin_uri, serverSelectionTimeoutMS=5000) as m:
            kinds = {e["type"] for e in m[status["database"]]["events"].find({"chat_id": chat[1]})}
        assert {"chat.text", "chat.run_complete"} <= kinds, kinds

        # A Workflow update reaches the running pod through its ConfigMap volume: no restart.
        token = mint_token(key, user="alice", app=tenant["spec"]["appId"])

        def catalog() -> dict[str, Any]:
            r = httpx.get(
                f"{url}/api/workflows", headers={"authorization": f"Bearer {token}"}, timeout=5
            )
            assert r.status_code == 200, r.text
            return dict(r.json()[wf_name])

        before = catalog()
        updated = copy.deepcopy(workflow["spec"]["definition"])
        updated["version"] = "2"
        updated["display_name"] = "Greeter, updated"
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, ns, "workflows", wf_name, {"spec": {"definition": updated}}
        )
        after = wait_until(
            "the running pod to serve the updated Workflow",
            lambda: (c := catalog())["display_name"] == "Greeter, updated" and c,
            timeout=150,
        )
        assert before["display_name"] != after["display_name"]
        same = core.read_namespaced_pod(pod.metadata.name, ns).status.container_statuses[0]
        assert same.restart_count == 0 and same.container_id == container.container_id

        # Leave a namespace that can go: the operator removes its finalizers while it runs.
        for plural, obj in (("workflows", wf_name), ("tenants", name)):
            custom.delete_namespaced_custom_object(GROUP, VERSION, ns, plural, obj)
        wait_until(
            "the Tenant and Workflow deleted",
            lambda: (
                not custom.list_namespaced_custom_object(GROUP, VERSION, ns, "tenants")["items"]
                and not custom.list_namespaced_custom_object(GROUP, VERSION, ns, "workflows")[
                    "items"
                ]
            ),
            timeout=120,
        )
