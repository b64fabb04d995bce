"""Leader election with a coordination.k8s.io Lease, so two operator replicas never act at once.

kopf's own peering pauses operators when it sees peers, but it needs its own cluster-wide CRDs
and treats equal-priority peers as a warning; a Lease is the Kubernetes convention (the same
object kube-controller-manager uses) and needs only get/create/update on one Lease.

The leader renews every `renew` seconds; another replica takes over only after `duration`
seconds without a renewal. A leader that fails to renew within `duration` stops acting.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from mozaiks_operator.kube.client import Kube, KubeError, Obj
from mozaiks_operator.timestamps import format_time, now, parse_time

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another replica holds the Lease now, or we could not renew it in time."""


class LeaderElector:
    def __init__(
        self,
        kube: Kube,
        *,
        namespace: str,
        name: str,
        identity: str,
        duration: float,
        renew: float,
    ) -> None:
        self._kube = kube
        self._namespace = namespace
        self._name = name
        self.identity = identity
        self._duration = duration
        self._renew = renew

    def _spec(self, acquired: str, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, int(self._duration)),
            "acquireTime": acquired,
            "renewTime": format_time(micro=True),
            "leaseTransitions": transitions,
        }

    async def try_acquire(self) -> bool:
        """One attempt: True if we hold the Lease afterwards. 409 means someone else won."""
        live = await self._kube.get("Lease", self._namespace, self._name)
        try:
            if live is None:
                await self._kube.create(
                    {
                        "apiVersion": "coordination.k8s.io/v1",
                        "kind": "Lease",
                        "metadata": {"name": self._name, "namespace": self._namespace},
                        "spec": self._spec(format_time(micro=True), 0),
                    }
                )
                return True
            spec = live.get("spec") or {}
            holder = spec.get("holderIdentity")
            if holder and holder != self.identity and not self._expired(spec):
                return False
            transitions = int(spec.get("leaseTransitions") or 0)
            acquired = spec.get("acquireTime") or format_time(micro=True)
            if holder != self.identity:
                transitions, acquired = transitions + 1, format_time(micro=True)
            await self._replace(live, self._spec(acquired, transitions))
            return True
        except KubeError as exc:
            if exc.conflict:
                return False  # raced with another replica; it won this round
            raise

    def _expired(self, spec: dict[str, Any]) -> bool:
        renewed = parse_time(spec.get("renewTime"))
        duration = float(spec.get("leaseDurationSeconds") or self._duration)
        return renewed is None or now() - renewed > timedelta(seconds=duration)

    async def _replace(self, live: Obj, spec: dict[str, Any]) -> None:
        await self._kube.replace(
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {
                    "name": self._name,
                    "namespace": self._namespace,
                    "resourceVersion": live["metadata"]["resourceVersion"],
                },
                "spec": spec,
            }
        )

    async def acquire(self) -> None:
        """Wait until we are the leader."""
        while not await self.try_acquire():
            log.info("lease %s/%s held by another replica; waiting", self._namespace, self._name)
            await asyncio.sleep(self._renew)
        log.info("lease %s/%s acquired by %s", self._namespace, self._name, self.identity)

    async def hold(self) -> None:
        """Renew until the Lease is lost; then raise LeaseLost (never returns normally)."""
        last = now()
        while True:
            await asyncio.sleep(self._renew)
            try:
                if await self.try_acquire():
                    last = now()
                    continue
            except KubeError as exc:
                log.warning("lease renewal failed: %s", exc)
            if now() - last > timedelta(seconds=self._duration):
                raise LeaseLost(f"lease {self._namespace}/{self._name} not renewed in time")
            live = await self._kube.get("Lease", self._namespace, self._name)
            holder = ((live or {}).get("spec") or {}).get("holderIdentity")
            if holder not in (None, self.identity):
                raise LeaseLost(f"lease {self._namespace}/{self._name} now held by {holder}")

    async def release(self) -> None:
        """Give the Lease up on a clean shutdown, so a successor need not wait for expiry.
        Best effort: during `helm uninstall` our RBAC may already be gone (403), and the
        Lease then simply expires."""
        try:
            live = await self._kube.get("Lease", self._namespace, self._name)
            if live is None or (live.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            spec = dict(live["spec"])
            spec["holderIdentity"] = None
            spec["renewTime"] = None
            await self._replace(live, {k: v for k, v in spec.items() if v is not None})
        except KubeError as exc:
            log.warning("lease release failed: %s", exc)
