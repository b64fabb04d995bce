"""Turns a bearer token into an Identity, or raises AuthError.

Checks, in order: the header's `alg` is on the allow-list and served by a configured key source
(`none` never is; HMAC algorithms only ever use the shared secret, RSA/EC only the PEM or JWKS
keys, so a public key cannot be replayed as an HMAC secret); the signature; `exp` (required),
`nbf`, `iss` and `aud` when configured, with the configured leeway; `sub`; and the app claim,
which must name this runtime's tenant. The client only ever learns "invalid token"; the reason is
logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.auth.keys import (
    HMAC_ALGORITHMS,
    JwksKeySource,
    KeySource,
    KeyUnavailable,
    PemKeySource,
    SecretKeySource,
)
from mozaiks_runtime.config import Settings
from mozaiks_runtime.errors import AuthError

log = logging.getLogger(__name__)

# Longer than any sane JWT; refusing early keeps a hostile header from costing CPU.
MAX_TOKEN_BYTES = 8192
APP_CLAIMS = ("app_id", "mozaiks_app_id")
CLIENT_MESSAGE = "invalid or expired token"
# Session tokens: user tokens the runtime mints for the session broker (auth/broker.py), told
# apart by their `kid` and verified with their own key, never with the tenant's.
SESSION_KID = "mozaiks-session"
SESSION_ISSUER = "mozaiks-runtime"


def session_signing_key(settings: Settings) -> str | None:
    """The key of session tokens: derived from the broker secret (never the secret itself, so a
    broker token cannot verify as a session token, nor the other way round)."""
    if settings.broker_jwt_secret is None:
        return None
    secret = settings.broker_jwt_secret.get_secret_value().encode()
    return hmac.new(secret, b"mozaiks session tokens v1", hashlib.sha256).hexdigest()


class TokenVerifier:
    """Verifies tokens against the key sources the settings describe. Build once per process.

    Dev auth (MOZAIKS_DEV_AUTH) is handled by the edges, which then never ask for a token; a
    verifier built for it without a key source refuses every token rather than trusting any."""

    def __init__(
        self,
        settings: Settings,
        *,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._sources = _sources_from(settings, http_client, clock)
        self._session_key = session_signing_key(settings)
        if not self._sources and not settings.dev_auth:
            raise ValueError("no JWT key source is configured")

    async def verify(self, token: str) -> Identity:
        """The caller's Identity; raises AuthError (generic message) when anything is off."""
        try:
            claims = await self._claims(token)
            return self._identity(claims)
        except _Rejected as exc:
            log.info("token rejected: %s", exc)
            raise AuthError(CLIENT_MESSAGE) from None

    async def close(self) -> None:
        for source in self._sources:
            await source.close()

    async def _claims(self, token: str) -> dict[str, Any]:
        if not token or len(token) > MAX_TOKEN_BYTES:
            raise _Rejected("empty or oversized token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _Rejected(f"malformed header: {exc}") from None
        if header.get("kid") == SESSION_KID:
            return self._session_claims(token)
        alg = header.get("alg")
        if not isinstance(alg, str):  # a list or object here must not reach a set lookup
            raise _Rejected(f"algorithm {alg!r} is not allowed")
        source = next((s for s in self._sources if alg in s.algorithms), None)
        if source is None:
            raise _Rejected(f"algorithm {alg!r} is not allowed")
        try:
            key = await source.key_for(header)
        except KeyUnavailable as exc:
            raise _Rejected(str(exc)) from None
        settings = self._settings
        required = ["exp", "sub"]
        if settings.jwt_issuer is not None:
            required.append("iss")
        if settings.jwt_audience is not None:
            required.append("aud")
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],  # exactly the one this key is for
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                leeway=settings.jwt_leeway_seconds,
                options={"require": required, "verify_aud": settings.jwt_audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise _Rejected(f"{type(exc).__name__}: {exc}") from None

    def _session_claims(self, token: str) -> dict[str, Any]:
        """A token the runtime minted for the broker: its own key, HS256, always chat-bound."""
        if self._session_key is None:
            raise _Rejected("a session token, but no broker secret is configured")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._session_key,
                algorithms=["HS256"],
                issuer=SESSION_ISSUER,
                leeway=self._settings.jwt_leeway_seconds,
                options={"require": ["exp", "sub", "iss", "chat_id"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise _Rejected(f"session token: {type(exc).__name__}: {exc}") from None
        return claims

    def _identity(self, claims: Mapping[str, Any]) -> Identity:
        user = claims.get("sub")
        if not isinstance(user, str) or not user:
            raise _Rejected("sub is missing or not a string")
        app = next((claims[c] for c in APP_CLAIMS if c in claims), None)
        if app != self._settings.app_id:
            raise _Rejected(f"token is for app {app!r}, this runtime serves another")
        chat = claims.get("chat_id")
        if chat is not None and (not isinstance(chat, str) or not chat):
            raise _Rejected("chat_id claim is not a string")
        scopes = scopes_of(claims)
        if self._settings.broker_scope in scopes:
            raise _Rejected("a broker token is not a user token")
        return Identity(
            user_id=user,
            app_id=self._settings.app_id,
            chat_id=chat,
            scopes=scopes,
            admin_scope=self._settings.admin_scope,
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            claims=dict(claims),
        )


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """Scopes from `scope` (space-separated, RFC 8693), `scp` (string or list) and `roles`."""
    found: set[str] = set()
    for name in ("scope", "scp", "roles"):
        value = claims.get(name)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, str))
    return frozenset(found)


def _sources_from(
    settings: Settings, client: httpx.AsyncClient | None, clock: Callable[[], float]
) -> list[KeySource]:
    configured = frozenset(settings.jwt_algorithms) if settings.jwt_algorithms else None
    if configured is not None and "none" in {a.lower() for a in configured}:
        raise ValueError("MOZAIKS_JWT_ALGORITHMS must not contain 'none'")
    sources: list[KeySource] = []
    if settings.jwt_secret is not None:
        hmac = configured & HMAC_ALGORITHMS if configured is not None else frozenset({"HS256"})
        sources.append(SecretKeySource(settings.jwt_secret.get_secret_value(), hmac))
    if settings.jwt_public_key is not None:
        sources.append(PemKeySource(settings.jwt_public_key.get_secret_value(), configured))
    if settings.jwt_jwks_url is not None:
        sources.append(
            JwksKeySource(
                settings.jwt_jwks_url,
                cache_seconds=settings.jwt_jwks_cache_seconds,
                algorithms=configured,
                client=client,
                clock=clock,
            )
        )
    return [s for s in sources if s.algorithms]


class _Rejected(Exception):
    """Internal: why a token was refused (logged, never sent)."""
