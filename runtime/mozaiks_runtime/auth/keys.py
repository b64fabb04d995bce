"""Key sources for token verification: a shared secret, a PEM public key, or a JWKS URL.

This is the only module in `auth/` that does I/O: the JWKS document is fetched with httpx, cached
for `jwt_jwks_cache_seconds`, refreshed early when a token names an unknown `kid` (at most once
per `min_refresh_seconds`, so a flood of forged kids cannot hammer the identity provider), and
never fetched per request. Each source serves one algorithm family only, which is what rules out
algorithm confusion (an RSA public key is never handed to HMAC).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

log = logging.getLogger(__name__)

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = frozenset({"ES256", "ES384", "ES512"})
# What a source accepts when MOZAIKS_JWT_ALGORITHMS is not set: the common choice per family.
_DEFAULT_RSA = frozenset({"RS256"})
_DEFAULT_EC = frozenset({"ES256"})

Key = Any  # a str secret or a cryptography public key object, as PyJWT takes it


@dataclass(frozen=True, slots=True)
class _JwksKey:
    jwk: jwt.PyJWK
    alg: str | None  # the key's declared `alg`, which then binds it to that one algorithm


class KeyUnavailable(Exception):
    """No key can verify this token; the message is for logs, never for the client."""


class KeySource(Protocol):
    algorithms: frozenset[str]  # the family this source may verify

    async def key_for(self, header: Mapping[str, Any]) -> Key:
        """The key that must have signed a token with this (unverified) header."""

    async def close(self) -> None: ...


class SecretKeySource:
    """HS256 (or HS384/HS512) with a shared secret."""

    def __init__(self, secret: str, algorithms: frozenset[str] = frozenset({"HS256"})) -> None:
        if not secret:
            raise ValueError("empty JWT secret")
        self._secret = secret
        self.algorithms = algorithms & HMAC_ALGORITHMS

    async def key_for(self, header: Mapping[str, Any]) -> Key:
        return self._secret

    async def close(self) -> None:
        return None


class PemKeySource:
    """One RSA or EC public key in PEM form."""

    def __init__(self, pem: str, algorithms: frozenset[str] | None = None) -> None:
        key = load_pem_public_key(pem.encode())
        if isinstance(key, rsa.RSAPublicKey):
            family, default = RSA_ALGORITHMS, _DEFAULT_RSA
        elif isinstance(key, ec.EllipticCurvePublicKey):
            family, default = EC_ALGORITHMS, _DEFAULT_EC
        else:
            raise ValueError("the JWT public key must be an RSA or EC key")
        self._key = key
        self.algorithms = (algorithms if algorithms is not None else default) & family

    async def key_for(self, header: Mapping[str, Any]) -> Key:
        return self._key

    async def close(self) -> None:
        return None


class JwksKeySource:
    """Public keys from a JWKS URL, looked up by `kid`, cached and refreshed as described above."""

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float,
        algorithms: frozenset[str] | None = None,
        min_refresh_seconds: float = 10.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not url.startswith("https://"):
            # Allowed (an in-cluster IdP may speak plain HTTP), but whoever can alter the
            # response can mint tokens: say so once, at start-up.
            log.warning("JWKS URL %s is not HTTPS; the signing keys travel unprotected", url)
        self._url = url
        self._cache_seconds = cache_seconds
        self._min_refresh = min(min_refresh_seconds, cache_seconds)
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        self._clock = clock
        self._keys: dict[str, _JwksKey] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        asymmetric = RSA_ALGORITHMS | EC_ALGORITHMS
        default = _DEFAULT_RSA | _DEFAULT_EC
        self.algorithms = (algorithms if algorithms is not None else default) & asymmetric

    async def key_for(self, header: Mapping[str, Any]) -> Key:
        kid = header.get("kid")
        if not isinstance(kid, str) and kid is not None:
            raise KeyUnavailable("kid is not a string")
        if self._expired():
            await self._refresh(reason="cache expired")
        key = self._find(kid)
        if key is None and self._may_refresh():
            await self._refresh(reason=f"unknown kid {kid!r}")
            key = self._find(kid)
        if key is None:
            raise KeyUnavailable(f"no JWKS key for kid {kid!r}")
        if key.alg is not None and key.alg != header.get("alg"):
            raise KeyUnavailable(f"key {kid!r} is for {key.alg}, token says {header.get('alg')!r}")
        return key.jwk.key

    def _find(self, kid: str | None) -> _JwksKey | None:
        if kid is not None:
            return self._keys.get(kid)
        # A token without a kid is only acceptable when the set holds exactly one key.
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None

    def _expired(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._cache_seconds

    def _may_refresh(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._min_refresh

    async def _refresh(self, *, reason: str) -> None:
        fetched_before = self._fetched_at
        async with self._lock:
            if self._fetched_at != fetched_before:
                return  # another request refreshed while we waited: one fetch serves all
            try:
                self._keys = await self._fetch()
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                # Keep serving the keys we had; an outage of the IdP must not log everyone out.
                log.warning("JWKS refresh failed (%s): %s", reason, exc)
            else:
                log.info("JWKS refreshed (%s): %d keys", reason, len(self._keys))
            # Failed fetches count too, so an unreachable IdP is retried at the refresh pace.
            self._fetched_at = self._clock()

    async def _fetch(self) -> dict[str, _JwksKey]:
        response = await self._client.get(self._url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
        raw_keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(raw_keys, list):
            raise ValueError("JWKS document has no 'keys' list")
        keys: dict[str, _JwksKey] = {}
        for raw in raw_keys:
            if not isinstance(raw, dict) or raw.get("use", "sig") != "sig":
                continue
            if raw.get("kty") not in ("RSA", "EC"):
                continue  # symmetric keys in a JWKS would reopen algorithm confusion
            try:
                jwk = jwt.PyJWK(raw)
            except (jwt.PyJWTError, ValueError, TypeError) as exc:
                log.warning("JWKS key %r skipped: %s", raw.get("kid"), exc)
                continue
            alg = raw.get("alg")
            keys[str(raw.get("kid", ""))] = _JwksKey(jwk, alg if isinstance(alg, str) else None)
        if not keys:
            raise ValueError("JWKS document has no usable signing key")
        return keys

    async def close(self) -> None:
        if self._own_client:
            await self._client.aclose()
