"""/api/workflows: the public catalog the widget loads without a token, and eligibility."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mozaiks_runtime.api.deps import IdentityDep, RegistryDep, ServiceDep, SettingsDep, authenticate
from mozaiks_runtime.api.schemas import Eligibility
from mozaiks_runtime.auth.bearer import bearer_from_header
from mozaiks_runtime.errors import BudgetExceeded
from mozaiks_runtime.usage.budgets import BudgetGuard

router = APIRouter(prefix="/api/workflows", tags=["workflows"])


@router.get("")
async def catalog(
    request: Request, settings: SettingsDep, registry: RegistryDep
) -> dict[str, dict[str, Any]]:
    """Every workflow this tenant serves, keyed by name: public descriptions only (no system
    prompts, tool internals or secrets). Needs a token only when the tenant turns
    `MOZAIKS_PUBLIC_CATALOG` off."""
    if not settings.public_catalog:
        token = bearer_from_header(request.headers.get("authorization"))
        await authenticate(settings, request.app.state.verifier, token, dev_user=None)
    return registry.public_catalog()


@router.get("/{workflow_name}/eligible")
async def eligible(
    workflow_name: str, identity: IdentityDep, service: ServiceDep, request: Request
) -> Eligibility:
    """Whether the caller may start this workflow now (it exists, budgets have tokens left)."""
    service.workflow(workflow_name)  # WorkflowNotFound (404) when not served
    budget: BudgetGuard = request.app.state.budget
    try:
        await budget.check(app_id=identity.app_id, user_id=identity.user_id)
    except BudgetExceeded as exc:
        return Eligibility(workflow_name=workflow_name, eligible=False, reason=exc.message)
    return Eligibility(workflow_name=workflow_name, eligible=True)
