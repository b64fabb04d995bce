"""mint_token makes exactly the claims the verifier reads; parse_ttl reads the CLI's --ttl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from mozaiks_runtime.auth.mint import mint_token, parse_ttl
from mozaiks_runtime.auth.verify import TokenVerifier
from mozaiks_runtime.config import Settings
from mozaiks_runtime.errors import AuthError

pytestmark = pytest.mark.unit

SECRET = "mint-test-secret-long-enough-for-hs256-0123"


def test_claims() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    token = mint_token(
        SECRET,
        user="u",
        app="a",
        admin=True,
        ttl=timedelta(minutes=5),
        chat_id="c",
        issuer="https://iss",
        audience="aud",
        admin_scope="x:admin",
        now=now,
    )
    claims = jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_exp": False}, audience="aud"
    )
    assert claims == {
        "sub": "u",
        "app_id": "a",
        "iat": 1767225600,
        "nbf": 1767225600,
        "exp": 1767225900,
        "chat_id": "c",
        "iss": "https://iss",
        "aud": "aud",
        "scope": "x:admin",
    }
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


async def test_minted_tokens_pass_the_verifier_until_they_expire() -> None:
    verifier = TokenVerifier(Settings.load(app_id="acme", jwt_secret=SECRET, jwt_leeway_seconds=0))
    assert (await verifier.verify(mint_token(SECRET, user="u", app="acme"))).user_id == "u"
    stale = mint_token(SECRET, user="u", app="acme", now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(AuthError):
        await verifier.verify(stale)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        mint_token("", user="u", app="a")
    with pytest.raises(ValueError):
        mint_token(SECRET, user="u", app="a", ttl=timedelta(0))


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("30", 30)]
)
def test_parse_ttl(text: str, seconds: int) -> None:
    assert parse_ttl(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "m", "-5m", "0", "soon"])
def test_parse_ttl_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ttl(text)


async def test_a_dev_auth_verifier_without_keys_trusts_no_token() -> None:
    verifier = TokenVerifier(Settings.load(app_id="acme", dev_auth=True))
    for token in (
        jwt.encode({"sub": "dev", "app_id": "acme", "exp": 4_000_000_000}, "k" * 40),
        mint_token(SECRET, user="dev", app="acme"),
    ):
        with pytest.raises(AuthError):
            await verifier.verify(token)
