"""A real runtime (tests/integration/runtime/conftest.py's `serve`, SQLite, scripted runner) that
checks issuer and audience, plus helpers to mint good and bad tokens and open sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mozaiks_runtime.auth.mint import mint_token
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, SECRET, Runtime, base_settings, serve

ISSUER = "https://idp.test"
AUDIENCE = "mozaiks"


def token(user: str = "alice", **claims: Any) -> str:
    """A valid token of this tenant (unless the claims say otherwise)."""
    claims.setdefault("issuer", ISSUER)
    claims.setdefault("audience", AUDIENCE)
    return mint_token(SECRET, user=user, app=claims.pop("app", APP), **claims)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def auth(user: str = "alice", **claims: Any) -> dict[str, str]:
    return bearer(token(user, **claims))


async def socket(
    rt: Runtime,
    chat: str,
    *,
    user: str = "alice",
    as_user: str | None = None,
    workflow: str = "scripted",
    via: str = "subprotocol",
    **claims: Any,
) -> ChatSocket:
    """A socket on `user`'s path, authenticated as `as_user` (default: the same user)."""
    return await ChatSocket.open(
        rt.ws_url(workflow, chat, user), token(as_user or user, **claims), via=via
    )


async def refused(sock: ChatSocket) -> tuple[int | None, str]:
    """The close code and reason of a socket the server refused; fails if it sent any event."""
    code, reason = await sock.closed()
    assert sock.frames == [], sock.frames
    return code, reason


async def create_chat(rt: Runtime, user: str = "alice", workflow: str = "scripted") -> str:
    response = await rt.http.post(
        "/api/sessions", json={"workflow_name": workflow}, headers=auth(user)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["chat_id"])


def error_of(response: httpx.Response) -> tuple[int, str | None]:
    return response.status_code, response.json().get("error_code")


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    async with serve(base_settings(tmp_path, jwt_issuer=ISSUER, jwt_audience=AUDIENCE)) as runtime:
        yield runtime
