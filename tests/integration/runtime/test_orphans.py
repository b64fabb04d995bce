"""Runs finish with nobody connected: SIGKILL the replica running a chat after its client left;
a surviving replica's sweeper resumes the run without any client (exactly one of two survivors
does), and a client that connects afterwards replays every event once, gap-free (both stores).
A stop reaches a run on another live replica through the store."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from mozaiks_runtime.auth.mint import mint_token
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, SECRET, WORKFLOWS, free_port
from tests.integration.runtime.processes import RuntimeProcess, runtime_env, stored_events

pytestmark = pytest.mark.integration
TTL = 3


@asynccontextmanager
async def replicas(
    tmp_path: Path, store: dict[str, Any], names: list[str], env: dict[str, str] | None = None
) -> AsyncIterator[dict[str, RuntimeProcess]]:
    """Started runtime processes, one per replica id, on one store; stopped at the end."""
    base = runtime_env(tmp_path, store, WORKFLOWS) | {
        "MOZAIKS_LEASE_TTL_SECONDS": str(TTL),
        "MOZAIKS_ORPHAN_SWEEP_SECONDS": "0.5",
        "SCRIPTED_STREAM_DELAY": "0.2",  # 30 messages in 6 s: time to kill mid-run
        **(env or {}),
    }
    argv = [sys.executable, "-m", "tests.integration.runtime.server", "--port"]
    found: dict[str, RuntimeProcess] = {}
    async with AsyncExitStack() as stack:
        for name in names:
            port = free_port()
            env = base | {"MOZAIKS_REPLICA_ID": name}
            process = RuntimeProcess([*argv, str(port)], env, port, tmp_path / f"{name}.log")
            stack.push_async_callback(process.stop)
            await process.start()
            found[name] = process
        yield found


async def session(port: int, chat_id: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {mint_token(SECRET, user='alice', app=APP)}"}
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"http://127.0.0.1:{port}/api/sessions/{chat_id}", headers=headers
        )
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


async def until_stored(port: int, chat_id: str, content: str, wait: float = 30) -> None:
    async with asyncio.timeout(wait):
        while True:
            if any(e["data"].get("content") == content for e in await stored_events(port, chat_id)):
                return
            await asyncio.sleep(0.1)


async def until_status(port: int, chat_id: str, status: str, wait: float = 60) -> None:
    async with asyncio.timeout(wait):
        while True:
            if (await session(port, chat_id))["status"] == status:
                return
            await asyncio.sleep(0.2)


async def test_a_run_finishes_on_another_replica_with_nobody_connected(
    tmp_path: Path, store_settings: dict[str, Any]
) -> None:
    token = mint_token(SECRET, user="alice", app=APP)
    async with replicas(tmp_path, store_settings, ["replica-a", "replica-b", "replica-c"]) as up:
        a, b, c = up["replica-a"], up["replica-b"], up["replica-c"]
        first = await ChatSocket.open(a.ws_url("stream", "c_orphan"), token)  # starts on A
        await first.until("chat.text", content="message 2")
        await first.close()  # nobody connected from here on
        await until_stored(a.port, "c_orphan", "message 6")
        await a.kill()

        await until_status(b.port, "c_orphan", "completed")  # no client: B or C resumes it

        late = await ChatSocket.open(c.ws_url("stream", "c_orphan", last_seq=0), token)
        await late.until("chat.run_complete")
        await late.close()
        stored = await stored_events(b.port, "c_orphan")
        seqs = [e["seq"] for e in stored]
        assert seqs == list(range(1, len(stored) + 1))  # gap-free in the store
        assert late.seqs() == seqs  # the late client got every event, once, in order
        texts = [e["data"]["content"] for e in stored if e["type"] == "chat.text"]
        assert texts == [f"message {n}" for n in range(1, 31)]
        # The run, then exactly one resumption (two sweepers raced for it).
        assert [e["type"] for e in stored].count("chat.run_start") == 2
        assert stored[-1]["type"] == "chat.run_complete"


async def test_a_stop_reaches_the_run_on_another_live_replica(
    tmp_path: Path, store_settings: dict[str, Any]
) -> None:
    token = mint_token(SECRET, user="alice", app=APP)
    async with replicas(tmp_path, store_settings, ["replica-a", "replica-b"]) as up:
        a, b = up["replica-a"], up["replica-b"]
        sock = await ChatSocket.open(a.ws_url("stream", "c_far"), token)  # runs on A
        await sock.until("chat.text", content="message 2")
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"http://127.0.0.1:{b.port}/api/sessions/c_far/cancel",
                json={"reason": "from the other replica"},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert response.status_code == 200, response.text
        assert response.json()["cancelled"] is True
        cancelled = await sock.until("chat.run_cancelled")
        assert cancelled["data"]["by"] == "alice"
        assert cancelled["data"]["reason"] == "from the other replica"
        await sock.close()
        stored = await stored_events(b.port, "c_far")
        texts = [e["data"]["content"] for e in stored if e["type"] == "chat.text"]
        assert 2 <= len(texts) < 30  # stopped mid-stream; what it wrote before stays
        assert (await session(b.port, "c_far"))["status"] == "idle"
