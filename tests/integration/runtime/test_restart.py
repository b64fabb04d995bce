"""SIGKILL the runtime process mid-run, start it again, reconnect: the chat continues from its
persisted history with no event lost or duplicated (both stores; scripted and real engine)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mozaiks_runtime.auth.mint import mint_token
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, SECRET, WORKFLOWS, free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


class RuntimeProcess:
    """One runtime in its own process, restartable on the same port and database."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.argv, self.env, self.port, self.log = argv, env, port, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )
        async with httpx.AsyncClient() as client, asyncio.timeout(60):
            while True:
                assert self.proc.returncode is None, self.log.read_text()[-3000:]
                try:
                    ready = await client.get(f"http://127.0.0.1:{self.port}/api/ready")
                    if ready.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no shutdown code runs
        await asyncio.wait_for(self.proc.wait(), 10)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                await self.kill()

    def ws_url(self, workflow: str, chat_id: str, **query: Any) -> str:
        url = f"ws://127.0.0.1:{self.port}/ws/{workflow}/{APP}/{chat_id}/alice"
        return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _env(tmp_path: Path, store: dict[str, Any], workflows: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOZAIKS_")}
    env.update(
        MOZAIKS_APP_ID=APP,
        MOZAIKS_JWT_SECRET=SECRET,
        MOZAIKS_WORKFLOWS_DIR=str(workflows),
        MOZAIKS_SQLITE_PATH=str(tmp_path / "runtime.sqlite3"),
        MOZAIKS_REPLICA_ID="restart-test",  # the restarted process is the same replica
        MOZAIKS_LOG_LEVEL="WARNING",
    )
    if store:
        env["MOZAIKS_MONGO_URI"] = store["mongo_uri"]
        env["MOZAIKS_MONGO_DATABASE"] = store["mongo_database"]
    return env


@pytest.fixture
async def scripted_process(
    tmp_path: Path, store_settings: dict[str, Any]
) -> AsyncIterator[RuntimeProcess]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.integration.runtime.server", "--port", str(port)]
    process = RuntimeProcess(
        argv, _env(tmp_path, store_settings, WORKFLOWS), port, tmp_path / "log"
    )
    yield process
    await process.stop()


async def _events(port: int, chat_id: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {mint_token(SECRET, user='alice', app=APP)}"}
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"http://127.0.0.1:{port}/api/sessions/{chat_id}/events",
            params={"limit": 1000},
            headers=headers,
        )
    response.raise_for_status()
    events: list[dict[str, Any]] = response.json()["events"]
    return events


async def test_sigkill_mid_stream_then_resume(scripted_process: RuntimeProcess) -> None:
    proc = scripted_process
    token = mint_token(SECRET, user="alice", app=APP)
    await proc.start()
    sock = await ChatSocket.open(proc.ws_url("stream", "c_kill"), token)
    await sock.until("chat.text", content="message 5")
    await proc.kill()
    seen = sock.seqs()
    await proc.start()

    again = await ChatSocket.open(proc.ws_url("stream", "c_kill", last_seq=seen[-1]), token)
    meta = await again.recv()
    assert meta["data"]["status"] == "running" and meta["data"]["last_seq"] >= seen[-1]
    await again.until("chat.run_complete", wait=30)
    await again.close()

    # On the wire: the second socket continued exactly after the first one.
    assert seen == list(range(1, len(seen) + 1))
    assert again.seqs() == list(range(seen[-1] + 1, seen[-1] + 1 + len(again.seqs())))
    # In the store: every message once, in order, seqs gap-free.
    stored = await _events(proc.port, "c_kill")
    assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
    texts = [e["data"]["content"] for e in stored if e["type"] == "chat.text"]
    assert texts == [f"message {n}" for n in range(1, 31)]
    assert [e["type"] for e in stored].count("chat.run_start") == 2  # the run, then its resumption
    assert stored[-1]["type"] == "chat.run_complete"


async def test_sigkill_while_waiting_for_input_with_the_real_engine(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "mozaiks_runtime", "runtime", "--host", "127.0.0.1"]
    env = _env(tmp_path, {}, REPO / "workflows")
    proc = RuntimeProcess([*argv, "--port", str(port)], env, port, tmp_path / "log")
    token = mint_token(SECRET, user="alice", app=APP)
    try:
        await proc.start()
        sock = await ChatSocket.open(proc.ws_url("hello", "c_hello"), token)
        request = await sock.until("chat.input_request", wait=30)
        assert request["data"]["prompt"] == "Hello! What is your name?"
        await proc.kill()
        before = await sock.closed()
        assert before[0] != 1000  # the process died; no clean close
        await proc.start()

        again = await ChatSocket.open(
            proc.ws_url("hello", "c_hello", last_seq=sock.seqs()[-1]), token
        )
        meta = await again.recv()
        assert meta["data"]["status"] == "waiting"
        boundary = await again.until("chat.resume_boundary")
        assert boundary["data"]["replayed_events"] == 0
        # The question asked before the crash is still open and answerable.
        request_id = request["data"]["request_id"]
        await again.send(
            {"type": "user.input.submit", "text": "Ada", "input_request_id": request_id}
        )
        await again.until("chat.input_ack", request_id=request_id, wait=30)
        while True:
            frame = await again.recv(wait=30)
            if frame["type"] == "chat.input_request":  # the demo model may ask once more
                await again.send(
                    {
                        "type": "user.input.submit",
                        "text": "Ada",
                        "input_request_id": frame["data"]["request_id"],
                    }
                )
            if frame["type"] == "chat.run_complete":
                break
        await again.close()
        stored = await _events(port, "c_hello")
        assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
        assert [e["seq"] for e in stored[: len(sock.seqs())]] == sock.seqs()
        users = [
            e["data"]["content"]
            for e in stored
            if e["type"] == "chat.text" and e["data"]["role"] == "user"
        ]
        assert users[0] == "Ada"
        assert stored[-1]["data"]["status"] == "completed"
    finally:
        await proc.stop()
