"""/metrics on a port of its own (MOZAIKS_METRICS_PORT): a runtime process serves the exposition
there, the chats' port answers 404, and the load gauges (open sockets, runs executing) move
while a chat streams (and the event delay is observed); after shutdown the metrics port is
closed."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mozaiks_runtime.auth.mint import mint_token
from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, SECRET, WORKFLOWS, free_port
from tests.integration.runtime.processes import RuntimeProcess, runtime_env

pytestmark = pytest.mark.integration


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(url)


async def scrape(port: int) -> dict[str, float]:
    text = (await get(f"http://127.0.0.1:{port}/metrics")).text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


async def test_metrics_live_on_their_own_port(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    env = runtime_env(tmp_path, {}, WORKFLOWS) | {
        "MOZAIKS_METRICS_PORT": str(metrics_port),
        "MOZAIKS_METRICS_HOST": "127.0.0.1",
        "SCRIPTED_STREAM_DELAY": "0.2",  # the stream runs about 6 s: time to look at it
    }
    argv = [sys.executable, "-m", "tests.integration.runtime.server", "--port", str(port)]
    runtime = RuntimeProcess(argv, env, port, tmp_path / "runtime.log")
    await runtime.start()
    try:
        assert (await get(f"http://127.0.0.1:{port}/metrics")).status_code == 404
        idle = await scrape(metrics_port)
        assert idle["mozaiks_ws_open"] == 0 and idle["mozaiks_runs_active"] == 0

        token = mint_token(SECRET, user="alice", app=APP)
        sock = await ChatSocket.open(runtime.ws_url("stream", "c_metrics"), token)
        await sock.until("chat.text", content="message 2")
        busy = await scrape(metrics_port)
        assert busy["mozaiks_ws_open"] == 1 and busy["mozaiks_runs_active"] == 1
        assert busy["mozaiks_event_publish_delay_seconds_count"] >= 1  # events went out
        await sock.close()
    finally:
        await runtime.stop()
    with pytest.raises(httpx.TransportError):
        await get(f"http://127.0.0.1:{metrics_port}/metrics")
