"""The Helm chart against the real API server: lint, render + server-side dry-run with several
value sets, install, upgrade, schema errors, what the chart's ServiceAccount may not do, and what
`helm uninstall` leaves behind."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tests.harness.kube import KubeCluster

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "mozaiks"
GROUP = "mozaiks.ai"


class Helm:
    """The helm binary, as the admin of the test cluster, with its state in a temp dir."""

    def __init__(self, binary: Path, cluster: KubeCluster, home: Path) -> None:
        self.binary = binary
        self.env = {
            **os.environ,
            "KUBECONFIG": str(cluster.kubeconfig),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_DATA_HOME": str(home / "data"),
        }

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 400
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(self.binary), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
        return proc


@pytest.fixture
def helm(helm_bin: Path, kube_cluster: KubeCluster, tmp_path: Path) -> Helm:
    return Helm(helm_bin, kube_cluster, tmp_path / "helm")


@pytest.fixture
def release(helm: Helm, k8s_namespace: str) -> Iterator[str]:
    """A release name no other test uses; uninstalled afterwards if a test left it."""
    name = f"mz{secrets.token_hex(3)}"
    yield name
    helm("uninstall", name, "-n", k8s_namespace, "--wait", "--timeout", "240s", check=False)


@pytest.fixture(scope="module")
def crds(kube_cluster: KubeCluster) -> None:
    """The CRDs, as a platform team applies them (server-side, idempotent), Established."""
    proc = kube_cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"), check=False
    )
    assert proc.returncode == 0, proc.stderr
    for name in (f"tenants.{GROUP}", f"workflows.{GROUP}"):
        kube_cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")


def _admin_secret(cluster: KubeCluster, namespace: str) -> None:
    with cluster.api_client() as api:
        client.CoreV1Api(api).create_namespaced_secret(
            namespace,
            client.V1Secret(
                metadata=client.V1ObjectMeta(name="mozaiks-mongo-admin"),
                string_data={"uri": "mongodb://admin:pw@mongo.example:27017/?authSource=admin"},
            ),
        )


def _sets(values: dict[str, Any]) -> list[str]:
    """`--set-json key=value` for each top-level key (exact types, no string coercion)."""
    out = []
    for key, value in values.items():
        out += ["--set-json", f"{key}={json.dumps(value)}"]
    return out


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


# --------------------------------------------------------------------------- lint


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"watchNamespaces": ["team-a", "team-b"]},
        {"exampleTenant": {"enabled": True, "appId": "demo", "host": "demo.example.com"}},
    ],
    ids=["defaults", "namespaced", "example-tenant"],
)
def test_helm_lint_is_clean(helm: Helm, values: dict[str, Any]) -> None:
    proc = helm("lint", "--strict", str(CHART), *_sets(values))
    assert "0 chart(s) failed" in proc.stdout


# --------------------------------------------------------------------------- dry-run

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "namespaced": {"watchNamespaces": ["NS", "NS2"]},
    "example-tenant-existing-sa": {
        "exampleTenant": {"enabled": True, "appId": "demo", "host": "demo.example.com"},
        "serviceAccount": {"create": False, "name": "platform-operator"},
    },
    "everything-set": {
        "operator": {
            "image": {
                "repository": "registry.example:5000/mozaiks/operator",
                "digest": "sha256:" + "a" * 64,
            },
            "resources": {
                "requests": {"cpu": "100m", "memory": "200Mi"},
                "limits": {"memory": "1Gi"},
            },
            "logLevel": "DEBUG",
            "leaderElection": False,
            "extraEnv": {"MOZAIKS_OPERATOR_DRIFT_SECONDS": "120"},
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
            "podAnnotations": {"example.com/team": "platform"},
            "imagePullSecrets": [{"name": "regcred"}],
        },
        "database": {
            "adminSecret": {"name": "mongo-admin", "key": "admin-uri"},
            "runtimeUri": "mongodb://mongo.db.svc:27017",
        },
        "runtime": {
            "defaultImage": "registry.example/mozaiks/runtime:1.2.3",
            "ingressNamespace": "traefik",
        },
        "networkPolicy": {"enabled": False},
    },
}


@pytest.mark.parametrize("name", list(VALUE_SETS))
def test_rendered_chart_passes_server_side_dry_run(
    name: str, helm: Helm, kube_cluster: KubeCluster, k8s_namespace: str, crds: None
) -> None:
    values = json.loads(json.dumps(VALUE_SETS[name]).replace('"NS"', json.dumps(k8s_namespace)))
    if "NS2" in json.dumps(values):
        other = f"{k8s_namespace[:50]}-b"
        kube_cluster.create_namespace(other)
        values = json.loads(json.dumps(values).replace('"NS2"', json.dumps(other)))
    rendered = helm("template", "mzdry", str(CHART), "-n", k8s_namespace, *_sets(values)).stdout
    kinds = sorted({d["kind"] for d in _docs(rendered)})
    assert "Deployment" in kinds
    # every namespaced object names its namespace itself (no -n: that would mask a missing one)
    try:
        proc = kube_cluster.kubectl(
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=chart-test",
            "-f",
            "-",
            input=rendered,
            check=False,
        )
    finally:
        if "NS2" in json.dumps(VALUE_SETS[name]):
            kube_cluster.delete_namespace(other)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("(server dry run)") == len(_docs(rendered))


# --------------------------------------------------------------------------- schema errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "operator.healthPort=80"],
            "at '/operator/healthPort': minimum: got 80, want 1,024",
        ),
        (
            ["--set", "watchNamespaces[0]=Team_A"],
            "at '/watchNamespaces/0': 'Team_A' does not match pattern",
        ),
        (["--set", "oprator.logLevel=DEBUG"], "additional properties 'oprator' not allowed"),
        (["--set", "runtime.defaultImage=mozaiks-runtime"], "at '/runtime/defaultImage'"),
        (["--set", "operator.image.pullPolicy=Sometimes"], "at '/operator/image/pullPolicy'"),
        (["--set", "database.adminSecret.key=null"], "missing property 'key'"),
        (["--set", "operator.resources=null"], "at '/operator'"),
    ],
    ids=["port", "namespace", "typo", "image", "pull-policy", "secret-key", "no-resources"],
)
def test_values_that_violate_the_schema_fail_the_install_clearly(
    helm: Helm, k8s_namespace: str, release: str, args: list[str], message: str
) -> None:
    proc = helm("install", release, str(CHART), "-n", k8s_namespace, *args, check=False)
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr, proc.stderr
    assert helm("status", release, "-n", k8s_namespace, check=False).returncode != 0


def test_service_monitor_without_its_crd_fails_with_a_hint(
    helm: Helm, k8s_namespace: str, release: str
) -> None:
    proc = helm(
        "install",
        release,
        str(CHART),
        "-n",
        k8s_namespace,
        "--set",
        "serviceMonitor.enabled=true",
        check=False,
    )
    assert proc.returncode != 0
    assert "needs the prometheus-operator CRDs" in proc.stderr
    assert "serviceMonitor.enabled=false" in proc.stderr


# --------------------------------------------------------------------------- install, upgrade


def _deployment(cluster: KubeCluster, namespace: str, name: str) -> Any:
    with cluster.api_client() as api:
        return client.AppsV1Api(api).read_namespaced_deployment(name, namespace)


def _env(deployment: Any) -> dict[str, Any]:
    (container,) = deployment.spec.template.spec.containers
    return {e.name: e.value if e.value is not None else e.value_from for e in container.env}


def _cluster_role_exists(cluster: KubeCluster, name: str) -> bool:
    with cluster.api_client() as api:
        try:
            client.RbacAuthorizationV1Api(api).read_cluster_role(name)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
    return True


def _role_names(cluster: KubeCluster, namespace: str) -> set[str]:
    with cluster.api_client() as api:
        roles = client.RbacAuthorizationV1Api(api).list_namespaced_role(namespace).items
    return {r.metadata.name for r in roles}


@pytest.mark.timeout(900)
def test_install_then_upgrade(
    helm: Helm, kube_cluster: KubeCluster, k8s_namespace: str, release: str
) -> None:
    ns = k8s_namespace
    _admin_secret(kube_cluster, ns)
    fullname = f"{release}-operator"
    proc = helm(
        "install",
        release,
        str(CHART),
        "-n",
        ns,
        "--wait",
        "--timeout",
        "240s",
        "--set-json",
        f"watchNamespaces={json.dumps([ns])}",
    )
    assert "Next steps" in proc.stdout  # NOTES.txt
    assert "mozaiks-mongo-admin was not found" not in proc.stdout

    dep = _deployment(kube_cluster, ns, fullname)
    assert dep.spec.replicas == 1
    assert dep.spec.strategy.type == "Recreate"
    assert dep.status.available_replicas == 1
    pod = dep.spec.template.spec
    assert pod.service_account_name == fullname
    assert pod.security_context.run_as_non_root is True
    (container,) = pod.containers
    assert container.security_context.read_only_root_filesystem is True
    assert container.security_context.allow_privilege_escalation is False
    assert container.liveness_probe.http_get.path == "/healthz"
    assert container.readiness_probe.http_get.path == "/healthz"
    assert container.resources.limits["memory"] == "512Mi"
    env = _env(dep)
    assert env["MOZAIKS_OPERATOR_WATCH_NAMESPACES"] == ns
    assert env["MOZAIKS_OPERATOR_ADMIN_MONGO_URI"].secret_key_ref.name == "mozaiks-mongo-admin"
    assert env["MOZAIKS_OPERATOR_LOG_LEVEL"] == "INFO"
    # watching one namespace: a Role there, nothing cluster-wide
    assert fullname in _role_names(kube_cluster, ns)
    assert not _cluster_role_exists(kube_cluster, fullname)
    checksum = dep.spec.template.metadata.annotations["checksum/settings"]

    helm(
        "upgrade",
        release,
        str(CHART),
        "-n",
        ns,
        "--wait",
        "--timeout",
        "240s",
        "--set",
        "operator.logLevel=DEBUG",
        "--set",
        "runtime.defaultImage=example/runtime:9.9.9",
    )
    dep = _deployment(kube_cluster, ns, fullname)
    env = _env(dep)
    assert env["MOZAIKS_OPERATOR_LOG_LEVEL"] == "DEBUG"
    assert env["MOZAIKS_OPERATOR_DEFAULT_RUNTIME_IMAGE"] == "example/runtime:9.9.9"
    assert not env["MOZAIKS_OPERATOR_WATCH_NAMESPACES"]  # back to the default: all
    assert dep.spec.template.metadata.annotations["checksum/settings"] != checksum
    assert dep.status.available_replicas == 1
    assert fullname not in _role_names(kube_cluster, ns)  # watching all: a ClusterRole instead
    assert _cluster_role_exists(kube_cluster, fullname)
    status = json.loads(helm("status", release, "-n", ns, "-o", "json").stdout)
    assert status["version"] == 2
    assert status["info"]["status"] == "deployed"

    # a bad upgrade is refused before anything changes
    bad = helm(
        "upgrade", release, str(CHART), "-n", ns, "--set", "operator.logLevel=LOUD", check=False
    )
    assert bad.returncode != 0 and "/operator/logLevel" in bad.stderr
    status = json.loads(helm("status", release, "-n", ns, "-o", "json").stdout)
    assert status["version"] == 2


# --------------------------------------------------------------------------- least privilege


def test_the_operator_account_is_refused_what_it_must_not_touch(
    helm: Helm, kube_cluster: KubeCluster, k8s_namespace: str, release: str
) -> None:
    ns = k8s_namespace
    _admin_secret(kube_cluster, ns)
    helm(
        "install",
        release,
        str(CHART),
        "-n",
        ns,
        "--set-json",
        f"watchNamespaces={json.dumps([ns])}",
    )
    token = kube_cluster.service_account_token(ns, f"{release}-operator", duration=600)
    with kube_cluster.api_client(token) as api:
        core = client.CoreV1Api(api)
        custom = client.CustomObjectsApi(api)
        # what it needs, where it watches
        custom.list_namespaced_custom_object(GROUP, "v1alpha1", ns, "tenants")
        refused = {
            "secrets in kube-system": lambda: core.list_namespaced_secret("kube-system"),
            "tenants in another namespace": lambda: custom.list_namespaced_custom_object(
                GROUP, "v1alpha1", "kube-system", "tenants"
            ),
            "namespaces": lambda: core.create_namespace(
                client.V1Namespace(metadata=client.V1ObjectMeta(name=f"{ns[:50]}-x"))
            ),
            "nodes": lambda: core.list_node(),
            "CRDs": lambda: client.ApiextensionsV1Api(api).delete_custom_resource_definition(
                f"tenants.{GROUP}"
            ),
            "RBAC": lambda: client.RbacAuthorizationV1Api(api).create_cluster_role(
                client.V1ClusterRole(metadata=client.V1ObjectMeta(name=f"{release}-escalate"))
            ),
            "pods/exec": lambda: core.connect_get_namespaced_pod_exec(
                "any", ns, command=["sh"], stdout=True
            ),
        }
        for what, call in refused.items():
            with pytest.raises(ApiException) as info:
                call()
            assert info.value.status == 403, f"{what}: {info.value.status}"


# --------------------------------------------------------------------------- uninstall


def _jwt_key(cluster: KubeCluster, namespace: str) -> str:
    with cluster.api_client() as api:
        secret = client.CoreV1Api(api).read_namespaced_secret("demo-jwt", namespace)
    return str(secret.data["secret"])


@pytest.mark.timeout(600)
def test_uninstall_leaves_crds_tenants_and_workflows(
    helm: Helm, kube_cluster: KubeCluster, k8s_namespace: str, release: str
) -> None:
    ns = k8s_namespace
    _admin_secret(kube_cluster, ns)
    helm(
        "install",
        release,
        str(CHART),
        "-n",
        ns,
        "--set",
        "exampleTenant.enabled=true",
        "--set",
        "exampleTenant.appId=keepme",
    )
    manifest = helm("get", "manifest", release, "-n", ns).stdout
    assert "CustomResourceDefinition" not in manifest  # crds/ is never part of a release
    key = _jwt_key(kube_cluster, ns)
    assert len(key) == 64  # 48 random characters, base64
    # the generated key survives an upgrade (lookup), so issued tokens stay valid
    helm(
        "upgrade",
        release,
        str(CHART),
        "-n",
        ns,
        "--reuse-values",
        "--set",
        "operator.logLevel=DEBUG",
    )
    assert _jwt_key(kube_cluster, ns) == key
    kube_cluster.kubectl("apply", "-n", ns, "-f", str(ROOT / "examples" / "workflow.yaml"))
    helm("uninstall", release, "-n", ns, "--wait", "--timeout", "120s")
    assert _jwt_key(kube_cluster, ns) == key  # kept with its Tenant

    with kube_cluster.api_client() as api:
        assert client.AppsV1Api(api).list_namespaced_deployment(ns).items == []
        ext = client.ApiextensionsV1Api(api)
        for crd in (f"tenants.{GROUP}", f"workflows.{GROUP}"):
            ext.read_custom_resource_definition(crd)
        custom = client.CustomObjectsApi(api)
        tenant = custom.get_namespaced_custom_object(GROUP, "v1alpha1", ns, "tenants", "keepme")
        assert tenant["spec"]["deletionPolicy"] == "Retain"
        workflows = custom.list_namespaced_custom_object(GROUP, "v1alpha1", ns, "workflows")
        assert len(workflows["items"]) == 1


def test_kind_flow_manifests_pass_server_side_dry_run(
    kube_cluster: KubeCluster, k8s_namespace: str
) -> None:
    """hack/kind-up's MongoDB (the one manifest of the kind flow the chart does not render)."""
    proc = kube_cluster.kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "-n",
        k8s_namespace,
        "-f",
        str(ROOT / "hack" / "kind" / "mongo.yaml"),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("(server dry run)") == 2
    cluster_cfg = yaml.safe_load((ROOT / "hack" / "kind" / "cluster.yaml").read_text())
    assert cluster_cfg["nodes"][0]["extraPortMappings"][0]["hostPort"] == "KIND_HTTP_PORT"


def test_packaged_chart_carries_the_crds_and_renders(helm: Helm, tmp_path: Path) -> None:
    import tarfile

    helm("package", str(CHART), "-d", str(tmp_path))
    (archive,) = tmp_path.glob("mozaiks-*.tgz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        for crd in (ROOT / "crds").glob("*.yaml"):
            member = tar.extractfile(f"mozaiks/crds/{crd.name}")
            assert member is not None and member.read() == crd.read_bytes()
    assert "mozaiks/values.schema.json" in names
    assert "mozaiks/templates/NOTES.txt" in names
    rendered = helm("template", "pkg", str(archive), "--include-crds").stdout
    kinds = [d["kind"] for d in _docs(rendered)]
    assert kinds.count("CustomResourceDefinition") == 2 and "Deployment" in kinds
