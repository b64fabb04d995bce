"""/api/workflows: the public catalog the widget loads without a token, and eligibility."""

from __future__ import annotations

from fastapi import APIRouter, Request

from mozaiks_runtime.api.catalog import visible_catalog
from mozaiks_runtime.api.deps import IdentityDep, RegistryDep, RuntimeDep, ServiceDep
from mozaiks_runtime.api.schemas import Eligibility
from mozaiks_runtime.auth.authenticate import authenticate
from mozaiks_runtime.auth.bearer import bearer_from_header
from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.chats.service import ChatService
from mozaiks_runtime.errors import BudgetExceeded, NotEntitled
from mozaiks_runtime.usage.budgets import BudgetGuard
from mozaiks_runtime.wire.catalog import WorkflowEntry

router = APIRouter(prefix="/api/workflows", tags=["workflows"])


@router.get("")
async def catalog(
    request: Request, runtime: RuntimeDep, registry: RegistryDep
) -> dict[str, WorkflowEntry]:
    """The workflows this tenant serves that the caller may run, keyed by name: public
    descriptions only (no system prompts, tool internals or secrets). Without a token: only
    workflows open to everyone (none with `access` rules); with one (which must then be valid):
    also those its claims entitle it to. A token is required when the tenant turns
    `MOZAIKS_PUBLIC_CATALOG` off."""
    token = bearer_from_header(request.headers.get("authorization"))
    identity = None
    if token or not runtime.settings.public_catalog:
        identity = await authenticate(runtime.settings, runtime.verifier, token, dev_user=None)
    return visible_catalog(registry, identity)


async def eligibility(
    identity: Identity, workflow_name: str, service: ChatService, budget: BudgetGuard
) -> Eligibility:
    """Whether `identity` may start the workflow now, and if not, why (a stable code)."""
    service.workflow(workflow_name)  # WorkflowNotFound (404) when not served
    try:
        await service.check_access(identity, workflow_name)
        await budget.check(app_id=identity.app_id, user_id=identity.user_id)
    except (NotEntitled, BudgetExceeded) as exc:
        return Eligibility(
            workflow_name=workflow_name, eligible=False, reason=exc.error_code, message=exc.message
        )
    return Eligibility(workflow_name=workflow_name, eligible=True)


@router.get("/{workflow_name}/eligible")
async def eligible(
    workflow_name: str, identity: IdentityDep, service: ServiceDep, runtime: RuntimeDep
) -> Eligibility:
    """Whether the caller may start this workflow now: it exists (else 404), the token's claims
    satisfy its `access` rules (else `reason: NOT_ENTITLED`) and the budgets have tokens left
    (else `reason: BUDGET_EXCEEDED`)."""
    return await eligibility(identity, workflow_name, service, runtime.budget)
