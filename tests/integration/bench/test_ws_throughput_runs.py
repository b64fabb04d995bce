"""The WebSocket benchmark still runs end to end (both servers, every scenario) at a tiny size.
No figure is checked: performance is measured by running the benchmark, not in tests; this only
keeps the benchmark from rotting (a lost event, for one, makes it exit non-zero)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def test_the_benchmark_runs_every_scenario() -> None:
    tiny = [
        "--chats", "3", "--events", "5", "--repeat", "1", "--idle", "5",
        "--paced-chats", "3", "--paced-events", "3", "--paced-spread", "0.2",
        "--engine-chats", "1",
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bench.ws_throughput", *tiny],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = done.stdout.split("\nsummary\n", 1)[1]
    for line in (
        "3 concurrent chats x 5 events (median of 1 runs):",
        "starting over 0.2 s:",
        "all starting in the same instant:",
        "5 idle sockets:",
        "engine (AG2 + demo model), 1 concurrent `bench_engine` chats:",
    ):
        assert line in summary, summary
