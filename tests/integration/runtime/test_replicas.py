"""Two replicas on one MongoDB (FerretDB): a chat is served from either, run by one at a time,
and taken over when the replica running it dies."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mozaiks_runtime.auth.mint import mint_token
from mozaiks_runtime.refs import ChatRef
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import (
    APP,
    SECRET,
    WORKFLOWS,
    base_settings,
    free_port,
    serve,
)
from tests.integration.runtime.processes import RuntimeProcess, runtime_env, stored_events

pytestmark = pytest.mark.integration


async def test_a_chat_served_by_two_replicas(
    tmp_path: Path, ferretdb: str, mongo_database: str
) -> None:
    store = {"mongo_uri": ferretdb, "mongo_database": mongo_database}
    async with (
        serve(base_settings(tmp_path, replica_id="replica-a", **store)) as a,
        serve(base_settings(tmp_path, replica_id="replica-b", **store)) as b,
    ):
        on_a = await a.socket("scripted", "c_two")
        await on_a.until("chat_meta")
        on_b = await b.socket("scripted", "c_two")
        await on_b.until("chat_meta")
        await on_a.send({"type": "user.input.submit", "text": "hi"})  # the run starts on A
        request = await on_b.until("chat.input_request")  # B sees it through the store
        await on_b.send(
            {
                "type": "user.input.submit",
                "text": "Ada",
                "input_request_id": request["data"]["request_id"],
            }
        )  # A's run, waiting, finds the answer in the store
        ui = await on_a.until("chat.tool_call", awaiting_response=True)
        await on_b.until("chat.tool_call", awaiting_response=True)
        await on_b.send({"type": "ui_tool_response", "eventId": ui["data"]["corr"], "response": {}})
        await on_a.until("chat.run_complete")
        await on_b.until("chat.run_complete")
        await a.wait_idle("c_two")
        assert not b.services.runs.holds(ChatRef(APP, "c_two"))  # B never ran it
        assert on_a.seqs() == on_b.seqs() == list(range(1, len(on_a.seqs()) + 1))
        await on_a.close()
        await on_b.close()


async def test_a_surviving_replica_takes_over_after_the_lease_expires(
    tmp_path: Path, ferretdb: str, mongo_database: str
) -> None:
    store = {"mongo_uri": ferretdb, "mongo_database": mongo_database}
    port = free_port()
    env = runtime_env(tmp_path, store, WORKFLOWS) | {
        "MOZAIKS_REPLICA_ID": "replica-a",
        "MOZAIKS_LEASE_TTL_SECONDS": "3",
    }
    argv = [sys.executable, "-m", "tests.integration.runtime.server", "--port", str(port)]
    dying = RuntimeProcess(argv, env, port, tmp_path / "a.log")
    token = mint_token(SECRET, user="alice", app=APP)
    try:
        await dying.start()
        first = await ChatSocket.open(dying.ws_url("stream", "c_take"), token)
        await first.until("chat.text", content="message 4")
        await dying.kill()
    finally:
        await dying.stop()
    settings = base_settings(tmp_path, replica_id="replica-b", lease_ttl_seconds=3, **store)
    async with serve(settings) as b:
        seen = first.seqs()[-1]
        second = await b.socket("stream", "c_take", last_seq=seen)
        assert (await second.recv())["data"]["status"] == "running"
        await second.until("chat.run_complete", wait=30)  # after A's lease ran out
        assert second.seqs() == list(range(seen + 1, seen + 1 + len(second.seqs())))
        stored = await stored_events(b.port, "c_take")
        texts = [e["data"]["content"] for e in stored if e["type"] == "chat.text"]
        assert texts == [f"message {n}" for n in range(1, 31)]
        assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
        await second.close()
