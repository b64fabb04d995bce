"""Apply a tenant's desired children, prune the ones it no longer wants, never touch others'.

Every write is a server-side apply of the full desired object under our field manager, so the
same call creates, updates and repairs drift. Before writing, the live object (if any) must be
ours: a controller owner reference to this Tenant's uid.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from mozaiks_operator import constants as c
from mozaiks_operator.errors import Blocked
from mozaiks_operator.kube.client import Kube, KubeError, Obj
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.meta import is_owned_by

T = TypeVar("T")
CONFLICT_ATTEMPTS = 5


async def retry_conflicts(
    call: Callable[[], Awaitable[T]], *, attempts: int = CONFLICT_ATTEMPTS
) -> T:
    """Run `call`, again on 409 Conflict (someone wrote in between), up to `attempts` times."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except KubeError as exc:
            if not exc.conflict or attempt == attempts:
                raise
            await asyncio.sleep(0.05 * attempt)  # a short, growing pause between tries
    raise AssertionError("unreachable")


def _foreign(tenant: Tenant, live: Obj) -> Blocked:
    kind, name = live.get("kind", "object"), live["metadata"]["name"]
    return Blocked(
        c.REASON_CHILD_CONFLICT,
        f"{kind} {tenant.namespace}/{name} exists and is not owned by this Tenant; "
        "rename or remove it, the operator will not take it over",
        delay=60,
    )


async def apply_child(kube: Kube, tenant: Tenant, obj: Obj) -> Obj:
    """Apply one child; raises Blocked(ChildConflict) if a foreign object holds its name."""
    meta = obj["metadata"]
    live = await kube.get(obj["kind"], meta["namespace"], meta["name"])
    if live is not None and not is_owned_by(live, tenant.uid):
        live.setdefault("kind", obj["kind"])
        raise _foreign(tenant, live)
    return await retry_conflicts(lambda: kube.apply(obj))


async def delete_owned(kube: Kube, tenant: Tenant, kind: str, name: str) -> bool:
    """Delete `kind/name` if, and only if, it is this Tenant's; True when something was deleted."""
    live = await kube.get(kind, tenant.namespace, name)
    if live is None or not is_owned_by(live, tenant.uid):
        return False
    return await kube.delete(kind, tenant.namespace, name, uid=live["metadata"]["uid"])


async def prune(kube: Kube, tenant: Tenant, kinds: Iterable[str], name: str) -> list[str]:
    """Remove our children of `kinds` named `name` that the Tenant no longer wants."""
    removed = []
    for kind in kinds:
        if await delete_owned(kube, tenant, kind, name):
            removed.append(kind)
    return removed
