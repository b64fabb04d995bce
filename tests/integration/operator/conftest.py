"""The operator under test: the chart's RBAC and ServiceAccount, applied with `helm template`,
and `python -m mozaiks_operator` (what `mozaiks operator` runs) logged in with that account's
token. Each test gets its own namespace, its own operator process and its own Lease."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.harness.kube import KubeCluster
from tests.harness.mongo import FerretDBAuth
from tests.integration.operator.kapi import Api, wait_for

ROOT = Path(__file__).resolve().parents[3]
# A release name of our own, so a chart install test in the same cluster never collides.
RELEASE, SYSTEM_NS, SA = "mzop", "mozaiks-system", "mzop-operator"
JWT_SECRET = "integration-secret-0123456789abcdef"
DEFINITION: dict[str, Any] = {
    "name": "greeter",
    "agents": [{"name": "Greeter", "system_message": "Greet the user."}],
}


@pytest.fixture(scope="session")
def operator_rbac(kube_cluster: KubeCluster, helm_bin: Path) -> str:
    """CRDs plus exactly the chart's RBAC and ServiceAccount; returns the operator's token."""
    kube_cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    kube_cluster.kubectl(
        "wait",
        "--for",
        "condition=established",
        "--timeout=60s",
        "crd/tenants.mozaiks.ai",
        "crd/workflows.mozaiks.ai",
    )
    if kube_cluster.kubectl("get", "ns", SYSTEM_NS, check=False).returncode != 0:
        kube_cluster.kubectl("create", "ns", SYSTEM_NS)
    rendered = subprocess.run(
        [
            str(helm_bin),
            "template",
            RELEASE,
            str(ROOT / "charts" / "mozaiks"),
            "--namespace",
            SYSTEM_NS,
            "--show-only",
            "templates/rbac.yaml",
            "--show-only",
            "templates/serviceaccount.yaml",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    kube_cluster.kubectl("apply", "-f", "-", input=rendered)
    return kube_cluster.service_account_token(SYSTEM_NS, SA, duration=4 * 3600)


@pytest.fixture(scope="session")
def operator_kubeconfig(
    kube_cluster: KubeCluster, operator_rbac: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("operator") / "kubeconfig"
    return kube_cluster.write_kubeconfig(path, operator_rbac)


@pytest.fixture
def api(kube_cluster: KubeCluster) -> Iterator[Api]:
    client = Api(kube_cluster)
    yield client
    client.close()


@dataclass
class OperatorProcess:
    """One `python -m mozaiks_operator` process and its log."""

    proc: subprocess.Popen[bytes]
    log: Path
    identity: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return int(self.proc.returncode)


@dataclass
class Operators:
    """Starts operators for one test and stops them all at its end."""

    kubeconfig: Path
    admin_uri: str
    workdir: Path
    lease: str
    running: list[OperatorProcess] = field(default_factory=list)
    namespaces: set[str] = field(default_factory=set)

    def start(self, *namespaces: str, **env: str) -> OperatorProcess:
        self.namespaces.update(namespaces)
        identity = f"op-{len(self.running)}-{secrets.token_hex(2)}"
        log = self.workdir / f"{identity}.log"
        settings = {
            "MOZAIKS_OPERATOR_ADMIN_MONGO_URI": self.admin_uri,
            "MOZAIKS_OPERATOR_NAMESPACE": SYSTEM_NS,
            "MOZAIKS_OPERATOR_LEASE_NAME": self.lease,
            "MOZAIKS_OPERATOR_IDENTITY": identity,
            "MOZAIKS_OPERATOR_DRIFT_SECONDS": "3",
            "MOZAIKS_OPERATOR_LEASE_DURATION_SECONDS": "4",
            "MOZAIKS_OPERATOR_LEASE_RENEW_SECONDS": "1",
            "MOZAIKS_OPERATOR_DEFAULT_RUNTIME_IMAGE": "mozaiks-runtime:test",
            **env,
        }
        base = {k: v for k, v in os.environ.items() if not k.startswith("MOZAIKS_OPERATOR_")}
        args = [sys.executable, "-m", "mozaiks_operator"]
        for ns in namespaces:
            args += ["--namespace", ns]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**base, "KUBECONFIG": str(self.kubeconfig), **settings},
            )
        op = OperatorProcess(proc, log, identity)
        self.running.append(op)
        return op

    def stop_all(self, api: Api) -> None:
        """Stop every operator, then drop the finalizers they left, so that the test's namespace
        can be deleted without an operator (the databases stay, as under Retain)."""
        for op in self.running:
            op.stop()
        for ns in self.namespaces:
            for item in api.list("Tenant", ns):
                name = item["metadata"]["name"]
                api.patch("Tenant", ns, name, {"metadata": {"finalizers": None}})


@pytest.fixture
def operators(
    operator_kubeconfig: Path, ferretdb_auth: FerretDBAuth, tmp_path: Path, api: Api
) -> Iterator[Operators]:
    ops = Operators(
        operator_kubeconfig, ferretdb_auth.admin_uri, tmp_path, lease=f"mz-{secrets.token_hex(4)}"
    )
    yield ops
    ops.stop_all(api)


# ------------------------------------------------------------------ manifests


def jwt_secret(namespace: str, name: str = "jwt") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {"secret": JWT_SECRET},
    }


def tenant(
    namespace: str, name: str = "acme", app_id: str | None = None, **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appId": app_id or f"{name}-{namespace[-6:]}",  # app ids are cluster-wide unique
        "auth": {"secretRef": {"name": "jwt", "key": "secret"}},
    }
    body.update(spec)
    return {
        "apiVersion": "mozaiks.ai/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def workflow(
    namespace: str,
    name: str = "greeter",
    tenant_name: str | None = "acme",
    definition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"definition": definition or DEFINITION}
    if tenant_name is not None:
        spec["tenantRef"] = {"name": tenant_name}
    return {
        "apiVersion": "mozaiks.ai/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def wait_ready(api: Api, namespace: str, name: str = "acme", timeout: float = 90) -> None:
    def ready() -> bool:
        cond = api.condition("Tenant", namespace, name, "Ready")
        return cond is not None and cond["status"] == "True"

    wait_for(ready, timeout=timeout, what=f"Tenant {namespace}/{name} Ready")


def wait_applied(api: Api, namespace: str, name: str = "acme", timeout: float = 90) -> None:
    """The operator acted on the current spec without a problem (every child applied).

    Tests whose point is not pod readiness wait for this rather than Ready: Ready also needs
    the kwok node's pods Ready, which a loaded machine can delay (the node's heartbeat lapses).
    """

    def applied() -> bool:
        obj = api.get("Tenant", namespace, name) or {}
        status = obj.get("status") or {}
        degraded = api.condition("Tenant", namespace, name, "Degraded") or {}
        current = status.get("observedGeneration") == obj["metadata"].get("generation")
        return current and degraded.get("status") == "False"

    wait_for(applied, timeout=timeout, what=f"Tenant {namespace}/{name} applied")


def wait_condition(
    api: Api, kind: str, namespace: str, name: str, ctype: str, reason: str, timeout: float = 60
) -> dict[str, Any]:
    def matches() -> dict[str, Any] | None:
        cond = api.condition(kind, namespace, name, ctype)
        return cond if cond is not None and cond.get("reason") == reason else None

    return wait_for(matches, timeout=timeout, what=f"{kind} {name} {ctype} reason {reason}")


Start = Callable[..., OperatorProcess]
