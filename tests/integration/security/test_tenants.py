"""Two tenants' runtimes on one database file (a misconfiguration the store must survive) and one
signing secret: neither sees the other's chats, usage or users, even for the same user name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mozaiks_runtime.auth.mint import mint_token
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import SECRET, Runtime, base_settings, serve

pytestmark = pytest.mark.integration


def auth(app: str, user: str = "alice", *, admin: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(SECRET, user=user, app=app, admin=admin)}"}


async def chat_with_usage(rt: Runtime, app: str) -> str:
    created = await rt.http.post(
        "/api/sessions", json={"workflow_name": "scripted"}, headers=auth(app)
    )
    assert created.status_code == 201, created.text
    chat_id = str(created.json()["chat_id"])
    token = auth(app)["Authorization"][7:]
    sock = await ChatSocket.open(rt.ws_url("scripted", chat_id, app=app), token)
    await sock.send({"type": "user.input.submit", "chat_id": chat_id, "text": "hi"})
    await sock.until("chat.input_request")  # 15 tokens spent
    await sock.close()
    return chat_id


@pytest.fixture(params=["sqlite", "mongo"])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Settings that put both tenants in one database, on each storage adapter."""
    if request.param == "sqlite":
        return {"sqlite_path": tmp_path / "shared.sqlite3"}
    return {
        "mongo_uri": request.getfixturevalue("ferretdb"),
        "mongo_database": request.getfixturevalue("mongo_database"),
    }


async def test_tenants_sharing_a_database_stay_apart(
    tmp_path: Path, shared_database: dict[str, Any]
) -> None:
    shared = shared_database
    async with (
        serve(base_settings(tmp_path, app_id="acme", **shared)) as acme,
        serve(base_settings(tmp_path, app_id="globex", **shared)) as globex,
    ):
        acme_chat = await chat_with_usage(acme, "acme")
        globex_chat = await chat_with_usage(globex, "globex")

        # A token of one tenant is worthless at the other, even signed with the same secret.
        assert (await acme.http.get("/api/sessions", headers=auth("globex"))).status_code == 401
        sock = await ChatSocket.open(
            acme.ws_url("scripted", globex_chat, app="globex"), auth("globex")["Authorization"][7:]
        )
        assert (await sock.closed())[0] == 1008

        # The same user name at acme cannot reach globex's chat, which acme does not know.
        for path in (f"/api/sessions/{globex_chat}", f"/api/sessions/{globex_chat}/events"):
            assert (await acme.http.get(path, headers=auth("acme"))).status_code == 404
        exists = await acme.http.get(
            f"/api/chats/exists/acme/scripted/{globex_chat}", headers=auth("acme")
        )
        assert exists.json() == {"exists": False}

        # Admins see their own tenant only: chats and usage.
        admin = auth("acme", admin=True)
        listed = (await acme.http.get("/api/sessions?user_id=*", headers=admin)).json()
        assert [s["chat_id"] for s in listed["sessions"]] == [acme_chat]
        usage = (await acme.http.get("/api/usage?user_id=*", headers=admin)).json()
        assert usage["app_id"] == "acme"
        assert usage["total"]["total_tokens"] == 15
        own = (await globex.http.get("/api/usage", headers=auth("globex"))).json()
        assert own["total"]["total_tokens"] == 15
