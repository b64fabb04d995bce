"""The chart as a platform team installs it, and its operator run from the operator image the
way the chart's Deployment runs it (the e2e stories share these)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kubernetes import client

from tests.harness.images import Container
from tests.harness.kube import KubeCluster

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "mozaiks"
GROUP, VERSION = "mozaiks.ai", "v1alpha1"
T = TypeVar("T")


def wait_until(what: str, probe: Callable[[], T | None], timeout: float = 120) -> T:
    """Poll `probe` until it returns something truthy; an assertion in it fails at once."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


@dataclass(frozen=True)
class Helm:
    binary: Path
    cluster: KubeCluster
    home: Path  # helm's config, cache and data dirs (never the developer's)

    def __call__(self, *args: str) -> str:
        proc = subprocess.run(
            [str(self.binary), *args],
            env={
                **os.environ,
                "KUBECONFIG": str(self.cluster.kubeconfig),
                "HELM_CONFIG_HOME": str(self.home / "config"),
                "HELM_CACHE_HOME": str(self.home / "cache"),
                "HELM_DATA_HOME": str(self.home / "data"),
            },
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
        assert proc.returncode == 0, f"helm {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def install(self, release: str, namespace: str, admin_uri: str, *values: str) -> list[Any]:
        """The admin MongoDB Secret, then `helm install --wait` watching `namespace` only
        (`values`: more `--set` / `--set-json` arguments); the rendered manifest."""
        with self.cluster.api_client() as api:
            client.CoreV1Api(api).create_namespaced_secret(
                namespace,
                client.V1Secret(
                    metadata=client.V1ObjectMeta(name="mozaiks-mongo-admin"),
                    string_data={"uri": admin_uri},
                ),
            )
        self(
            "install",
            release,
            str(CHART),
            "-n",
            namespace,
            "--set-json",
            f'watchNamespaces=["{namespace}"]',
            *values,
            "--wait",
            "--timeout",
            "240s",
        )
        manifest = self("get", "manifest", release, "-n", namespace)
        return [d for d in yaml.safe_load_all(manifest) if d]


def condition(obj: dict[str, Any], kind: str) -> str | None:
    for cond in obj.get("status", {}).get("conditions", []):
        if cond["type"] == kind:
            return str(cond["status"])
    return None


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


def start_operator(
    cluster: KubeCluster, image: str, manifest: list[Any], namespace: str, work: Path
) -> tuple[Container, int]:
    """The operator image as the chart's pod would run it: the Deployment's env (references
    resolved) and its ServiceAccount's token; the container and its liveness port. A shared
    host network, so the liveness and metrics ports are free ones instead of the chart's."""
    (deployment,) = [d for d in manifest if d["kind"] == "Deployment"]
    sa = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    env = _operator_env(cluster, deployment, namespace)
    assert env["MOZAIKS_OPERATOR_WATCH_NAMESPACES"] == namespace
    assert env["MOZAIKS_OPERATOR_LIVENESS_URL"].endswith(":8080/healthz")
    port = _free_port()
    env["MOZAIKS_OPERATOR_LIVENESS_URL"] = f"http://127.0.0.1:{port}/healthz"
    assert env["MOZAIKS_OPERATOR_METRICS_PORT"] == "9090"
    env["MOZAIKS_OPERATOR_METRICS_PORT"] = str(_free_port())  # the host's 9090 may be taken
    token = cluster.service_account_token(namespace, sa, duration=1800)
    kubeconfig = cluster.write_kubeconfig(work / "operator.kubeconfig", token, namespace)
    kubeconfig.chmod(0o644)  # the container's user 10001 reads it through the bind mount
    container = Container(
        image,
        env={**env, "KUBECONFIG": "/etc/mozaiks/kubeconfig"},
        volumes=[
            (kubeconfig, "/etc/mozaiks/kubeconfig"),
            (cluster.ca_file, str(cluster.ca_file)),  # the path the kubeconfig names
        ],
    )
    return container, port


def get_cr(custom: client.CustomObjectsApi, ns: str, plural: str, name: str) -> dict[str, Any]:
    return dict(custom.get_namespaced_custom_object(GROUP, VERSION, ns, plural, name))


def tenant_serving(
    custom: client.CustomObjectsApi, ns: str, name: str, operator: Container, workflows: int = 1
) -> Callable[[], dict[str, Any] | None]:
    """A probe for `wait_until`: the Tenant once Ready and serving `workflows` Workflows (Ready
    may come first; a Workflow joins the tenant's ConfigMap right after). Fails at once when
    the operator container has exited."""

    def probe() -> dict[str, Any] | None:
        assert operator.running(), operator.logs()[-4000:]
        t = get_cr(custom, ns, "tenants", name)
        serving = condition(t, "Ready") == "True" and t["status"].get("workflows") == workflows
        return t if serving else None

    return probe
