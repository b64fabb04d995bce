"""The platform team's story, end to end against the real API server and FerretDB:

`helm install` the chart; run the operator image (built from Dockerfile.operator, run with
podman as user 10001 on a read-only root) exactly as the chart's Deployment would (its env,
with the Secret and field references resolved, logged in with the token of the chart's own
ServiceAccount, probed by the image's HEALTHCHECK on the chart's health path); apply
examples/tenant.yaml and examples/workflow.yaml as they are; see them reconciled; then
`helm uninstall` and find the
CRDs, the Tenant, the Workflow and the tenant's database (user and documents) all still there."""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pymongo
import pytest
import yaml
from kubernetes import client
from tests.harness.images import Container, Images
from tests.harness.kube import KubeCluster
from tests.harness.mongo import FerretDBAuth

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "mozaiks"
GROUP, VERSION = "mozaiks.ai", "v1alpha1"
T = TypeVar("T")


def _wait(what: str, probe: Callable[[], T | None], timeout: float = 120) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _helm(helm_bin: Path, cluster: KubeCluster, home: Path, *args: str) -> str:
    proc = subprocess.run(
        [str(helm_bin), *args],
        env={
            **os.environ,
            "KUBECONFIG": str(cluster.kubeconfig),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_DATA_HOME": str(home / "data"),
        },
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert proc.returncode == 0, f"helm {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _operator_env(
    cluster: KubeCluster, deployment: dict[str, Any], namespace: str
) -> dict[str, str]:
    """The container's env as the kubelet would resolve it (secretKeyRef, fieldRef)."""
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env: dict[str, str] = {}
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        for var in container["env"]:
            if "value" in var:
                env[var["name"]] = str(var["value"])
            elif "secretKeyRef" in var["valueFrom"]:
                ref = var["valueFrom"]["secretKeyRef"]
                secret = core.read_namespaced_secret(ref["name"], namespace)
                env[var["name"]] = base64.b64decode(secret.data[ref["key"]]).decode()
            else:
                assert var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
                env[var["name"]] = namespace
    return env


def _condition(obj: dict[str, Any], kind: str) -> str | None:
    for cond in obj.get("status", {}).get("conditions", []):
        if cond["type"] == kind:
            return str(cond["status"])
    return None


@pytest.fixture
def operator_container() -> Iterator[list[Container]]:
    containers: list[Container] = []
    yield containers
    for container in containers:
        container.stop()


