"""Tenant handlers: create/update/resume and the drift timer reconcile; delete finalizes."""

from __future__ import annotations

from typing import Any

import kopf

from mozaiks_operator import constants as c
from mozaiks_operator.config import Settings
from mozaiks_operator.errors import OperatorError
from mozaiks_operator.handlers.common import CLAIMS_INDEX, claims_of, context, raise_for
from mozaiks_operator.model.tenant import TenantSpec
from mozaiks_operator.reconcile import claim_of, reconcile_tenant
from mozaiks_operator.teardown import finalize_tenant

TENANTS = (c.GROUP, c.VERSION, c.TENANT_PLURAL)


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    @kopf.index(*TENANTS, id=CLAIMS_INDEX, registry=registry)
    def tenant_claims(body: kopf.Body, **_: Any) -> dict[tuple[str, str], Any]:
        """Who claims which app id and database name, cluster-wide (for the duplicate checks)."""
        try:
            spec = TenantSpec.model_validate(dict(body.get("spec") or {}))
        except ValueError:
            return {}
        claim = claim_of(body)
        return {("app", spec.app_id): claim, ("db", spec.database_name): claim}

    @kopf.on.resume(*TENANTS, id="reconcile", registry=registry)
    @kopf.on.create(*TENANTS, id="reconcile", registry=registry)
    @kopf.on.update(*TENANTS, id="reconcile", registry=registry)
    async def tenant_changed(name: str, namespace: str | None, memo: Any, **kw: Any) -> None:
        ctx, ns, claims = context(memo), namespace or "", claims_of(kw)
        outcome = await ctx.serializer.forced(
            (ns, name), lambda: reconcile_tenant(ctx, ns, name, claims=claims)
        )
        raise_for(outcome)

    # The drift timer re-applies everything (someone edited or deleted a child, a Secret
    # appeared, the database came back).
    @kopf.timer(
        *TENANTS,
        id="drift",
        interval=settings.drift_seconds,
        initial_delay=settings.drift_seconds,  # create/resume already ran the first pass
        registry=registry,
    )
    async def tenant_drift(name: str, namespace: str | None, memo: Any, **kw: Any) -> None:
        ctx, ns, claims = context(memo), namespace or "", claims_of(kw)
        await ctx.serializer.run((ns, name), lambda: reconcile_tenant(ctx, ns, name, claims=claims))

    @kopf.on.delete(*TENANTS, id="finalize", registry=registry)
    async def tenant_deleted(body: kopf.Body, memo: Any, **kw: Any) -> None:
        ctx, claims = context(memo), claims_of(kw)
        meta = body["metadata"]
        try:
            await ctx.serializer.forced(
                (meta["namespace"], meta["name"]),
                lambda: finalize_tenant(ctx, dict(body), claims=claims),
            )
        except OperatorError as err:
            raise kopf.TemporaryError(f"{err.reason}: {err.message}", delay=15) from err
