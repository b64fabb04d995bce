"""How soon a run whose replica died goes on elsewhere, with nobody connected.

    .venv/bin/python -m bench.orphan_resume [--store sqlite|mongo] [--kills 20] [--ttl 3]
                                            [--sweep 0.5]

A surviving replica (`bench.runtime_server`) serves the app's store throughout. Each round starts
a lease holder in its own process, opens a `paced` chat on it (one event every 50 ms), closes the
socket after three events, then SIGKILLs the holder. The figure per round is the time from the
SIGKILL to the resumed run's first event (its `chat.run_start`, stamped by the survivor), read
from the store; the survivor then cancels the run. The floor is the lease itself: nobody may take
it before it expires, between 2/3 TTL and one TTL after the kill (it is renewed every TTL/3), so
the ratio printed is against the TTL. `--store mongo` starts FerretDB (`hack/ferretdb`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from bench.ws_throughput import ROOT, free_port, serve

APP = "bench"


def environment(secret: str, workdir: Path, args: argparse.Namespace) -> dict[str, str]:
    env = {
        "MOZAIKS_APP_ID": APP,
        "MOZAIKS_JWT_SECRET": secret,
        "MOZAIKS_WORKFLOWS_DIR": str(ROOT / "bench" / "workflows"),
        "MOZAIKS_SQLITE_PATH": str(workdir / "bench.sqlite3"),
        "MOZAIKS_LEASE_TTL_SECONDS": str(args.ttl),
        "MOZAIKS_ORPHAN_SWEEP_SECONDS": str(args.sweep),
        "MOZAIKS_LOG_LEVEL": "WARNING",
        "BENCH_PACED_EVENTS": "400",
        "BENCH_INTERVAL": "0.05",
    }
    if args.mongo_uri:
        env |= {"MOZAIKS_MONGO_URI": args.mongo_uri, "MOZAIKS_MONGO_DATABASE": workdir.name}
    return env


async def resumed_after(survivor: int, chat_id: str, killed_at: float, token: str) -> float:
    """Seconds from the kill to the survivor's `chat.run_start` of the chat (its second one)."""
    headers = {"Authorization": f"Bearer {token}"}
    url = f"http://127.0.0.1:{survivor}/api/sessions/{chat_id}/events"
    async with httpx.AsyncClient(headers=headers) as client, asyncio.timeout(120):
        while True:
            found = (await client.get(url, params={"limit": 1000})).json()["events"]
            starts = [e for e in found if e["type"] == "chat.run_start"]
            if len(starts) >= 2:
                resumed = datetime.fromisoformat(starts[1]["timestamp"]).timestamp()
                await client.post(
                    f"http://127.0.0.1:{survivor}/api/sessions/{chat_id}/cancel",
                    json={"reason": "bench round over"},
                )
                return resumed - killed_at
            await asyncio.sleep(0.02)


async def one_round(n: int, env: dict[str, str], survivor: int, token: str) -> float:
    port = free_port()
    argv = [sys.executable, "-m", "bench.runtime_server", "--port", str(port)]
    with serve(argv, port, env | {"MOZAIKS_REPLICA_ID": f"holder-{n}"}, "/api/ready") as holder:
        url = f"ws://127.0.0.1:{port}/ws/paced/{APP}/k{n}/u0"
        async with connect(url, subprotocols=[Subprotocol("bearer"), Subprotocol(token)]) as ws:
            texts = 0
            while texts < 3:
                texts += json.loads(await ws.recv())["type"] == "chat.text"
        await asyncio.sleep(0.1)  # nobody connected; the run goes on
        killed_at = time.time()
        holder.process.kill()
        holder.process.wait()
    return await resumed_after(survivor, f"k{n}", killed_at, token)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(args: argparse.Namespace, env: dict[str, str], token: str) -> list[str]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.runtime_server", "--port", str(port)]
    delays: list[float] = []
    with serve(argv, port, env | {"MOZAIKS_REPLICA_ID": "survivor"}, "/api/ready"):
        for n in range(args.kills):
            delays.append(await one_round(n, env, port, token))
            print(f"kill {n + 1:2d}: resumed after {delays[-1]:.2f} s", flush=True)
    p50, p99 = statistics.median(delays), percentile(delays, 0.99)
    return [
        f"{args.kills} SIGKILLs of the lease holder ({args.store}, TTL {args.ttl:g} s,"
        f" sweep every {args.sweep:g} s), no client connected:",
        f"  kill -> first resumed event  p50 {p50:.2f} s  p99 {p99:.2f} s"
        f"  min {min(delays):.2f} s  max {max(delays):.2f} s",
        f"  floor (the lease's TTL) {args.ttl:g} s  ratio p50 {p50 / args.ttl:.2f}x"
        f"  p99 {p99 / args.ttl:.2f}x",
    ]


def main() -> None:
    from mozaiks_runtime.auth.mint import mint_token

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "mongo"], default="sqlite")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--ttl", type=float, default=3.0, help="MOZAIKS_LEASE_TTL_SECONDS")
    parser.add_argument("--sweep", type=float, default=0.5, help="MOZAIKS_ORPHAN_SWEEP_SECONDS")
    args = parser.parse_args()
    args.mongo_uri = None
    secret = os.urandom(32).hex()
    token = mint_token(secret, user="u0", app=APP, ttl=timedelta(hours=2))
    workdir = Path(tempfile.mkdtemp(prefix="mozaiks-orphans-"))
    ferret = None
    if args.store == "mongo":
        from tests.harness.services import Service

        ferret = Service("ferretdb", workdir / "ferretdb", "MOZAIKS_FERRETDB_DIR")
        args.mongo_uri = ferret.up()["MOZAIKS_MONGO_URI"]
    try:
        lines = asyncio.run(measure(args, environment(secret, workdir, args), token))
    finally:
        if ferret is not None and ferret.started_here:
            ferret.down()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
