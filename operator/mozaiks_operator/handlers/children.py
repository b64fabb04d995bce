"""Events on our children (edited, deleted, rolled out) re-reconcile their Tenant.

Our own writes come back as events too; the Context remembers what we applied, so such echoes
cost nothing and a Deployment's status change costs a status refresh, not a full pass.

Which kinds are watched is said once, in kinds.py (not Secrets: that would need list/watch on
every Secret in the cluster; the drift timer repairs them instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from mozaiks_operator import constants as c
from mozaiks_operator.config import Settings
from mozaiks_operator.handlers.common import claims_of, context
from mozaiks_operator.kinds import KINDS
from mozaiks_operator.reconcile import reconcile_tenant, refresh_status

SKIP, STATUS, FULL = "skip", "status", "full"


def triage(
    event: str | None, kind: str, meta: Mapping[str, Any], seen: tuple[str, int | None] | None
) -> str:
    """What a child's event calls for, given what we last applied to it (`seen`).

    SKIP: the echo of our own write, or a status/metadata change of a child whose status we do
    not report (metadata drift waits for the timer). STATUS: a Deployment's status moved.
    FULL: deleted, changed by someone else, or unknown to this process: a full pass.
    """
    if event == "DELETED" or seen is None:
        return FULL
    if seen[0] == meta.get("resourceVersion"):
        return SKIP
    if meta.get("generation") is not None and seen[1] == meta.get("generation"):
        return STATUS if kind == "Deployment" else SKIP
    return FULL


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    async def child_event(type: str | None, body: kopf.Body, memo: Any, **kw: Any) -> None:
        meta = body.get("metadata") or {}
        namespace, tenant = meta.get("namespace"), (meta.get("labels") or {}).get(c.LABEL_TENANT)
        if not namespace or not tenant:
            return
        ctx, claims = context(memo), claims_of(kw)
        kind = str(body.get("kind"))
        seen = ctx.applied.get((kind, namespace, str(meta.get("name"))))
        action = triage(type, kind, meta, seen)
        if action == STATUS:
            await ctx.serializer.run(
                (namespace, tenant), lambda: refresh_status(ctx, namespace, tenant, claims=claims)
            )
        elif action == FULL:
            outcome = await ctx.serializer.run(
                (namespace, tenant), lambda: reconcile_tenant(ctx, namespace, tenant, claims=claims)
            )
            # A child we applied, changed or deleted by someone else, put back by this pass.
            if seen is not None and outcome is not None and outcome.error is None:
                ctx.metrics.drift_repaired.labels(kind).inc()

    for kind in (k for k in KINDS.values() if k.watched):
        kopf.on.event(
            group=kind.group,
            version=kind.version,
            plural=kind.plural,
            id=f"child-{kind.plural}",
            labels={c.LABEL_MANAGED_BY: c.MANAGED_BY},
            registry=registry,
        )(child_event)
