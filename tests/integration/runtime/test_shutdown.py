"""SIGTERM while an AG-UI stream follows a long run: the stream ends at once with RUN_ERROR
`OVERLOADED` (the client runs again to follow the chat), not when the run ends, so the process
shuts down cleanly (its runs left for the next process, the journal flushed) well inside a pod's
grace period and long before MOZAIKS_SHUTDOWN_GRACE_SECONDS would cut the stream; the next
process resumes the run and the chat's log is whole and gap-free."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from mozaiks_runtime.auth.mint import mint_token
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, SECRET, WORKFLOWS, free_port
from tests.integration.runtime.processes import RuntimeProcess, runtime_env, stored_events

pytestmark = pytest.mark.integration
GRACE = 8.0  # the cut; the stream must end well before it
RUN_SECONDS = 30 * 0.5  # the `stream` workflow: 30 messages, one every 0.5 s


async def test_sigterm_cuts_an_agui_stream_after_the_grace_and_loses_nothing(
    tmp_path: Path, store_settings: dict[str, Any]
) -> None:
    env = runtime_env(tmp_path, store_settings, WORKFLOWS) | {
        "MOZAIKS_SHUTDOWN_GRACE_SECONDS": str(GRACE),
        "SCRIPTED_STREAM_DELAY": str(RUN_SECONDS / 30),
    }
    port = free_port()
    argv = [sys.executable, "-m", "tests.integration.runtime.server", "--port", str(port)]
    proc = RuntimeProcess(argv, env, port, tmp_path / "runtime.log")
    token = mint_token(SECRET, user="alice", app=APP)
    body = {"threadId": "c_sigterm", "runId": "r1", "messages": [], "state": {}, "tools": []}
    body |= {"context": [], "forwardedProps": {}}
    try:
        await proc.start()
        assert proc.proc is not None
        headers = {"Authorization": f"Bearer {token}"}
        url = f"http://127.0.0.1:{port}/api/agui/stream"
        async with (
            httpx.AsyncClient(timeout=60) as client,
            client.stream("POST", url, json=body, headers=headers) as stream,
        ):
            assert stream.status_code == 200
            received, chunks = "", stream.aiter_text()
            async for chunk in chunks:
                received += chunk
                if '"delta":"message 2"' in received:
                    break
            proc.proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            async for chunk in chunks:
                received += chunk
            ended = time.monotonic() - signalled
            await proc.proc.wait()
            took = time.monotonic() - signalled
        assert ended < 5 and took < GRACE, (ended, took)  # not held until the cut or the run's end
        assert proc.proc.returncode in (0, -signal.SIGTERM), proc.log.read_text()[-3000:]
        last = json.loads(received.strip().rsplit("data: ", 1)[-1])
        assert last["type"] == "RUN_ERROR" and last["code"] == "OVERLOADED", last
        assert "RUN_FINISHED" not in received
        assert "Traceback" not in proc.log.read_text()

        await proc.start()  # the next process: a client connects and the run goes on
        late = await ChatSocket.open(proc.ws_url("stream", "c_sigterm", last_seq=0), token)
        await late.until("chat.run_complete", wait=60)
        await late.close()
        stored = await stored_events(port, "c_sigterm")
        assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
        texts = [e["data"]["content"] for e in stored if e["type"] == "chat.text"]
        assert texts == [f"message {n}" for n in range(1, 31)]
    finally:
        await proc.stop()
