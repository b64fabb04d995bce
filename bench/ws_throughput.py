"""Runtime WebSocket benchmark against its floor, in one run on one machine.

    .venv/bin/python -m bench.ws_throughput [--chats 200] [--events 100] [--repeat 3]
                                            [--idle 2000,5000]

Starts (1) a bare uvicorn WebSocket server that pushes frames shaped like ours and (2) the real
runtime (`mozaiks runtime`, SQLite, a streaming bench workflow on the demo model, real JWTs),
then drives both with the same client: events/s and p50/p99 delivery latency for N concurrent
streaming chats, and server memory per idle connection. Prints each figure and its ratio to the
floor. Every runtime event is persisted before it is sent, so the ratio is the price of that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from bench.loadgen import StreamStats, open_idle, rss_kib, run_streams

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def serve(argv: list[str], port: int, env: dict[str, str], health: str) -> Iterator[Server]:
    """Run a server subprocess until `health` answers, yield it, stop it with SIGTERM."""
    process = subprocess.Popen(argv, env={**os.environ, **env}, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}{health}", timeout=1).status_code < 500:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{argv} did not become ready")
            time.sleep(0.2)
        yield Server(process, port)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Target:
    """How to reach one server: stream and idle URLs, and the subprotocols of socket i."""

    name: str
    server: Server
    stream_url: str
    idle_url: str
    paced_url: str
    tokens: list[str]

    def subprotocols(self, i: int) -> list[str]:
        return ["bearer", self.tokens[i]] if self.tokens else []

    def paced_urls(self, chats: int, events: int, interval: float, tag: str) -> list[str]:
        return [
            self.paced_url.format(chat=f"{tag}-{i}", user=f"u{i}", n=events, interval=interval)
            for i in range(chats)
        ]

    def stream_urls(self, chats: int, events: int, tag: str) -> list[str]:
        return [
            self.stream_url.format(chat=f"{tag}-{i}", user=f"u{i}", n=events) for i in range(chats)
        ]

    def idle_urls(self, count: int, tag: str) -> list[str]:
        return [self.idle_url.format(chat=f"{tag}-{i}", user=f"u{i}") for i in range(count)]


async def measure_streams(target: Target, chats: int, events: int, tag: str) -> StreamStats:
    return await run_streams(
        target.stream_urls(chats, events, tag), subprotocols=target.subprotocols, limit_seconds=600
    )


async def measure_idle(target: Target, count: int, tag: str) -> float:
    """Server RSS added per idle connection, in KiB."""
    gc.collect()
    await asyncio.sleep(1.0)
    before = rss_kib(target.server.pid)
    sockets = await open_idle(target.idle_urls(count, tag), subprotocols=target.subprotocols)
    await asyncio.sleep(2.0)  # let the server settle (accept bookkeeping, first frames)
    after = rss_kib(target.server.pid)
    assert all(ws.state.name == "OPEN" for ws in sockets), "an idle socket was closed"
    await asyncio.gather(*(ws.close() for ws in sockets))
    return (after - before) / count


def ratio(ours: float, floor: float) -> str:
    return f"{ours / floor:.2f}x" if floor else "n/a"


async def compare(floor: Target, ours: Target, args: argparse.Namespace) -> list[str]:
    lines: list[str] = []
    # Warm both (imports, first-connection paths, SQLite pages) before measuring.
    await measure_streams(floor, 4, 10, "warm")
    await measure_streams(ours, 4, 10, "warm")
    for n, chats in enumerate(args.chats):
        # Floor and ours alternate, `repeat` times each; the median run of each is reported
        # (one burst lasts well under a second, so a single run is at the mercy of the machine).
        runs: dict[str, list[StreamStats]] = {"floor": [], "ours": []}
        for r in range(args.repeat):
            for target in (floor, ours):
                stats = await measure_streams(target, chats, args.events, f"{target.name}{n}-{r}")
                expected = chats * (args.events + 1)
                if stats.events < expected:
                    raise RuntimeError(f"{target.name} lost events: {stats.events} of {expected}")
                runs[target.name].append(stats)
        f, o = (sorted(runs[k], key=lambda s: s.events_per_second)[args.repeat // 2] for k in runs)
        lines += [
            f"{chats} concurrent chats x {args.events} events (median of {args.repeat} runs):",
            f"  throughput  floor {f.events_per_second:9.0f} ev/s  ours {o.events_per_second:9.0f}"
            f" ev/s  ratio {ratio(o.events_per_second, f.events_per_second)}",
            f"  latency p50 floor {f.p50:7.1f} ms  ours {o.p50:7.1f} ms",
            f"  latency p99 floor {f.p99:7.1f} ms  ours {o.p99:7.1f} ms"
            f"  added {o.p99 - f.p99:+.1f} ms",
        ]
        print("\n".join(lines[-4:]), flush=True)
    # Latency: chats that stream steadily (a model emitting events), far below saturation, so
    # the figure is the delivery delay our path adds, not a queue.
    interval = 1.0 / args.paced_rate
    for spread, tag in ((args.paced_spread, "p"), (0.0, "s")):
        f, o = [
            await run_streams(
                target.paced_urls(args.paced_chats, args.paced_events, interval, target.name + tag),
                subprotocols=target.subprotocols,
                limit_seconds=600,
                steady=True,
                spread=spread,
            )
            for target in (floor, ours)
        ]
        starts = f"starting over {spread:g} s" if spread else "all starting in the same instant"
        lines += [
            f"{args.paced_chats} chats streaming {args.paced_rate:g} events/s each"
            f" ({args.paced_chats * args.paced_rate:g} ev/s in all), {starts}:",
            f"  while all stream: p50 floor {f.p50:5.1f} ms  ours {o.p50:5.1f} ms"
            f"  added {o.p50 - f.p50:+.1f} ms",
            f"                    p99 floor {f.p99:5.1f} ms  ours {o.p99:5.1f} ms"
            f"  added {o.p99 - f.p99:+.1f} ms",
            f"  every frame (run starts and ends too): p99 floor {f.p99_all:.1f} ms"
            f"  ours {o.p99_all:.1f} ms  added {o.p99_all - f.p99_all:+.1f} ms",
        ]
        print("\n".join(lines[-4:]), flush=True)
    for count in args.idle:
        f_kib = await measure_idle(floor, count, f"fi{count}")
        o_kib = await measure_idle(ours, count, f"oi{count}")
        lines.append(
            f"{count} idle sockets: floor {f_kib:5.1f} KiB/conn  ours {o_kib:5.1f} KiB/conn"
            f"  ratio {ratio(o_kib, f_kib)}"
        )
        print(lines[-1], flush=True)
    return lines


async def engine_run(target: Target, chats: int) -> str:
    """The same client against AG2 on the demo model: chats/s and events/s (informational)."""
    stats = await measure_streams(target, chats, 0, "engine")
    return (
        f"engine (AG2 + demo model), {chats} concurrent `bench_engine` chats: "
        f"{stats.events_per_second:.0f} persisted ev/s, {chats / stats.wall_seconds:.1f} chats/s,"
        f" p50 {stats.p50:.1f} ms p99 {stats.p99:.1f} ms"
    )


def runtime_env(
    secret: str, workdir: Path, args: argparse.Namespace, max_connections: int
) -> dict[str, str]:
    return {
        "MOZAIKS_APP_ID": "bench",
        "MOZAIKS_JWT_SECRET": secret,
        "MOZAIKS_WORKFLOWS_DIR": str(ROOT / "bench" / "workflows"),
        "MOZAIKS_SQLITE_PATH": str(workdir / "bench.sqlite3"),
        "MOZAIKS_RATE_LIMIT_NEW_CHATS_PER_MINUTE": "1000000",
        "MOZAIKS_RATE_LIMIT_MESSAGES_PER_MINUTE": "1000000",
        "MOZAIKS_MAX_CONNECTIONS": str(max_connections),
        "MOZAIKS_LOG_LEVEL": "WARNING",
        "BENCH_EVENTS": str(args.events),
        "BENCH_PACED_EVENTS": str(args.paced_events),
        "BENCH_INTERVAL": str(1.0 / args.paced_rate),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ints = lambda text: [int(x) for x in text.split(",") if x]  # noqa: E731
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--chats", type=ints, default=[50, 200], help="concurrent chats, e.g. 50,200"
    )
    parser.add_argument("--events", type=int, default=100, help="events per chat")
    parser.add_argument("--repeat", type=int, default=3, help="burst runs per server (median)")
    parser.add_argument("--idle", type=ints, default=[2000, 5000], help="idle socket counts")
    parser.add_argument("--paced-chats", type=int, default=200, help="chats in the latency run")
    parser.add_argument("--paced-rate", type=float, default=10.0, help="events/s per paced chat")
    parser.add_argument("--paced-events", type=int, default=50, help="events per paced chat")
    parser.add_argument(
        "--paced-spread", type=float, default=1.0, help="seconds over which paced chats start"
    )
    parser.add_argument("--engine-chats", type=int, default=20, help="0 skips the AG2 run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    from mozaiks_runtime.auth.mint import mint_token

    args = parse_args(argv)
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    secret = os.urandom(32).hex()
    most = max([*args.chats, *args.idle, args.paced_chats, args.engine_chats])
    prefix = [str(i) for i in range(most)]
    tokens = [mint_token(secret, user=f"u{i}", app="bench", ttl=timedelta(hours=2)) for i in prefix]
    workdir = Path(tempfile.mkdtemp(prefix="mozaiks-bench-"))
    python = sys.executable
    try:
        fport, oport, eport = free_port(), free_port(), free_port()
        env = runtime_env(secret, workdir, args, most + 100)
        with (
            serve(
                [python, "-m", "bench.bare_server", "--port", str(fport)], fport, {}, "/health"
            ) as bare,
            serve(
                [python, "-m", "bench.runtime_server", "--port", str(oport)],
                oport,
                env,
                "/api/health",
            ) as runtime,
        ):
            floor = Target(
                "floor",
                bare,
                f"ws://127.0.0.1:{fport}/stream/{{chat}}?n={{n}}",
                f"ws://127.0.0.1:{fport}/idle",
                f"ws://127.0.0.1:{fport}/stream/{{chat}}?n={{n}}&interval={{interval}}",
                [],
            )
            ours = Target(
                "ours",
                runtime,
                f"ws://127.0.0.1:{oport}/ws/burst/bench/{{chat}}/{{user}}",
                f"ws://127.0.0.1:{oport}/ws/idle/bench/{{chat}}/{{user}}",
                f"ws://127.0.0.1:{oport}/ws/paced/bench/{{chat}}/{{user}}",
                tokens,
            )
            lines = asyncio.run(compare(floor, ours, args))
        if args.engine_chats:
            env["MOZAIKS_SQLITE_PATH"] = str(workdir / "engine.sqlite3")
            argv_engine = [python, "-m", "bench.runtime_server", "--port", str(eport), "--engine"]
            with serve(argv_engine, eport, env, "/api/health") as engine:
                target = Target(
                    "engine",
                    engine,
                    f"ws://127.0.0.1:{eport}/ws/bench_engine/bench/{{chat}}/{{user}}",
                    "",
                    "",
                    tokens,
                )
                lines.append(asyncio.run(engine_run(target, args.engine_chats)))
                print(lines[-1], flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nsummary\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
