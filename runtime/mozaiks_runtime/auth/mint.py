"""Dev and test tokens (HS256, shared secret) for `mozaiks token mint` and `make run`.

Production tokens come from the host app's backend; this mints the same claims the verifier
reads, so local use and tests exercise the real verification path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt


def mint_token(
    secret: str,
    *,
    user: str,
    app: str,
    admin: bool = False,
    ttl: timedelta = timedelta(minutes=15),
    chat_id: str | None = None,
    issuer: str | None = None,
    audience: str | None = None,
    admin_scope: str = "mozaiks:admin",
    now: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """An HS256 token with sub, app_id, iat, nbf, exp and, as asked, chat_id, iss, aud, scope,
    plus `extra` claims (e.g. `roles` for entitlements; the ones above win)."""
    if not secret:
        raise ValueError("a secret is required to mint a token")
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        **(extra or {}),
        "sub": user,
        "app_id": app,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
    }
    if chat_id is not None:
        claims["chat_id"] = chat_id
    if issuer is not None:
        claims["iss"] = issuer
    if audience is not None:
        claims["aud"] = audience
    if admin:
        claims["scope"] = admin_scope
    return jwt.encode(claims, secret, algorithm="HS256")


def mint_broker_token(
    secret: str,
    *,
    service: str,
    app: str,
    ttl: timedelta = timedelta(minutes=5),
    scope: str = "mozaiks:broker",
    now: datetime | None = None,
) -> str:
    """A session broker's service token (auth/broker.py): what the app's backend signs with
    MOZAIKS_BROKER_JWT_SECRET to call /api/broker/sessions."""
    if not secret:
        raise ValueError("a secret is required to mint a token")
    issued = now or datetime.now(UTC)
    claims = {
        "sub": service,
        "app_id": app,
        "aud": "mozaiks:broker",
        "scope": scope,
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def parse_claim(text: str) -> tuple[str, Any]:
    """`NAME=VALUE` for the CLI's --claim: VALUE as JSON when it parses (`["pro"]`, `true`),
    else as a plain string."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"invalid claim {text!r}: use NAME=VALUE, e.g. roles='[\"pro\"]'")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip(), value


def parse_ttl(text: str) -> timedelta:
    """`90s`, `15m`, `2h`, `1d` (or plain seconds) as a timedelta, for the CLI's --ttl."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        raise ValueError(f"invalid ttl {text!r}: use e.g. 90s, 15m, 2h or 1d") from None
    if seconds <= 0:
        raise ValueError("ttl must be positive")
    return timedelta(seconds=seconds)
