"""The platform team's story, end to end against the real API server and FerretDB:

`helm install` the chart; run the operator image (built from Dockerfile.operator, run with
podman as user 10001 on a read-only root) exactly as the chart's Deployment would (its env,
with the Secret and field references resolved, logged in with the token of the chart's own
ServiceAccount, probed by the image's HEALTHCHECK on the chart's health path); apply
examples/tenant.yaml and examples/workflow.yaml as they are; see them reconciled; then
`helm uninstall` and find the
CRDs, the Tenant, the Workflow and the tenant's database (user and documents) all still there."""

from __future__ import annotations

import secrets
from pathlib import Path

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
    condition,
    get_cr,
    start_operator,
    tenant_serving,
    wait_until,
)
from tests.harness.images import Container, Images
from tests.harness.kube import KubeCluster
from tests.harness.mongo import FerretDBAuth

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(900)
def test_install_operate_uninstall_keeps_crds_and_tenant_data(
    kube_cluster: KubeCluster,
    helm_bin: Path,
    k8s_namespace: str,
    ferretdb_auth: FerretDBAuth,
    tmp_path: Path,
    images: Images,
    operators: list[Container],
) -> None:
    ns = k8s_namespace
    release = "story"
    helm = Helm(helm_bin, kube_cluster, tmp_path / "helm")
    manifest = helm.install(release, ns, ferretdb_auth.admin_uri)

    # The operator, as its pod would run it: the chart's env and its ServiceAccount's token.
    operator, port = start_operator(kube_cluster, images.operator, manifest, ns, tmp_path)
    operators.append(operator)
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

        serving = tenant_serving(custom, ns, name, operator)
        status = wait_until("the example Tenant Ready, serving the Workflow", serving, 180)[
            "status"
        ]
        database = status["database"]
        wait_until(
            "the example Workflow Valid and Served",
            lambda: all(
                condition(get_cr(custom, ns, "workflows", wf_name), c) == "True"
                for c in ("Valid", "Served")
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
    operators.clear()
    helm("uninstall", release, "-n", ns, "--wait", "--timeout", "120s")

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
