"""Broker tokens and the session tokens minted for them: each is accepted only where it belongs,
signed with its own key, for its own tenant, and a session token opens its one chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from mozaiks_runtime.auth.broker import (
    BROKER_AUDIENCE,
    check_user_claims,
    mint_session_token,
    verify_broker_token,
)
from mozaiks_runtime.auth.mint import mint_broker_token, mint_token
from mozaiks_runtime.auth.verify import SESSION_KID, TokenVerifier, session_signing_key
from mozaiks_runtime.config import Settings, SettingsError
from mozaiks_runtime.errors import AuthError, BadRequest

pytestmark = pytest.mark.unit

USER_SECRET = "unit-user-secret-that-is-long-enough-for-hs256"
BROKER_SECRET = "unit-broker-secret-that-is-long-enough-too"
OTHER_BROKER_SECRET = "another-tenants-broker-secret-long-enough"


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "app_id": "acme",
        "jwt_secret": USER_SECRET,
        "broker_jwt_secret": BROKER_SECRET,
        "jwt_leeway_seconds": 0,
        **overrides,
    }
    return Settings.load(**values)


@pytest.fixture
async def verifier() -> AsyncIterator[TokenVerifier]:
    v = TokenVerifier(settings())
    yield v
    await v.close()


def test_a_good_broker_token_names_the_service() -> None:
    broker = verify_broker_token(
        settings(), mint_broker_token(BROKER_SECRET, service="shop", app="acme")
    )
    assert (broker.service, broker.app_id) == ("shop", "acme")


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not-a-jwt",
        mint_broker_token(OTHER_BROKER_SECRET, service="shop", app="acme"),  # another key
        mint_broker_token(OTHER_BROKER_SECRET, service="shop", app="other"),  # another tenant's
        mint_broker_token(BROKER_SECRET, service="shop", app="other"),  # for another tenant
        mint_broker_token(BROKER_SECRET, service="shop", app="acme", scope="read"),  # no scope
        mint_broker_token(
            BROKER_SECRET, service="shop", app="acme", now=datetime.now(UTC) - timedelta(hours=1)
        ),  # expired
        mint_token(USER_SECRET, user="alice", app="acme"),  # a user token
        mint_token(BROKER_SECRET, user="alice", app="acme", audience="mozaiks"),  # wrong aud
        jwt.encode(
            {"sub": "shop", "app_id": "acme", "aud": BROKER_AUDIENCE, "scope": "mozaiks:broker"},
            BROKER_SECRET,
        ),  # no exp
    ],
)
def test_broker_tokens_that_are_refused(token: str | None) -> None:
    with pytest.raises(AuthError) as info:
        verify_broker_token(settings(), token)
    assert info.value.error_code == "UNAUTHORIZED"


def test_no_broker_secret_means_no_broker() -> None:
    token = mint_broker_token(BROKER_SECRET, service="shop", app="acme")
    with pytest.raises(AuthError):
        verify_broker_token(settings(broker_jwt_secret=None), token)


async def test_a_broker_token_is_not_a_user_token(verifier: TokenVerifier) -> None:
    with pytest.raises(AuthError):  # the broker key is not a user key
        await verifier.verify(mint_broker_token(BROKER_SECRET, service="shop", app="acme"))
    # Even signed with the user key, a token that carries the broker scope is refused.
    with pytest.raises(AuthError):
        await verifier.verify(
            mint_token(USER_SECRET, user="shop", app="acme", extra={"scope": "mozaiks:broker"})
        )


async def test_a_session_token_is_a_user_token_for_one_chat(verifier: TokenVerifier) -> None:
    token, expires = mint_session_token(
        settings(), user_id="alice", chat_id="c_1", claims={"roles": ["pro"]}
    )
    assert jwt.get_unverified_header(token)["kid"] == SESSION_KID
    identity = await verifier.verify(token)
    assert (identity.user_id, identity.app_id, identity.chat_id) == ("alice", "acme", "c_1")
    assert identity.claims["roles"] == ["pro"]
    assert identity.may_use_chat("c_1") and not identity.may_use_chat("c_2")
    assert not identity.is_admin
    assert identity.expires_at == expires
    assert timedelta(seconds=890) < expires - datetime.now(UTC) <= timedelta(seconds=900)


async def test_session_tokens_that_are_refused(verifier: TokenVerifier) -> None:
    key = session_signing_key(settings())
    assert key is not None and key != BROKER_SECRET
    now = datetime.now(UTC)
    base = {
        "sub": "alice",
        "app_id": "acme",
        "iss": "mozaiks-runtime",
        "exp": now + timedelta(minutes=5),
    }
    headers = {"kid": SESSION_KID}
    bad = [
        jwt.encode(base, key, headers=headers),  # no chat_id: a session token is always bound
        jwt.encode({**base, "chat_id": "c"}, BROKER_SECRET, headers=headers),  # the raw secret
        jwt.encode({**base, "chat_id": "c"}, USER_SECRET, headers=headers),  # the user key
        jwt.encode({**base, "chat_id": "c", "app_id": "other"}, key, headers=headers),
        jwt.encode({**base, "chat_id": "c", "iss": "someone"}, key, headers=headers),
        jwt.encode(
            {**base, "chat_id": "c", "exp": now - timedelta(minutes=1)}, key, headers=headers
        ),
    ]
    for token in bad:
        with pytest.raises(AuthError):
            await verifier.verify(token)
    # Another tenant's runtime (another broker secret) does not accept ours.
    other = TokenVerifier(settings(broker_jwt_secret=OTHER_BROKER_SECRET))
    good, _ = mint_session_token(settings(), user_id="alice", chat_id="c", claims={})
    with pytest.raises(AuthError):
        await other.verify(good)
    # Nor does a runtime without a broker.
    plain = TokenVerifier(settings(broker_jwt_secret=None))
    with pytest.raises(AuthError):
        await plain.verify(good)


@pytest.mark.parametrize(
    ("claims", "fragment"),
    [
        ({"sub": "bob"}, "sub"),
        ({"chat_id": "c_2"}, "chat_id"),
        ({"exp": 1, "app_id": "x"}, "app_id, exp"),
        ({"scope": "read mozaiks:admin"}, "mozaiks:admin"),
        ({"roles": ["mozaiks:broker"]}, "mozaiks:broker"),
        ({"blob": "x" * 5000}, "larger than"),
    ],
)
def test_claims_a_broker_cannot_pass(claims: dict[str, object], fragment: str) -> None:
    with pytest.raises(BadRequest) as info:
        check_user_claims(settings(), claims)
    assert fragment in info.value.message


def test_claims_a_broker_may_pass() -> None:
    claims = {"roles": ["pro"], "plan": "gold", "scope": "chat"}
    assert check_user_claims(settings(), claims) == claims


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"broker_jwt_secret": "short"}, "at least 32"),
        ({"broker_jwt_secret": USER_SECRET}, "must differ from MOZAIKS_JWT_SECRET"),
        ({"broker_scope": "mozaiks:admin"}, "must differ from MOZAIKS_ADMIN_SCOPE"),
    ],
)
def test_bad_broker_settings_fail_fast(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        settings(**overrides)
    assert fragment in str(info.value)
