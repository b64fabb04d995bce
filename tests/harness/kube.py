"""The test cluster started by `hack/cluster up`, as the `kube_cluster` fixture sees it."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class KubeCluster:
    """Where the cluster's files are and how to talk to it.

    `kubeconfig` logs in as the admin (client certificate, group system:masters); the same
    admin also has a static bearer token (`admin_token`). ServiceAccount tokens come from the
    TokenRequest API (`service_account_token`), signed by the API server's own key.
    """

    state_dir: Path
    kubeconfig: Path
    server: str
    ca_file: Path
    admin_cert: Path
    admin_key: Path
    admin_token: str
    bin_dir: Path
    node_name: str = "kwok-node-0"

    @classmethod
    def from_state(cls, state_dir: Path, bin_dir: Path) -> KubeCluster:
        pki = state_dir / "pki"
        return cls(
            state_dir=state_dir,
            kubeconfig=state_dir / "kubeconfig",
            server=(state_dir / "server").read_text().strip(),
            ca_file=pki / "ca.crt",
            admin_cert=pki / "admin.crt",
            admin_key=pki / "admin.key",
            admin_token=(state_dir / "admin.token").read_text().strip(),
            bin_dir=bin_dir,
        )

    # ------------------------------------------------------------------ clients

    def configuration(self, token: str | None = None) -> Any:
        """A `kubernetes.client.Configuration`: the admin's certificate, or `token`."""
        from kubernetes import client

        cfg = client.Configuration()
        cfg.host = self.server
        cfg.ssl_ca_cert = str(self.ca_file)
        cfg.verify_ssl = True
        if token is None:
            cfg.cert_file = str(self.admin_cert)
            cfg.key_file = str(self.admin_key)
        else:
            cfg.api_key = {"authorization": token}
            cfg.api_key_prefix = {"authorization": "Bearer"}
        return cfg

    def api_client(self, token: str | None = None) -> Any:
        """A synchronous `kubernetes.client.ApiClient` (admin, or the bearer `token`)."""
        from kubernetes import client

        return client.ApiClient(self.configuration(token))

    def write_kubeconfig(self, path: Path, token: str, namespace: str = "default") -> Path:
        """A kubeconfig for `token` (e.g. a ServiceAccount's), for kopf/kubectl/helm."""
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "mozaiks-test",
                    "cluster": {"server": self.server, "certificate-authority": str(self.ca_file)},
                }
            ],
            "users": [{"name": "token", "user": {"token": token}}],
            "contexts": [
                {
                    "name": "token",
                    "context": {"cluster": "mozaiks-test", "user": "token", "namespace": namespace},
                }
            ],
            "current-context": "token",
        }
        path.write_text(yaml.safe_dump(doc))
        path.chmod(0o600)
        return path

    # ------------------------------------------------------------------ helpers

    def service_account_token(
        self,
        namespace: str,
        name: str,
        duration: int = 3600,
        audiences: list[str] | None = None,
    ) -> str:
        """A TokenRequest token for ServiceAccount `namespace/name` (created if missing)."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        with self.api_client() as api:
            core = client.CoreV1Api(api)
            try:
                core.create_namespaced_service_account(
                    namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))
                )
            except ApiException as exc:
                if exc.status != 409:
                    raise
            spec = client.V1TokenRequestSpec(audiences=audiences or [], expiration_seconds=duration)
            resp = core.create_namespaced_service_account_token(
                name, namespace, client.AuthenticationV1TokenRequest(spec=spec)
            )
            return str(resp.status.token)

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        from kubernetes import client

        with self.api_client() as api:
            client.CoreV1Api(api).create_namespace(
                client.V1Namespace(
                    metadata=client.V1ObjectMeta(
                        name=name, labels={"mozaiks.test/owner": "pytest", **(labels or {})}
                    )
                )
            )

    def delete_namespace(self, name: str) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        with self.api_client() as api:
            try:
                client.CoreV1Api(api).delete_namespace(name)
            except ApiException as exc:
                if exc.status != 404:
                    raise

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run the cluster's kubectl as the admin."""
        return subprocess.run(
            [str(self.bin_dir / "kubectl"), *args],
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
            input=input,
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    @property
    def env(self) -> dict[str, str]:
        """Environment for a subprocess that should talk to this cluster as the admin."""
        return {"KUBECONFIG": str(self.kubeconfig), "MOZAIKS_KUBE_STATE": str(self.state_dir)}
