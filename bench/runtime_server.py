"""`python -m bench.runtime_server --port P [--engine]`: the real runtime for the benchmark.

Everything is the production path (uvicorn, JWT checks, WebSocket edge, chat service, journal
persisted before fan-out, hub) except what produces the events: by default a runner that emits
`BENCH_EVENTS` small messages as fast as the chat service takes them, so the benchmark measures
our event path and not a model; with `--engine`, the AG2 engine on the demo model."""

from __future__ import annotations

import argparse
import asyncio
import os

import uvicorn

from mozaiks_runtime.app import create_app
from mozaiks_runtime.config import Settings
from mozaiks_runtime.engine.base import RunIO, RunOutcome, RunRequest, TextMessage
from mozaiks_runtime.lifespan import RunnerFactory, default_runner
from mozaiks_runtime.serving import server_options


class BurstRunner:
    """Emits numbered messages (each one persisted, then sent): `count` back to back, or, when
    the chat's workflow is `paced` (a model streaming steadily), `paced_count` of them one every
    `interval` seconds."""

    def __init__(self, count: int, paced_count: int, interval: float) -> None:
        self.count = count
        self.paced_count = paced_count
        self.interval = interval

    async def run(self, request: RunRequest, io: RunIO) -> RunOutcome:
        paced = request.workflow.name == "paced"
        for n in range(1, (self.paced_count if paced else self.count) + 1):
            if paced:
                await asyncio.sleep(self.interval)
            await io.emit(TextMessage("Bench", f"event {n}"))
        return RunOutcome("completed", summary="burst", last_agent="Bench")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--engine", action="store_true", help="run workflows on AG2 (demo model)")
    args = parser.parse_args()
    count = int(os.environ.get("BENCH_EVENTS", "100"))
    interval = float(os.environ.get("BENCH_INTERVAL", "0.1"))
    runner = BurstRunner(count, int(os.environ.get("BENCH_PACED_EVENTS", "50")), interval)
    factory: RunnerFactory = default_runner if args.engine else (lambda _s: runner)
    settings = Settings.load()
    app = create_app(settings, runner_factory=factory)
    uvicorn.run(app, host="127.0.0.1", port=args.port, **server_options(settings))


if __name__ == "__main__":
    main()
