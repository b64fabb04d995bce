"""A small, independent REST client for the tests (httpx with the admin's certificate): the tests
observe the cluster without going through the operator's own client code."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from tests.harness.kube import KubeCluster

T = TypeVar("T")
PATHS = {
    "Namespace": ("v1", "namespaces"),
    "Secret": ("v1", "secrets"),
    "ConfigMap": ("v1", "configmaps"),
    "Service": ("v1", "services"),
    "Event": ("v1", "events"),
    "Pod": ("v1", "pods"),
    "Deployment": ("apps/v1", "deployments"),
    "Ingress": ("networking.k8s.io/v1", "ingresses"),
    "NetworkPolicy": ("networking.k8s.io/v1", "networkpolicies"),
    "HorizontalPodAutoscaler": ("autoscaling/v2", "horizontalpodautoscalers"),
    "PodDisruptionBudget": ("policy/v1", "poddisruptionbudgets"),
    "Lease": ("coordination.k8s.io/v1", "leases"),
    "SubjectAccessReview": ("authorization.k8s.io/v1", "subjectaccessreviews"),
    "CustomResourceDefinition": ("apiextensions.k8s.io/v1", "customresourcedefinitions"),
    "ScaledObject": ("keda.sh/v1alpha1", "scaledobjects"),
    "Tenant": ("mozaiks.ai/v1alpha1", "tenants"),
    "Workflow": ("mozaiks.ai/v1alpha1", "workflows"),
}
CHILD_KINDS = [
    "Secret",
    "ConfigMap",
    "Service",
    "Deployment",
    "Ingress",
    "NetworkPolicy",
    "PodDisruptionBudget",
]


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('message', body)}")
        self.status = status
        self.message = str(body.get("message", ""))


def path(kind: str, namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
    version, plural = PATHS[kind]
    base = f"/api/{version}" if version == "v1" else f"/apis/{version}"
    out = f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"
    return out + (f"/{name}" if name else "") + (f"/{sub}" if sub else "")


class Api:
    def __init__(self, cluster: KubeCluster) -> None:
        tls = ssl.create_default_context(cafile=str(cluster.ca_file))
        tls.load_cert_chain(str(cluster.admin_cert), str(cluster.admin_key))
        self._http = httpx.Client(base_url=cluster.server, verify=tls, timeout=30)

    def close(self) -> None:
        self._http.close()

    def _send(
        self,
        method: str,
        url: str,
        body: Any = None,
        ctype: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        resp = self._http.request(
            method, url, json=body, params=params, headers={"Content-Type": ctype}
        )
        data: dict[str, Any] = resp.json() if resp.content else {}
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, data)
        return data

    def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        ns = namespace or obj["metadata"].get("namespace")
        return self._send("POST", path(obj["kind"], ns), obj)

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return self._send("GET", path(kind, namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(
        self, kind: str, namespace: str | None, selector: str | None = None
    ) -> list[dict[str, Any]]:
        params = {"labelSelector": selector} if selector else None
        items: list[dict[str, Any]] = self._send("GET", path(kind, namespace), params=params)[
            "items"
        ]
        return items

    def patch(
        self,
        kind: str,
        namespace: str | None,
        name: str,
        patch: dict[str, Any],
        sub: str | None = None,
    ) -> dict[str, Any]:
        return self._send(
            "PATCH", path(kind, namespace, name, sub), patch, "application/merge-patch+json"
        )

    def delete(self, kind: str, namespace: str | None, name: str) -> None:
        try:
            self._send("DELETE", path(kind, namespace, name))
        except ApiError as exc:
            if exc.status != 404:
                raise

    def condition(self, kind: str, namespace: str, name: str, ctype: str) -> dict[str, Any] | None:
        obj = self.get(kind, namespace, name) or {}
        for cond in (obj.get("status") or {}).get("conditions") or []:
            if cond["type"] == ctype:
                return dict(cond)
        return None

    def events(self, namespace: str, name: str) -> list[dict[str, Any]]:
        return [e for e in self.list("Event", namespace) if e["involvedObject"].get("name") == name]


def wait_for(
    check: Callable[[], T | None],
    *,
    timeout: float = 60,
    what: str = "condition",
    interval: float = 0.3,
) -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
