"""/api/broker: the app's backend (the session broker) creates sessions on behalf of its users.

It authenticates with its own service token (auth/broker.py), never a user's; the runtime checks
the user's entitlements on the claims the broker passes, creates or resumes the chat, and answers
with a short-lived user token bound to that chat, which the broker hands to the browser.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mozaiks_runtime.api.deps import RuntimeDep, ServiceDep, SettingsDep
from mozaiks_runtime.api.links import ws_url
from mozaiks_runtime.api.routes.workflows import eligibility
from mozaiks_runtime.api.schemas import (
    BrokerEligibilityIn,
    BrokerSession,
    BrokerSessionIn,
    Eligibility,
)
from mozaiks_runtime.auth.broker import (
    BrokerIdentity,
    check_user_claims,
    mint_session_token,
    verify_broker_token,
)
from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.auth.verify import scopes_of
from mozaiks_runtime.config import Settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/broker", tags=["broker"])

_BROKER_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="BrokerToken",
    bearerFormat="JWT",
    description="A service token of the app's backend: HS256 with MOZAIKS_BROKER_JWT_SECRET, "
    "`aud` mozaiks:broker, scope MOZAIKS_BROKER_SCOPE, this tenant's `app_id`.",
)


async def _broker(
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BROKER_BEARER)],
) -> BrokerIdentity:
    return verify_broker_token(settings, bearer.credentials if bearer is not None else None)


BrokerDep = Annotated[BrokerIdentity, Depends(_broker)]


def _user(
    settings: Settings, broker: BrokerIdentity, user_id: str, claims: dict[str, Any]
) -> Identity:
    """The user the broker acts for, with the claims it vouches for (checked first)."""
    checked = check_user_claims(settings, claims)
    return Identity(
        user_id=user_id,
        app_id=broker.app_id,
        scopes=scopes_of(checked),
        admin_scope=settings.admin_scope,
        claims=checked,
    )


@router.post("/eligible")
async def broker_eligible(
    body: BrokerEligibilityIn,
    broker: BrokerDep,
    service: ServiceDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
) -> Eligibility:
    """`GET /api/workflows/{name}/eligible` for a user, asked by the broker (e.g. to gate a
    button before any session exists): `reason` is `NOT_ENTITLED` or `BUDGET_EXCEEDED`."""
    user = _user(settings, broker, body.user_id, body.claims)
    return await eligibility(user, body.workflow_name, service, runtime.budget)


@router.post("/sessions", status_code=status.HTTP_201_CREATED)
async def create_broker_session(
    body: BrokerSessionIn,
    broker: BrokerDep,
    service: ServiceDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> BrokerSession:
    """Create a chat for `user_id` (or resume theirs when `chat_id` names one: 200) and mint
    a user token for that chat only. The user's `claims` must satisfy the workflow's `access`
    rules (403 `NOT_ENTITLED`); budgets and rate limits count for the user."""
    user = _user(settings, broker, body.user_id, body.claims)
    chat, existed = await service.open_chat(
        user, workflow_name=body.workflow_name, chat_id=body.chat_id, context=body.context
    )
    token, expires_at = mint_session_token(
        settings, user_id=chat.user_id, chat_id=chat.chat_id, claims=user.claims
    )
    log.info("broker %r opened chat %s (created: %s)", broker.service, chat.chat_id, not existed)
    if existed:
        response.status_code = status.HTTP_200_OK
    return BrokerSession(
        chat_id=chat.chat_id,
        workflow_name=chat.workflow_name,
        ws_url=ws_url(request, settings, chat),
        token=token,
        expires_at=expires_at,
        status=chat.status,
        created=not existed,
    )
