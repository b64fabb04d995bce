"""Bad tokens against a real server: every one gets the same 401 over HTTP and 1008 on the socket,
while a good token, sent the same way, gets in (so each check can fail)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, SECRET, Runtime, base_settings, serve
from tests.integration.security.conftest import (
    AUDIENCE,
    ISSUER,
    bearer,
    refused,
    token,
)

pytestmark = pytest.mark.integration

GENERIC = {"detail": "invalid or expired token", "error_code": "UNAUTHORIZED"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "alice",
        "app_id": APP,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def unsigned(alg: str) -> str:
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims()).encode())}."


def hs256_by_hand(secret: bytes, body: dict[str, Any]) -> str:
    """HS256 over any bytes, which PyJWT refuses to do with a PEM (the attacker would not)."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(body).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def forged() -> str:
    return jwt.encode(claims(), "not-the-tenant-secret-but-long-enough-0123")


def tampered() -> str:
    header, _, signature = token("alice").split(".")
    return f"{header}.{b64(json.dumps(claims(sub='bob')).encode())}.{signature}"


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "forged signature": forged,
    "tampered payload": tampered,
    "alg none": lambda: unsigned("none"),
    "alg None": lambda: unsigned("None"),
    "expired": lambda: jwt.encode(claims(exp=int(time.time()) - 120), SECRET),
    "not yet valid": lambda: jwt.encode(claims(nbf=int(time.time()) + 120), SECRET),
    "no exp": lambda: jwt.encode(claims(exp=None), SECRET),
    "wrong aud": lambda: token("alice", audience="another-service"),
    "no aud": lambda: jwt.encode(claims(aud=None), SECRET),
    "wrong iss": lambda: token("alice", issuer="https://evil.test"),
    "wrong app_id": lambda: token("alice", app="another-app"),
    "garbage": lambda: "not-a-jwt",
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
async def test_bad_token_over_http_gets_a_generic_401(rt: Runtime, name: str) -> None:
    response = await rt.http.get("/api/sessions", headers=bearer(BAD_TOKENS[name]()))
    assert response.status_code == 401, name
    assert response.json() == GENERIC  # the same body whatever failed


@pytest.mark.parametrize("name", list(BAD_TOKENS))
@pytest.mark.parametrize("via", ["subprotocol", "query"])
async def test_bad_token_on_the_socket_is_closed_1008(rt: Runtime, name: str, via: str) -> None:
    sock = await ChatSocket.open(rt.ws_url("scripted", "c_bad"), BAD_TOKENS[name](), via=via)
    assert await refused(sock) == (1008, "unauthorized")


async def test_no_token_at_all(rt: Runtime) -> None:
    assert (await rt.http.get("/api/sessions")).status_code == 401
    assert (await rt.http.get("/api/usage")).status_code == 401
    sock = await ChatSocket.open(rt.ws_url("scripted", "c_none"), None)
    assert await refused(sock) == (1008, "unauthorized")


@pytest.mark.parametrize("via", ["subprotocol", "query"])
async def test_a_good_token_gets_in_the_same_ways(rt: Runtime, via: str) -> None:
    assert (await rt.http.get("/api/sessions", headers=bearer(token("alice")))).status_code == 200
    sock = await ChatSocket.open(rt.ws_url("scripted", f"c_ok_{via}"), token("alice"), via=via)
    meta = await sock.recv()
    assert meta["type"] == "chat_meta"
    assert sock.ws.subprotocol == ("bearer" if via == "subprotocol" else None)
    await sock.close()


async def test_the_query_token_can_be_turned_off(tmp_path: Path) -> None:
    settings = base_settings(
        tmp_path, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, allow_query_token=False
    )
    async with serve(settings) as rt:
        sock = await ChatSocket.open(rt.ws_url("scripted", "c_q"), token("alice"), via="query")
        assert await refused(sock) == (1008, "unauthorized")
        sock = await ChatSocket.open(rt.ws_url("scripted", "c_q"), token("alice"))
        assert (await sock.recv())["type"] == "chat_meta"
        await sock.close()


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


@pytest.fixture
async def rsa_rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A tenant that verifies RS256 with a PEM public key (and has no shared secret)."""
    settings = base_settings(tmp_path, jwt_secret=None, jwt_public_key=RSA_PEM.decode())
    async with serve(settings) as rt:
        yield rt


async def test_rsa_public_key_used_as_an_hmac_secret_is_refused(rsa_rt: Runtime) -> None:
    good = jwt.encode(claims(), RSA_KEY, algorithm="RS256")
    assert (await rsa_rt.http.get("/api/sessions", headers=bearer(good))).status_code == 200
    confused = hs256_by_hand(RSA_PEM, claims())
    response = await rsa_rt.http.get("/api/sessions", headers=bearer(confused))
    assert response.status_code == 401
    assert response.json() == GENERIC
    sock = await ChatSocket.open(rsa_rt.ws_url("scripted", "c_rsa"), confused)
    assert await refused(sock) == (1008, "unauthorized")
    # The tenant secret of the other tests means nothing here either.
    hs = jwt.encode(claims(), SECRET)
    assert (await rsa_rt.http.get("/api/sessions", headers=bearer(hs))).status_code == 401
