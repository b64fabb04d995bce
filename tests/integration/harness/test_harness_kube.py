"""Proof that `kube_cluster` is a real control plane: kube-apiserver with RBAC and CRDs,
kube-controller-manager (garbage collector, Deployment/ReplicaSet, ServiceAccount controllers),
kube-scheduler and a kwok node on which pods report Running."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tests.harness.kube import KubeCluster
from tests.harness.services import wait_for

pytestmark = pytest.mark.integration


def _status(call: Any, *args: Any, **kwargs: Any) -> int:
    """The HTTP status a client call gets (200 when it succeeds)."""
    try:
        call(*args, **kwargs)
    except ApiException as exc:
        return int(exc.status)
    return 200


def test_server_reports_pinned_version(kube_cluster: KubeCluster) -> None:
    with kube_cluster.api_client() as api:
        info = client.VersionApi(api).get_code()
    assert (info.git_version, info.major, info.minor) == ("v1.34.2", "1", "34")


def test_namespace_and_configmap(kube_cluster: KubeCluster) -> None:
    ns = f"proof-{secrets.token_hex(3)}"
    with kube_cluster.api_client() as api:
        core = client.CoreV1Api(api)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        try:
            core.create_namespaced_config_map(
                ns,
                client.V1ConfigMap(
                    metadata=client.V1ObjectMeta(name="settings"), data={"greeting": "hello"}
                ),
            )
            got = core.read_namespaced_config_map("settings", ns)
            assert got.data == {"greeting": "hello"}
            assert got.metadata.uid and got.metadata.resource_version
        finally:
            core.delete_namespace(ns)
        # the namespace controller (kube-controller-manager) finishes the deletion
        wait_for(lambda: _status(core.read_namespace, ns) == 404, 60, what=f"namespace {ns} gone")


def _crd(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "required": ["size"],
                                    "properties": {"size": {"type": "integer", "minimum": 1}},
                                    "x-kubernetes-validations": [
                                        {"rule": "self.size <= 10", "message": "size at most 10"}
                                    ],
                                },
                                "status": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                },
                            },
                        }
                    },
                }
            ],
        },
    }


def test_crd_established_pruned_and_validated(
    kube_cluster: KubeCluster, k8s_namespace: str
) -> None:
    group = f"proof{secrets.token_hex(3)}.mozaiks.test"
    with kube_cluster.api_client() as api:
        ext = client.ApiextensionsV1Api(api)
        ext.create_custom_resource_definition(_crd(group))
        try:

            def established() -> bool:
                crd = ext.read_custom_resource_definition(f"widgets.{group}")
                conds = {c.type: c.status for c in (crd.status.conditions or [])}
                return conds.get("Established") == "True"

            wait_for(established, 30, what="CRD Established")
            objs = client.CustomObjectsApi(api)

            def create(spec: dict[str, Any]) -> Any:
                body = {
                    "apiVersion": f"{group}/v1",
                    "kind": "Widget",
                    "metadata": {"name": f"w{secrets.token_hex(2)}"},
                    "spec": spec,
                }
                return objs.create_namespaced_custom_object(
                    group, "v1", k8s_namespace, "widgets", body
                )

            # the new resource may take a moment to be served after Established
            created = wait_for(lambda: create({"size": 3, "color": "red"}), 30, what="Widget")
            assert created["spec"] == {"size": 3}  # structural schema pruned the unknown field
            with pytest.raises(ApiException) as invalid:
                create({"size": 11})  # CEL rule
            assert invalid.value.status == 422 and "size at most 10" in invalid.value.body
            with pytest.raises(ApiException) as too_small:
                create({"size": 0})  # OpenAPI minimum
            assert too_small.value.status == 422
        finally:
            ext.delete_custom_resource_definition(f"widgets.{group}")


def test_garbage_collector_deletes_owned_objects(
    kube_cluster: KubeCluster, k8s_namespace: str
) -> None:
    with kube_cluster.api_client() as api:
        core = client.CoreV1Api(api)
        owner = core.create_namespaced_config_map(
            k8s_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
        )
        ref = client.V1OwnerReference(
            api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid
        )
        core.create_namespaced_secret(
            k8s_namespace,
            client.V1Secret(
                metadata=client.V1ObjectMeta(name="owned", owner_references=[ref]),
                string_data={"k": "v"},
            ),
        )
        core.delete_namespaced_config_map("owner", k8s_namespace)  # background propagation
        wait_for(
            lambda: _status(core.read_namespaced_secret, "owned", k8s_namespace) == 404,
            60,
            what="the garbage collector to delete the owned Secret",
        )


def test_service_account_with_narrow_role_gets_403_outside_it(
    kube_cluster: KubeCluster, k8s_namespace: str
) -> None:
    with kube_cluster.api_client() as api:
        rbac = client.RbacAuthorizationV1Api(api)
        rbac.create_namespaced_role(
            k8s_namespace,
            client.V1Role(
                metadata=client.V1ObjectMeta(name="configmap-reader"),
                rules=[
                    client.V1PolicyRule(
                        api_groups=[""], resources=["configmaps"], verbs=["get", "list"]
                    )
                ],
            ),
        )
        rbac.create_namespaced_role_binding(
            k8s_namespace,
            client.V1RoleBinding(
                metadata=client.V1ObjectMeta(name="configmap-reader"),
                role_ref=client.V1RoleRef(
                    api_group="rbac.authorization.k8s.io", kind="Role", name="configmap-reader"
                ),
                subjects=[
                    client.RbacV1Subject(
                        kind="ServiceAccount", name="reader", namespace=k8s_namespace
                    )
                ],
            ),
        )
    token = kube_cluster.service_account_token(k8s_namespace, "reader", duration=600)
    with kube_cluster.api_client(token) as api:
        core = client.CoreV1Api(api)
        who = client.AuthenticationV1Api(api).create_self_subject_review(
            client.V1SelfSubjectReview()
        )
        assert who.status.user_info.username == f"system:serviceaccount:{k8s_namespace}:reader"
        assert _status(core.list_namespaced_config_map, k8s_namespace) == 200
        assert _status(core.list_namespaced_secret, k8s_namespace) == 403
        assert _status(core.list_namespaced_config_map, "default") == 403
        assert _status(core.list_namespace) == 403
        assert (
            _status(
                core.create_namespaced_config_map,
                k8s_namespace,
                client.V1ConfigMap(metadata=client.V1ObjectMeta(name="nope")),
            )
            == 403
        )
    # a forged token is not a ServiceAccount at all
    with kube_cluster.api_client(token[:-4] + "AAAA") as api:
        assert _status(client.CoreV1Api(api).list_namespaced_config_map, k8s_namespace) == 401


def test_deployment_gets_a_running_pod_on_the_kwok_node(
    kube_cluster: KubeCluster, k8s_namespace: str
) -> None:
    labels = {"app": "proof"}
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="proof"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="app", image="mozaiks/none:0")]
                ),
            ),
        ),
    )
    with kube_cluster.api_client() as api:
        apps = client.AppsV1Api(api)
        core = client.CoreV1Api(api)
        apps.create_namespaced_deployment(k8s_namespace, deployment)

        def available() -> bool:
            d = apps.read_namespaced_deployment_status("proof", k8s_namespace)
            return (d.status.available_replicas or 0) == 2

        wait_for(available, 60, what="2 available replicas")
        pods = core.list_namespaced_pod(k8s_namespace, label_selector="app=proof").items
        assert len(pods) == 2
        for pod in pods:
            assert pod.spec.node_name == kube_cluster.node_name
            assert pod.status.phase == "Running"
            ready = {c.type: c.status for c in pod.status.conditions}
            assert ready["Ready"] == "True"
            assert pod.status.pod_ip

        # scaling down goes through the ReplicaSet controller and kwok's pod deletion
        apps.patch_namespaced_deployment_scale("proof", k8s_namespace, {"spec": {"replicas": 1}})
        wait_for(
            lambda: (
                len(core.list_namespaced_pod(k8s_namespace, label_selector="app=proof").items) == 1
            ),
            60,
            what="scale down to 1 pod",
        )
