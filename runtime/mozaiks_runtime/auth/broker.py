"""The session broker's credential, and the chat-bound user tokens the runtime mints for it.

Two kinds of token, two keys, so neither can pass for the other:

- a **broker token** is a service JWT the app's backend signs with `MOZAIKS_BROKER_JWT_SECRET`
  (HS256) with `aud` = `mozaiks:broker`, a scope holding `MOZAIKS_BROKER_SCOPE` and this
  tenant's `app_id`. It is accepted on the broker route only; the user verifier refuses any
  token carrying the broker scope;
- a **session token** is what the runtime answers with: a user token (`sub`, `app_id`,
  `chat_id`, the user's claims for entitlements) signed with a key derived from the broker
  secret and marked with `kid` = `mozaiks-session`. The user verifier accepts it only with a
  `chat_id`, so it opens that one chat and no other.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from mozaiks_runtime.auth.verify import (
    MAX_TOKEN_BYTES,
    SESSION_ISSUER,
    SESSION_KID,
    scopes_of,
    session_signing_key,
)
from mozaiks_runtime.config import Settings
from mozaiks_runtime.errors import AuthError, BadRequest

log = logging.getLogger(__name__)

BROKER_AUDIENCE = "mozaiks:broker"
# Claims the runtime sets on a session token itself; a broker cannot pass them for the user.
RESERVED_CLAIMS = frozenset(
    {"sub", "app_id", "mozaiks_app_id", "chat_id", "exp", "iat", "nbf", "iss", "aud", "jti"}
)
MAX_CLAIMS_BYTES = 4096  # the token must stay well under the verifier's size limit


@dataclass(frozen=True, slots=True)
class BrokerIdentity:
    service: str  # the broker token's `sub`: which backend called (for logs)
    app_id: str


def verify_broker_token(settings: Settings, token: str | None) -> BrokerIdentity:
    """The calling broker, or AuthError (a generic message; the reason is logged)."""
    if settings.broker_jwt_secret is None:
        log.info("broker token refused: no MOZAIKS_BROKER_JWT_SECRET is configured")
        raise AuthError("invalid or expired broker token")
    if not token or len(token) > MAX_TOKEN_BYTES:
        raise AuthError("missing broker token")
    try:
        claims = jwt.decode(
            token,
            settings.broker_jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=BROKER_AUDIENCE,
            leeway=settings.jwt_leeway_seconds,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.PyJWTError as exc:
        log.info("broker token refused: %s: %s", type(exc).__name__, exc)
        raise AuthError("invalid or expired broker token") from None
    app = claims.get("app_id", claims.get("mozaiks_app_id"))
    if app != settings.app_id or settings.broker_scope not in scopes_of(claims):
        log.info("broker token refused: app %r, scopes %s", app, sorted(scopes_of(claims)))
        raise AuthError("invalid or expired broker token")
    return BrokerIdentity(service=str(claims["sub"]), app_id=settings.app_id)


def check_user_claims(settings: Settings, claims: Mapping[str, Any]) -> dict[str, Any]:
    """The claims a broker passes for its user, or BadRequest: none of the reserved ones, and
    no admin or broker scope (a broker creates sessions; it does not hand out privileges)."""
    reserved = sorted(RESERVED_CLAIMS & set(claims))
    if reserved:
        raise BadRequest(f"claims {', '.join(reserved)} are set by the runtime, not the broker")
    granted = scopes_of(claims) & {settings.admin_scope, settings.broker_scope}
    if granted:
        raise BadRequest(f"a broker cannot grant the scope {sorted(granted)[0]!r}")
    if len(json.dumps(dict(claims), separators=(",", ":"))) > MAX_CLAIMS_BYTES:
        raise BadRequest(f"claims are larger than {MAX_CLAIMS_BYTES} bytes")
    return dict(claims)


def mint_session_token(
    settings: Settings,
    *,
    user_id: str,
    chat_id: str,
    claims: Mapping[str, Any],
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A user token for this one chat, and when it expires."""
    key = session_signing_key(settings)
    if key is None:
        raise AuthError("the session broker is not configured")
    issued = now or datetime.now(UTC)
    expires = issued + timedelta(seconds=settings.broker_token_ttl_seconds)
    body: dict[str, Any] = {
        **claims,
        "sub": user_id,
        "app_id": settings.app_id,
        "chat_id": chat_id,
        "iss": SESSION_ISSUER,
        "iat": issued,
        "nbf": issued,
        "exp": expires,
    }
    token = jwt.encode(body, key, algorithm="HS256", headers={"kid": SESSION_KID})
    return token, expires.replace(microsecond=0)
