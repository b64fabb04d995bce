"""Workflow handlers: validate, report Valid/Served, and re-reconcile the namespace's Tenants."""

from __future__ import annotations

from typing import Any

import kopf

from mozaiks_operator import constants as c
from mozaiks_operator.config import Settings
from mozaiks_operator.handlers.common import claims_of, context
from mozaiks_operator.reconcile import reconcile_namespace
from mozaiks_operator.workflows import reconcile_workflow

WORKFLOWS = (c.GROUP, c.VERSION, c.WORKFLOW_PLURAL)
# How often a Workflow whose Tenant does not exist looks again.
TENANT_RECHECK_SECONDS = 30


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    @kopf.on.resume(*WORKFLOWS, id="validate", registry=registry)
    @kopf.on.create(*WORKFLOWS, id="validate", registry=registry)
    @kopf.on.update(*WORKFLOWS, id="validate", registry=registry)
    async def workflow_changed(body: kopf.Body, retry: int, memo: Any, **kw: Any) -> None:
        # A retry only looks for the missing Tenant again: when that Tenant appears, its own
        # reconcile picks this Workflow up, so the namespace need not be re-applied each time.
        outcome = await reconcile_workflow(
            context(memo), dict(body), reapply=retry == 0, claims=claims_of(kw)
        )
        if outcome.waiting_for_tenant:
            raise kopf.TemporaryError(f"{outcome.wanted} not found", delay=TENANT_RECHECK_SECONDS)

    @kopf.on.event(*WORKFLOWS, id="deleted", registry=registry)
    async def workflow_gone(type: str, namespace: str | None, memo: Any, **kw: Any) -> None:
        """A deleted Workflow leaves its Tenants' ConfigMaps (no finalizer needed for that)."""
        if type == "DELETED" and namespace:
            await reconcile_namespace(context(memo), namespace, claims=claims_of(kw))
