"""The operator process: a restart in the middle of reconciling converges; two replicas never
act at once (a Lease); 409 conflicts on status writes are retried."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from mozaiks_operator.kube.client import Kube, KubeError
from mozaiks_operator.kube.status import write_status
from tests.integration.operator.conftest import (
    SYSTEM_NS,
    Operators,
    jwt_secret,
    tenant,
    wait_applied,
)
from tests.integration.operator.kapi import Api, wait_for

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def probe(port: int) -> dict[str, Any] | None:
    try:
        resp = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.HTTPError:
        return None
    return dict(resp.json()) if resp.status_code == 200 else None


def test_restart_mid_reconcile_converges(
    api: Api, operators: Operators, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    names = [f"t{i}" for i in range(6)]
    for name in names:
        api.create(tenant(ns, name))
    first = operators.start(ns)
    # Kill it hard as soon as it has started applying children (no clean shutdown, no release).
    wait_for(
        lambda: api.list("Deployment", ns) or api.list("ConfigMap", ns, "mozaiks.ai/tenant"),
        timeout=60,
        interval=0.05,
        what="first children",
    )
    first.stop(signal.SIGKILL)
    operators.start(ns)  # waits out the dead leader's Lease, then resumes every Tenant
    for name in names:
        wait_applied(api, ns, name)
        assert (api.get("Tenant", ns, name) or {})["status"]["observedGeneration"] == 1


def test_two_replicas_never_act_at_once(api: Api, operators: Operators, k8s_namespace: str) -> None:
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    ports = [free_port(), free_port()]
    leader = operators.start(
        ns, MOZAIKS_OPERATOR_LIVENESS_URL=f"http://127.0.0.1:{ports[0]}/healthz"
    )
    wait_for(lambda: api.get("Lease", SYSTEM_NS, operators.lease), what="Lease")
    standby = operators.start(
        ns, MOZAIKS_OPERATOR_LIVENESS_URL=f"http://127.0.0.1:{ports[1]}/healthz"
    )
    # Both answer their liveness probe: the leader through kopf, the standby while it waits.
    assert wait_for(lambda: probe(ports[1]), what="standby probe") == {"standby": standby.identity}
    assert wait_for(lambda: probe(ports[0]), what="leader probe") == {"leader": leader.identity}
    api.create(tenant(ns))
    wait_applied(api, ns)
    lease = api.get("Lease", SYSTEM_NS, operators.lease) or {}
    assert lease["spec"]["holderIdentity"] == leader.identity
    # The standby says it waits (its log can lag on a loaded machine), and never acquires.
    wait_for(lambda: "held by another replica" in standby.output(), what="standby waiting")
    assert "acquired" not in standby.output()

    # The leader stops cleanly and releases the Lease; the standby takes over and acts.
    assert leader.stop() == 0
    wait_for(
        lambda: (
            (api.get("Lease", SYSTEM_NS, operators.lease) or {})["spec"].get("holderIdentity")
            == standby.identity
        ),
        what="standby holds the Lease",
    )
    api.patch("Tenant", ns, "acme", {"spec": {"runtime": {"replicas": 2}}})
    wait_for(
        lambda: (api.get("Deployment", ns, "acme-runtime") or {})["spec"]["replicas"] == 2,
        what="the new leader reconciles",
    )
    assert wait_for(lambda: probe(ports[1]), what="new leader probe") == {
        "leader": standby.identity
    }


async def test_status_conflicts_are_retried(
    api: Api, operator_kubeconfig: Path, k8s_namespace: str
) -> None:
    """A status write computed from a stale read gets 409 and is recomputed on a fresh read."""
    ns = k8s_namespace
    api.create(jwt_secret(ns))
    api.create(tenant(ns))
    kube = await Kube.connect(str(operator_kubeconfig))  # as the operator's account
    try:
        stale = await kube.get("Tenant", ns, "acme")
        assert stale is not None
        api.patch("Tenant", ns, "acme", {"metadata": {"labels": {"touched": "yes"}}})
        seen: list[str] = []

        def compute(obj: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
            seen.append(obj["metadata"]["resourceVersion"])
            return {**before, "workflows": len(seen)}

        result = await write_status(kube, "Tenant", ns, "acme", compute, body=stale)
        assert result is not None
        assert len(seen) == 2 and seen[0] != seen[1]  # 409 on the stale read, then retried
        status = (api.get("Tenant", ns, "acme") or {})["status"]
        assert status["workflows"] == 2

        # Without the retry the same stale write is a plain 409 Conflict.
        again = await kube.get("Tenant", ns, "acme")
        assert again is not None
        api.patch("Tenant", ns, "acme", {"metadata": {"labels": {"touched": "twice"}}})
        with pytest.raises(KubeError) as info:
            await kube.merge_patch(
                "Tenant",
                ns,
                "acme",
                {
                    "metadata": {"resourceVersion": again["metadata"]["resourceVersion"]},
                    "status": {"workflows": 9},
                },
                subresource="status",
            )
        assert info.value.conflict
    finally:
        await kube.close()
    await asyncio.sleep(0)
