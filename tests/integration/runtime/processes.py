"""Runtimes in their own processes, restartable on one port and database (SIGKILL tests)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx

from mozaiks_runtime.auth.mint import mint_token
from tests.integration.runtime.conftest import APP, SECRET

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


def runtime_env(tmp_path: Path, store: dict[str, Any], workflows: Path) -> dict[str, str]:
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


async def stored_events(port: int, chat_id: str) -> list[dict[str, Any]]:
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
