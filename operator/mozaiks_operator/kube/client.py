"""A small typed door to the API server: get, list, server-side apply, merge-patch, delete.

Built on kubernetes_asyncio's ApiClient (auth, TLS, kubeconfig or in-cluster config) with plain
dict bodies, so every kind, ours included, goes through the same few calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from mozaiks_operator import constants as c
from mozaiks_operator.kinds import KINDS

Obj = dict[str, Any]


class KubeError(Exception):
    """An API call failed; `status` is the HTTP status (0: no answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message

    @property
    def conflict(self) -> bool:
        return self.status == 409


def _message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or b"{}").get("message") or exc.reason)
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason)


def resource_path(
    kind: str, namespace: str | None, name: str | None = None, subresource: str | None = None
) -> str:
    api_version, plural = KINDS[kind].api_version, KINDS[kind].plural
    base = f"/api/{api_version}" if api_version == "v1" else f"/apis/{api_version}"
    path = f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


class Kube:
    """One per process, created at start-up (kopf memo) and closed at cleanup."""

    def __init__(self, api: client.ApiClient) -> None:
        self._api = api

    @classmethod
    async def connect(cls, kubeconfig: str | None = None) -> Kube:
        """`kubeconfig` if given; else in-cluster credentials when running in a pod, else
        $KUBECONFIG / ~/.kube/config (as kubernetes_asyncio found them when imported)."""
        cfg = client.Configuration()
        if kubeconfig is not None:
            await config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
            return cls(client.ApiClient(configuration=cfg))
        try:
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        except config.ConfigException:
            await config.load_kube_config(client_configuration=cfg)
        return cls(client.ApiClient(configuration=cfg))

    async def close(self) -> None:
        await self._api.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        query: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Obj:
        try:
            result = await self._api.call_api(
                path,
                method,
                query_params=list((query or {}).items()),
                header_params={"Content-Type": content_type, "Accept": "application/json"},
                body=body,
                response_types_map={200: "object", 201: "object", 202: "object"},
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
            )
        except ApiException as exc:
            raise KubeError(int(exc.status or 0), _message(exc)) from None
        return result if isinstance(result, dict) else {}

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        """The object, or None when it does not exist."""
        try:
            return await self.request("GET", resource_path(kind, namespace, name))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    async def serves(self, api_version: str, plural: str) -> bool:
        """Whether the API server serves `plural` in `api_version` (discovery; e.g. whether an
        optional CRD such as KEDA's is installed)."""
        try:
            found = await self.request("GET", f"/apis/{api_version}")
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return any(r.get("name") == plural for r in found.get("resources") or [])

    async def list(
        self, kind: str, namespace: str | None, *, labels: Mapping[str, str] | None = None
    ) -> list[Obj]:
        query = {"labelSelector": ",".join(f"{k}={v}" for k, v in labels.items())} if labels else {}
        result = await self.request("GET", resource_path(kind, namespace), query=query)
        items: list[Obj] = result.get("items") or []
        return items

    async def apply(self, obj: Obj) -> Obj:
        """Server-side apply under our field manager; `force` takes over fields others changed
        (that is what repairing drift means)."""
        meta = obj["metadata"]
        path = resource_path(obj["kind"], meta.get("namespace"), meta["name"])
        return await self.request(
            "PATCH",
            path,
            body=obj,
            query={"fieldManager": c.FIELD_MANAGER, "force": "true"},
            content_type="application/apply-patch+yaml",
        )

    async def merge_patch(
        self,
        kind: str,
        namespace: str | None,
        name: str,
        patch: Obj,
        *,
        subresource: str | None = None,
    ) -> Obj:
        return await self.request(
            "PATCH",
            resource_path(kind, namespace, name, subresource),
            body=patch,
            content_type="application/merge-patch+json",
        )

    async def create(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        return await self.request(
            "POST", resource_path(obj["kind"], meta.get("namespace")), body=obj
        )

    async def replace(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        path = resource_path(obj["kind"], meta.get("namespace"), meta["name"])
        return await self.request("PUT", path, body=obj)

    async def delete(
        self, kind: str, namespace: str | None, name: str, *, uid: str | None = None
    ) -> bool:
        """Delete (background propagation); with `uid`, only that very object. False if absent."""
        body: Obj = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            await self.request("DELETE", resource_path(kind, namespace, name), body=body)
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True
