"""The real node `hack/node` runs beside the cluster: containerd + runc + kubelet + kube-proxy in
a network namespace of its own. Pods there really run, from images loaded into its containerd."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.harness.services import run_hack


@dataclass(frozen=True)
class RealNode:
    name: str  # the Node object, mozaiks-node-0
    host_ip: str  # the host as pods see it (where `expose`d loopback ports answer)
    state_dir: Path

    @property
    def _env(self) -> dict[str, str]:
        return {"MOZAIKS_NODE_DIR": str(self.state_dir)}

    def load(self, *images: str) -> None:
        """Copy images from podman's storage into the node's containerd (no registry here)."""
        run_hack("node", "load", *images, env=self._env, timeout=300)

    def expose(self, *ports: int) -> None:
        """Let pods reach the host's 127.0.0.1:PORT at `host_ip`:PORT."""
        run_hack("node", "expose", *map(str, ports), env=self._env)

    def claim(self, namespace: str) -> None:
        """Send every pod of `namespace` to this node (a nodeSelector and a toleration)."""
        run_hack("node", "claim", namespace, env=self._env)

    def mongo_uri(self, port: int) -> str:
        """How a pod reaches a loopback MongoDB (FerretDB) on `port` of this host."""
        self.expose(port)
        return f"mongodb://{self.host_ip}:{port}/"
