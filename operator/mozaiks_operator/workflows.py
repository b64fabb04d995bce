"""reconcile_workflow(): is a Workflow valid, which Tenants serve it; report that, re-apply them."""

from __future__ import annotations

import time
from typing import Any

from mozaiks_operator import constants as c
from mozaiks_operator.kube.client import Obj
from mozaiks_operator.kube.status import report_status
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.model.workflow import Workflow
from mozaiks_operator.reconcile import Claims, Context, reconcile_namespace, traced_pass
from mozaiks_operator.specs.workflows import select_workflows
from mozaiks_operator.status import WORKFLOW_NOTICES, WorkflowOutcome, workflow_status
from mozaiks_operator.timestamps import format_time


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


async def reconcile_workflow(
    ctx: Context, body: Obj, *, reapply: bool, claims: Claims
) -> WorkflowOutcome:
    """Assess the Workflow, write its status and Events, then (with `reapply`) reconcile the
    namespace's Tenants so that their ConfigMaps follow. With tracing on, the pass is one span."""
    started = time.perf_counter()
    wf = Workflow.from_body(body)
    with traced_pass(ctx, c.WORKFLOW_KIND, wf.namespace, wf.name) as span:
        outcome = await assess(ctx, wf)
        now = format_time()

        def compute(before: dict[str, Any]) -> dict[str, Any]:
            return workflow_status(outcome, before, now=now)

        await report_status(ctx.kube, c.WORKFLOW_KIND, body, compute, WORKFLOW_NOTICES)
        if reapply:
            await reconcile_namespace(ctx, wf.namespace, claims=claims)
        if span is not None:
            span.outcome(_span_outcome(outcome), failed=bool(outcome.errors))
    # The metric names the missing Tenant first (it is what a retry waits for), the span the
    # invalid definition first (it is what failed this pass).
    problem = c.REASON_SCHEMA_INVALID if outcome.errors else None
    problem = c.REASON_TENANT_NOT_FOUND if outcome.waiting_for_tenant else problem
    ctx.metrics.reconciled(c.WORKFLOW_KIND, time.perf_counter() - started, problem)
    return outcome


def _span_outcome(outcome: WorkflowOutcome) -> str:
    if outcome.errors:
        return c.REASON_SCHEMA_INVALID
    return c.REASON_TENANT_NOT_FOUND if outcome.waiting_for_tenant else "ok"
