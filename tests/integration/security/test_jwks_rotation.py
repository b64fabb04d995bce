"""TokenVerifier against a real JWKS served over HTTP on 127.0.0.1: caching, rotation, outages.

The verifier's clock is injected, so "later" costs no sleeping; the HTTP is real.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from mozaiks_runtime.auth.verify import TokenVerifier
from mozaiks_runtime.config import Settings
from mozaiks_runtime.errors import AuthError
from tests.integration.runtime.conftest import APP, base_settings, serve

pytestmark = pytest.mark.integration

CACHE_SECONDS = 300


@dataclass
class JwksServer:
    """A tiny identity provider: serves `keys` at /jwks.json and counts fetches."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    fetches: int = 0
    down: bool = False  # answer 503, as an IdP in an outage would
    url: str = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.fetches += 1
        body = json.dumps({"keys": self.keys}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503 if self.down else 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class FakeClock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def idp() -> AsyncIterator[JwksServer]:
    app = JwksServer()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app.url = f"http://127.0.0.1:{sock.getsockname()[1]}/jwks.json"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
        await asyncio.sleep(0.01)
    yield app
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture
async def verifier(idp: JwksServer) -> AsyncIterator[tuple[TokenVerifier, FakeClock]]:
    clock = FakeClock()
    settings = Settings.load(
        app_id="acme",
        jwt_jwks_url=idp.url,
        jwt_jwks_cache_seconds=CACHE_SECONDS,
        jwt_issuer="https://idp.test",
        jwt_audience="mozaiks",
    )
    v = TokenVerifier(settings, clock=clock)
    yield v, clock
    await v.close()


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk_of(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        data = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        data = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    assert isinstance(data, dict)
    return {**data, "kid": kid, "use": "sig"}


def token(key: Any, kid: str, alg: str = "RS256", **extra: Any) -> str:
    claims = {
        "sub": "alice",
        "app_id": "acme",
        "iss": "https://idp.test",
        "aud": "mozaiks",
        "exp": 4_000_000_000,
        **extra,
    }
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def hs256_by_hand(secret: bytes, *, kid: str) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps({"sub": "alice", "app_id": "acme", "exp": 4_000_000_000}).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


async def test_keys_are_fetched_once_and_cached(
    idp: JwksServer, verifier: tuple[TokenVerifier, FakeClock]
) -> None:
    v, clock = verifier
    k1 = rsa_key()
    idp.keys = [jwk_of(k1, "k1")]
    for _ in range(5):
        assert (await v.verify(token(k1, "k1"))).user_id == "alice"
    assert idp.fetches == 1
    clock.now += CACHE_SECONDS  # the cache ages out: one more fetch, then cached again
    await v.verify(token(k1, "k1"))
    await v.verify(token(k1, "k1"))
    assert idp.fetches == 2


async def test_rotation_picks_up_the_new_kid_and_drops_the_old(
    idp: JwksServer, verifier: tuple[TokenVerifier, FakeClock]
) -> None:
    v, clock = verifier
    k1, k2 = rsa_key(), rsa_key()
    idp.keys = [jwk_of(k1, "k1")]
    await v.verify(token(k1, "k1"))
    idp.keys = [jwk_of(k2, "k2")]  # the IdP rotates
    clock.now += 11  # past the refresh rate limit, well inside the cache lifetime
    assert (await v.verify(token(k2, "k2"))).user_id == "alice"
    assert idp.fetches == 2
    with pytest.raises(AuthError):  # k1 is gone from the set, and we refreshed a moment ago
        await v.verify(token(k1, "k1"))
    assert idp.fetches == 2


async def test_unknown_kids_cannot_force_a_fetch_per_request(
    idp: JwksServer, verifier: tuple[TokenVerifier, FakeClock]
) -> None:
    v, clock = verifier
    k1, stranger = rsa_key(), rsa_key()
    idp.keys = [jwk_of(k1, "k1")]
    await v.verify(token(k1, "k1"))
    for i in range(20):
        with pytest.raises(AuthError):
            await v.verify(token(stranger, f"forged-{i}"))
    assert idp.fetches == 1
    clock.now += 11
    with pytest.raises(AuthError):
        await v.verify(token(stranger, "forged-late"))
    assert idp.fetches == 2


async def test_concurrent_requests_share_one_fetch(
    idp: JwksServer, verifier: tuple[TokenVerifier, FakeClock]
) -> None:
    v, _ = verifier
    k1 = rsa_key()
    idp.keys = [jwk_of(k1, "k1")]
    results = await asyncio.gather(*(v.verify(token(k1, "k1")) for _ in range(10)))
    assert {r.user_id for r in results} == {"alice"}
    assert idp.fetches == 1


async def test_an_idp_outage_or_a_broken_set_keeps_the_cached_keys(
    idp: JwksServer, verifier: tuple[TokenVerifier, FakeClock]
) -> None:
    v, clock = verifier
    k1 = rsa_key()
    idp.keys = [jwk_of(k1, "k1")]
    await v.verify(token(k1, "k1"))
    idp.down = True
    clock.now += CACHE_SECONDS
    assert (await v.verify(token(k1, "k1"))).user_id == "alice"
    assert idp.fetches == 2  # it did try
    idp.down = False
    idp.keys = [{"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"}]
    clock.now += CACHE_SECONDS
    assert (await v.verify(token(k1, "k1"))).user_id == "alice"
    assert idp.fetches == 3


async def test_ec_keys_and_declared_alg_are_honoured(
    idp: JwksServer, verifier: tuple[TokenVerifier, FakeClock]
) -> None:
    v, _ = verifier
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_k = rsa_key()
    idp.keys = [jwk_of(ec_key, "e1"), {**jwk_of(rsa_k, "r1"), "alg": "RS256"}]
    assert (await v.verify(token(ec_key, "e1", alg="ES256"))).user_id == "alice"
    # The JWK says RS256; a PS256 token under the same kid is refused even though PS256 would
    # verify mathematically with that key (and is not on the default list anyway).
    with pytest.raises(AuthError):
        await v.verify(token(rsa_k, "r1", alg="PS256"))


async def test_symmetric_keys_in_the_jwks_and_hmac_with_the_public_key_are_refused(
    idp: JwksServer, verifier: tuple[TokenVerifier, FakeClock]
) -> None:
    v, _ = verifier
    k1 = rsa_key()
    pem = k1.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    idp.keys = [
        jwk_of(k1, "k1"),
        {"kty": "oct", "kid": "sym", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldCE"},
    ]
    with pytest.raises(AuthError):
        await v.verify(token(b"secret-secret-secret-secret-secret!", "sym", alg="HS256"))
    with pytest.raises(AuthError):  # PyJWT will not sign this, so it is built by hand
        await v.verify(hs256_by_hand(pem, kid="k1"))


async def test_wrong_issuer_or_audience_from_a_valid_key_is_refused(
    idp: JwksServer, verifier: tuple[TokenVerifier, FakeClock]
) -> None:
    v, _ = verifier
    k1 = rsa_key()
    idp.keys = [jwk_of(k1, "k1")]
    with pytest.raises(AuthError):
        await v.verify(token(k1, "k1", iss="https://evil.test"))
    with pytest.raises(AuthError):
        await v.verify(token(k1, "k1", aud="another-service"))
    with pytest.raises(AuthError):
        await v.verify(token(k1, "k1", app_id="another-app"))


async def test_a_runtime_verifies_tokens_through_its_jwks_url(
    idp: JwksServer, tmp_path: Path
) -> None:
    """The whole path: MOZAIKS_JWT_JWKS_URL on a real server, RS256 and ES256 keys, one fetch."""
    rsa_k, ec_k, stranger = rsa_key(), ec.generate_private_key(ec.SECP256R1()), rsa_key()
    idp.keys = [jwk_of(rsa_k, "r1"), jwk_of(ec_k, "e1")]
    settings = base_settings(
        tmp_path,
        jwt_secret=None,
        jwt_jwks_url=idp.url,
        jwt_issuer="https://idp.test",
        jwt_audience="mozaiks",
    )
    async with serve(settings) as rt:
        for good in (token(rsa_k, "r1", app_id=APP), token(ec_k, "e1", alg="ES256", app_id=APP)):
            response = await rt.http.get(
                "/api/sessions", headers={"Authorization": f"Bearer {good}"}
            )
            assert response.status_code == 200, response.text
        for bad in (
            token(stranger, "r1", app_id=APP),  # a known kid, the wrong key
            token(stranger, "unknown", app_id=APP),
            token(rsa_k, "r1", app_id="another-app"),
        ):
            response = await rt.http.get(
                "/api/sessions", headers={"Authorization": f"Bearer {bad}"}
            )
            assert response.status_code == 401
        assert idp.fetches == 1  # cached; the unknown kid came too soon after to refetch
