"""TokenVerifier against real tokens: every rejection reason, and what an accepted token yields."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mozaiks_runtime.auth.mint import mint_token
from mozaiks_runtime.auth.verify import TokenVerifier
from mozaiks_runtime.config import Settings
from mozaiks_runtime.errors import AuthError

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PEM = (
    RSA_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC_PEM = (
    EC_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    base: dict[str, Any] = {
        "sub": "alice",
        "app_id": "acme",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
async def hs_verifier() -> AsyncIterator[TokenVerifier]:
    verifier = TokenVerifier(Settings.load(app_id="acme", jwt_secret=SECRET, jwt_leeway_seconds=0))
    yield verifier
    await verifier.close()


async def test_valid_hs256_token_yields_identity(hs_verifier: TokenVerifier) -> None:
    token = mint_token(SECRET, user="alice", app="acme", chat_id="c1", admin=True)
    identity = await hs_verifier.verify(token)
    assert identity.user_id == "alice"
    assert identity.app_id == "acme"
    assert identity.chat_id == "c1"
    assert identity.is_admin


async def test_mozaiks_app_id_claim_and_scp_list_are_read(hs_verifier: TokenVerifier) -> None:
    token = jwt.encode(
        claims(app_id=None, mozaiks_app_id="acme", scp=["read", "mozaiks:admin"]), SECRET
    )
    identity = await hs_verifier.verify(token)
    assert identity.app_id == "acme"
    assert identity.scopes == {"read", "mozaiks:admin"}


# Overrides are made when the test runs (not when it is collected, possibly minutes earlier), and
# times sit far outside the verifier's leeway, so the outcome never depends on timing.
@pytest.mark.parametrize(
    ("why", "overrides"),
    [
        ("expired", lambda now: {"exp": now - timedelta(hours=1)}),
        ("not yet valid", lambda now: {"nbf": now + timedelta(hours=1)}),
        ("no exp", lambda now: {"exp": None}),
        ("no sub", lambda now: {"sub": None}),
        ("wrong app", lambda now: {"app_id": "other"}),
        ("no app", lambda now: {"app_id": None}),
        ("chat_id not a string", lambda now: {"chat_id": 7}),
    ],
)
async def test_bad_claims_are_rejected(
    hs_verifier: TokenVerifier, why: str, overrides: Callable[[datetime], dict[str, Any]]
) -> None:
    token = jwt.encode(claims(**overrides(datetime.now(UTC))), SECRET)
    with pytest.raises(AuthError) as info:
        await hs_verifier.verify(token)
    assert info.value.message == "invalid or expired token", why


async def test_forged_signature_is_rejected(hs_verifier: TokenVerifier) -> None:
    forged = jwt.encode(claims(), "a-different-secret-of-sufficient-length-xx")
    with pytest.raises(AuthError):
        await hs_verifier.verify(forged)


async def test_tampered_payload_is_rejected(hs_verifier: TokenVerifier) -> None:
    header, _, signature = mint_token(SECRET, user="alice", app="acme").split(".")
    payload = b64(json.dumps(claims(sub="bob")).encode())
    with pytest.raises(AuthError):
        await hs_verifier.verify(f"{header}.{payload}.{signature}")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_rejected(hs_verifier: TokenVerifier, alg: str) -> None:
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims(iat=None, nbf=None, exp=2_000_000_000)).encode())
    with pytest.raises(AuthError):
        await hs_verifier.verify(f"{header}.{body}.")


@pytest.mark.parametrize("alg", [["HS256"], {"HS256": 1}, None, 256])
async def test_a_non_string_alg_is_rejected(hs_verifier: TokenVerifier, alg: object) -> None:
    _, payload, signature = mint_token(SECRET, user="alice", app="acme").split(".")
    odd = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    with pytest.raises(AuthError):
        await hs_verifier.verify(f"{odd}.{payload}.{signature}")


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 9000, "eyJhbGciOiJIUzI1NiJ9.."])
async def test_garbage_is_rejected(hs_verifier: TokenVerifier, garbage: str) -> None:
    with pytest.raises(AuthError):
        await hs_verifier.verify(garbage)


async def test_rsa_public_key_used_as_hmac_secret_is_rejected() -> None:
    """The classic confusion attack: sign HS256 with the server's public PEM as the secret."""
    verifier = TokenVerifier(Settings.load(app_id="acme", jwt_public_key=RSA_PEM))
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims(iat=None, nbf=None, exp=2_000_000_000)).encode())
    signature = hmac.new(RSA_PEM.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    with pytest.raises(AuthError):
        await verifier.verify(f"{header}.{body}.{b64(signature)}")


async def test_hs_algorithm_is_not_served_by_a_pem_even_when_allowed() -> None:
    """Even an allow-list naming HS256 cannot make a public key an HMAC secret."""
    verifier = TokenVerifier(
        Settings.load(app_id="acme", jwt_public_key=RSA_PEM, jwt_algorithms="RS256,HS256")
    )
    token = jwt.encode(claims(), "any-secret-of-a-reasonable-length-1234567")
    with pytest.raises(AuthError):
        await verifier.verify(token)


async def test_rs256_with_pem() -> None:
    verifier = TokenVerifier(Settings.load(app_id="acme", jwt_public_key=RSA_PEM))
    identity = await verifier.verify(jwt.encode(claims(), RSA_KEY, algorithm="RS256"))
    assert identity.user_id == "alice"
    # RS512 is not on the default allow-list for an RSA key.
    with pytest.raises(AuthError):
        await verifier.verify(jwt.encode(claims(), RSA_KEY, algorithm="RS512"))


async def test_es256_with_pem() -> None:
    verifier = TokenVerifier(Settings.load(app_id="acme", jwt_public_key=EC_PEM))
    identity = await verifier.verify(jwt.encode(claims(), EC_KEY, algorithm="ES256"))
    assert identity.user_id == "alice"
    with pytest.raises(AuthError):
        await verifier.verify(jwt.encode(claims(), RSA_KEY, algorithm="RS256"))


async def test_issuer_and_audience_are_required_when_configured() -> None:
    settings = Settings.load(
        app_id="acme", jwt_secret=SECRET, jwt_issuer="https://idp", jwt_audience="mozaiks"
    )
    verifier = TokenVerifier(settings)
    good = jwt.encode(claims(iss="https://idp", aud="mozaiks"), SECRET)
    assert (await verifier.verify(good)).user_id == "alice"
    for bad in (
        claims(iss="https://evil", aud="mozaiks"),
        claims(iss="https://idp", aud="someone-else"),
        claims(aud="mozaiks"),
        claims(iss="https://idp"),
    ):
        with pytest.raises(AuthError):
            await verifier.verify(jwt.encode(bad, SECRET))


async def test_leeway_accepts_small_clock_skew() -> None:
    verifier = TokenVerifier(Settings.load(app_id="acme", jwt_secret=SECRET, jwt_leeway_seconds=30))
    skewed = claims(exp=datetime.now(UTC) - timedelta(seconds=10))
    assert (await verifier.verify(jwt.encode(skewed, SECRET))).user_id == "alice"


def test_none_in_the_allow_list_refuses_to_start() -> None:
    with pytest.raises(ValueError, match="none"):
        TokenVerifier(Settings.load(app_id="acme", jwt_secret=SECRET, jwt_algorithms="HS256,none"))