@pytest.mark.timeout(900)
def test_install_operate_uninstall_keeps_crds_and_tenant_data(
    kube_cluster: KubeCluster,
    helm_bin: Path,
    k8s_namespace: str,
    ferretdb_auth: FerretDBAuth,
    tmp_path: Path,
    images: Images,
    operator_container: list[Container],
) -> None:
    ns = k8s_namespace
    release = "story"
    home = tmp_path / "helm"
    with kube_cluster.api_client() as api:
        client.CoreV1Api(api).create_namespaced_secret(
            ns,
            client.V1Secret(
                metadata=client.V1ObjectMeta(name="mozaiks-mongo-admin"),
                string_data={"uri": ferretdb_auth.admin_uri},
            ),
        )
    _helm(
        helm_bin,
        kube_cluster,
        home,
        "install",
        release,
        str(CHART),
        "-n",
        ns,
        "--set-json",
        f'watchNamespaces=["{ns}"]',
        "--wait",
        "--timeout",
        "240s",
    )
    manifest = [
        d
        for d in yaml.safe_load_all(
            _helm(helm_bin, kube_cluster, home, "get", "manifest", release, "-n", ns)
        )
        if d
    ]
    (deployment,) = [d for d in manifest if d["kind"] == "Deployment"]
    sa = deployment["spec"]["template"]["spec"]["serviceAccountName"]

    # The operator, as its pod would run it: the chart's env and its ServiceAccount's token.
    env = _operator_env(kube_cluster, deployment, ns)
    assert env["MOZAIKS_OPERATOR_WATCH_NAMESPACES"] == ns
    port = _free_port()
    assert env["MOZAIKS_OPERATOR_LIVENESS_URL"].endswith(":8080/healthz")
    env["MOZAIKS_OPERATOR_LIVENESS_URL"] = f"http://127.0.0.1:{port}/healthz"  # a shared host
    token = kube_cluster.service_account_token(ns, sa, duration=1800)
    kubeconfig = kube_cluster.write_kubeconfig(tmp_path / "operator.kubeconfig", token, ns)
    kubeconfig.chmod(0o644)  # the container's user 10001 reads it through the bind mount
    operator_container.append(
        Container(
            images.operator,
            env={**env, "KUBECONFIG": "/etc/mozaiks/kubeconfig"},
            volumes=[
                (kubeconfig, "/etc/mozaiks/kubeconfig"),
                (kube_cluster.ca_file, str(kube_cluster.ca_file)),  # the path the config names
            ],
        )
    )
    operator = operator_container[0]
    operator.wait_healthy(timeout=90)
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200

    # The examples, as they are.
    for example in ("tenant.yaml", "workflow.yaml"):
        kube_cluster.kubectl("apply", "-n", ns, "-f", str(ROOT / "examples" / example))
    with kube_cluster.api_client() as api:
        custom = client.CustomObjectsApi(api)
        tenant = yaml.safe_load_all((ROOT / "examples" / "tenant.yaml").read_text())
        (tenant_doc,) = [d for d in tenant if d["kind"] == "Tenant"]
        name = tenant_doc["metadata"]["name"]
        wf_name = yaml.safe_load((ROOT / "examples" / "workflow.yaml").read_text())["metadata"][
            "name"
        ]

        def get(plural: str, obj: str) -> dict[str, Any]:
            return dict(custom.get_namespaced_custom_object(GROUP, VERSION, ns, plural, obj))

        def ready() -> dict[str, Any] | None:
            assert operator.running(), operator.logs()[-4000:]
            t = get("tenants", name)
            # Ready may come first; the Workflow joins the tenant's ConfigMap right after
            serving = _condition(t, "Ready") == "True" and t["status"].get("workflows") == 1
            return t if serving else None

        status = _wait("the example Tenant Ready, serving the Workflow", ready, timeout=180)[
            "status"
        ]
        database = status["database"]
        _wait(
            "the example Workflow Valid and Served",
            lambda: all(
                _condition(get("workflows", wf_name), c) == "True" for c in ("Valid", "Served")
            ),
        )

    # Tenant data: the operator made the database and its user; a runtime would write chats.
    chat_id = f"c_story_{secrets.token_hex(4)}"
    with pymongo.MongoClient(ferretdb_auth.admin_uri, serverSelectionTimeoutMS=5000) as mongo:
        mongo[database]["chats"].insert_one({"_id": chat_id, "user_id": "alice"})

    # Uninstall. helm deletes the Deployment first (its pod gets SIGTERM), then the RBAC: stop
    # our stand-in for the pod first, so it releases its Lease while it still may.
    logs = operator.logs()
    assert operator.stop(timeout=30) == 0, logs[-4000:]
    operator_container.clear()
    _helm(
        helm_bin, kube_cluster, home, "uninstall", release, "-n", ns, "--wait", "--timeout", "120s"
    )

    with kube_cluster.api_client() as api:
        ext = client.ApiextensionsV1Api(api)
        for crd in (f"tenants.{GROUP}", f"workflows.{GROUP}"):
            ext.read_custom_resource_definition(crd)
        rbac = client.RbacAuthorizationV1Api(api)
        assert [r.metadata.name for r in rbac.list_namespaced_role(ns).items] == []
        custom = client.CustomObjectsApi(api)
        kept = custom.get_namespaced_custom_object(GROUP, VERSION, ns, "tenants", name)
        assert kept["spec"]["deletionPolicy"] == "Retain"
        custom.get_namespaced_custom_object(GROUP, VERSION, ns, "workflows", wf_name)
        # the runtime the Tenant owns is still there (it keeps serving, unmanaged)
        assert client.AppsV1Api(api).list_namespaced_deployment(ns).items
    with pymongo.MongoClient(ferretdb_auth.admin_uri, serverSelectionTimeoutMS=5000) as mongo:
        assert mongo[database]["chats"].find_one({"_id": chat_id}) is not None
        users = mongo[database].command("usersInfo")["users"]
        assert users, f"the tenant's database user is gone from {database}"

    # Leave a namespace that can be deleted: no operator will remove its finalizers now.
    with kube_cluster.api_client() as api:
        custom = client.CustomObjectsApi(api)
        for plural, obj in (("tenants", name), ("workflows", wf_name)):
            custom.patch_namespaced_custom_object(
                GROUP, VERSION, ns, plural, obj, {"metadata": {"finalizers": None}}
            )
