"""The caller's identity from a raw bearer value: the one check every route and socket runs."""

from __future__ import annotations

from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.auth.verify import TokenVerifier
from mozaiks_runtime.config import Settings
from mozaiks_runtime.errors import AuthError


async def authenticate(
    settings: Settings, verifier: TokenVerifier, token: str | None, *, dev_user: str | None
) -> Identity:
    """The verified identity of a token for this tenant; AuthError otherwise.
    With dev auth on (explicitly, never by default), the caller is whoever they say."""
    if settings.dev_auth:
        return Identity(user_id=dev_user or "dev", app_id=settings.app_id, dev=True)
    if not token:
        raise AuthError("missing bearer token")
    identity = await verifier.verify(token)
    if identity.app_id != settings.app_id:
        raise AuthError("the token is for another app")
    return identity
