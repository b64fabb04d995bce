"""Workflow handlers: validate, report Valid/Served, and re-reconcile the namespace's Tenants."""

from __future__ import annotations

import time
from typing import Any

import kopf

from mozaiks_operator import constants as c
from mozaiks_operator.config import Settings
from mozaiks_operator.handlers.common import claims_of, context
from mozaiks_operator.kube import events
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.model.workflow import Workflow
from mozaiks_operator.reconcile import Context, reconcile_namespace, traced_pass
from mozaiks_operator.specs.workflows import select_workflows
from mozaiks_operator.status import WorkflowOutcome, workflow_status
from mozaiks_operator.timestamps import format_time

WORKFLOWS = (c.GROUP, c.VERSION, c.WORKFLOW_PLURAL)
# How often a Workflow whose Tenant does not exist looks again.
TENANT_RECHECK_SECONDS = 30


def _wanted(wf: Workflow) -> str:
    if wf.tenant_ref is not None:
        return f"Tenant {wf.tenant_ref!r}"
    labels = ",".join(f"{k}={v}" for k, v in sorted((wf.tenant_selector or {}).items()))
    return f"a Tenant matching {labels}"


async def assess(ctx: Context, wf: Workflow) -> WorkflowOutcome:
    """Validity from the schema; serving Tenants as the tenants' reconcile will see them."""
    served, check = wf.served()
    tenants = [Tenant.from_body(b) for b in await ctx.kube.list(c.TENANT_KIND, wf.namespace)]
    others = [Workflow.from_body(b) for b in await ctx.kube.list(c.WORKFLOW_KIND, wf.namespace)]
    others = [o for o in others if o.name != wf.name] + [wf]
    serving, duplicate_of = [], None
    for tenant in tenants:
        if not wf.targets(tenant.name, tenant.labels):
            continue
        selection = select_workflows(tenant, others)
        if wf.name in selection.duplicates and served is not None:
            duplicate_of = selection.sources.get(served.name)
            continue
        serving.append(tenant.name)
    return WorkflowOutcome(
        generation=wf.generation,
        errors=check.errors,
        served=served.to_status() if served is not None else None,
        tenants=tuple(sorted(serving)),
        wanted=_wanted(wf),
        duplicate_of=duplicate_of,
    )


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    @kopf.on.resume(*WORKFLOWS, id="validate", registry=registry)
    @kopf.on.create(*WORKFLOWS, id="validate", registry=registry)
    @kopf.on.update(*WORKFLOWS, id="validate", registry=registry)
    async def workflow_changed(
        body: kopf.Body, status: kopf.Status, patch: kopf.Patch, retry: int, memo: Any, **kw: Any
    ) -> None:
        ctx, started = context(memo), time.perf_counter()
        wf = Workflow.from_body(body)
        with traced_pass(ctx, c.WORKFLOW_KIND, wf.namespace, wf.name) as span:
            outcome = await assess(ctx, wf)
            before = dict(status)
            after = workflow_status(outcome, before, now=format_time())
            patch.status.update(after)
            _post_events(dict(body), before, after)
            # A retry only looks for the missing Tenant again: when that Tenant appears, its own
            # reconcile picks this Workflow up, so the namespace need not be re-applied each time.
            if retry == 0:
                await reconcile_namespace(ctx, wf.namespace, claims=claims_of(kw))
            served = outcome.served is not None and outcome.duplicate_of is None
            missing = served and not outcome.tenants
            if span is not None:
                span.outcome(_pass_outcome(outcome, missing), failed=bool(outcome.errors))
        problem = c.REASON_SCHEMA_INVALID if outcome.errors else None
        problem = c.REASON_TENANT_NOT_FOUND if missing else problem
        ctx.metrics.reconciled(c.WORKFLOW_KIND, time.perf_counter() - started, problem)
        if missing:
            raise kopf.TemporaryError(f"{outcome.wanted} not found", delay=TENANT_RECHECK_SECONDS)

    @kopf.on.event(*WORKFLOWS, id="deleted", registry=registry)
    async def workflow_gone(type: str, namespace: str | None, memo: Any, **kw: Any) -> None:
        """A deleted Workflow leaves its Tenants' ConfigMaps (no finalizer needed for that)."""
        if type == "DELETED" and namespace:
            await reconcile_namespace(context(memo), namespace, claims=claims_of(kw))


def _pass_outcome(outcome: WorkflowOutcome, waiting: bool) -> str:
    if outcome.errors:
        return c.REASON_SCHEMA_INVALID
    return c.REASON_TENANT_NOT_FOUND if waiting else "ok"


def _post_events(body: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> None:
    old = {x["type"]: x for x in before.get("conditions") or []}
    for cond in after["conditions"]:
        prev = old.get(cond["type"])
        if prev is not None and (prev["status"], prev["reason"], prev.get("message")) == (
            cond["status"],
            cond["reason"],
            cond["message"],
        ):
            continue
        if cond["status"] == "True":
            events.normal(body, cond["reason"], cond["message"])
        else:
            events.warning(body, cond["reason"], cond["message"])
