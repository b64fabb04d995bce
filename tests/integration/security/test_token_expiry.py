"""A socket lives no longer than the token it was opened with: at `exp` (plus the leeway) the
client gets chat.error TOKEN_EXPIRED and a 1008 close; a fresh token reconnects and resumes."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from mozaiks_runtime.auth.mint import mint_token
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, SECRET, base_settings, serve

pytestmark = pytest.mark.integration


async def test_socket_closes_when_its_token_expires_and_a_fresh_token_resumes(
    tmp_path: Path,
) -> None:
    async with serve(base_settings(tmp_path, jwt_leeway_seconds=0)) as rt:
        short = mint_token(SECRET, user="alice", app=APP, ttl=timedelta(seconds=2))
        sock = await ChatSocket.open(rt.ws_url("scripted", "c_exp"), short)
        assert (await sock.recv())["type"] == "chat_meta"
        await sock.send({"type": "user.input.submit", "chat_id": "c_exp", "text": "hi"})
        await sock.until("chat.input_request")
        opened = time.monotonic()

        code, reason = await sock.closed(wait=10)
        assert (code, reason) == (1008, "token expired")
        assert time.monotonic() - opened < 5
        errors = sock.of_type("chat.error")
        assert [e["data"]["error_code"] for e in errors] == ["TOKEN_EXPIRED"]

        # The expired token opens nothing; a fresh one picks the chat up where it was.
        stale = await ChatSocket.open(rt.ws_url("scripted", "c_exp"), short)
        assert (await stale.closed())[0] == 1008
        assert stale.frames == []
        fresh = await ChatSocket.open(
            rt.ws_url("scripted", "c_exp", last_seq=sock.seqs()[-1]), rt.token("alice")
        )
        meta = await fresh.recv()
        assert meta["data"]["status"] == "waiting"
        boundary = await fresh.until("chat.resume_boundary")
        assert boundary["data"]["replayed_events"] == 0
        await fresh.close()


async def test_long_lived_token_keeps_its_socket(tmp_path: Path) -> None:
    async with serve(base_settings(tmp_path, jwt_leeway_seconds=0)) as rt:
        sock = await ChatSocket.open(rt.ws_url("scripted", "c_long"), rt.token("alice"))
        assert (await sock.recv())["type"] == "chat_meta"
        await sock.send({"type": "ping"})
        with pytest.raises(TimeoutError):
            await sock.closed(wait=3)
        assert sock.of_type("chat.error") == []
        await sock.close()
