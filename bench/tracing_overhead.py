"""What tracing costs on the WebSocket event path, in one run on one machine.

    .venv/bin/python -m bench.tracing_overhead [--chats 50,200] [--events 100] [--repeat 5]
                                               [--engine-chats 20] [--base REF]

Starts the bare floor (bench/bare_server.py) and the runtime with tracing off and with tracing
on, exporting over OTLP/HTTP to a real Jaeger (hack/jaeger), plus, with `--base REF`, the runtime
as it was at git REF (before tracing existed: what "off" must not be slower than). Drives them all
with the same bursts as bench/ws_throughput.py, alternating, and reports the median run of each
with its ratio to the floor. Then AG2 on the demo model (a run, two agent turns and two model
calls: five spans per chat) with tracing off and on. Finally asks Jaeger how many traces arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx

from bench.loadgen import StreamStats
from bench.ws_throughput import (
    ROOT,
    Target,
    free_port,
    measure_streams,
    ratio,
    runtime_env,
    serve,
)
from bench.ws_throughput import parse_args as throughput_args

SERVICE = "mozaiks-bench"


@contextlib.contextmanager
def jaeger(workdir: Path) -> Iterator[dict[str, str]]:
    """A private Jaeger (hack/jaeger up/down in `workdir`); its exports."""
    env = {**os.environ, "MOZAIKS_JAEGER_DIR": str(workdir / "jaeger")}
    up = subprocess.run(
        [str(ROOT / "hack" / "jaeger"), "up"], env=env, capture_output=True, text=True, check=True
    )
    exports = {}
    for line in up.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        exports[name] = shlex.split(value)[0]
    try:
        yield exports
    finally:
        subprocess.run([str(ROOT / "hack" / "jaeger"), "down"], env=env, check=False)


def base_checkout(ref: str, workdir: Path) -> Path:
    """The runtime package as it was at `ref` (git archive: no worktree, no checkout)."""
    dest = workdir / "base"
    dest.mkdir()
    archive = subprocess.run(
        ["git", "archive", ref, "runtime"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "runtime"


def slug(target: Target) -> str:
    """The target's name as it may appear in a chat id (a URL path segment)."""
    return target.name.replace(" ", "-")


async def bursts(targets: list[Target], args: argparse.Namespace) -> list[str]:
    lines: list[str] = []
    for target in targets:  # warm: imports, first-connection paths, SQLite pages
        await measure_streams(target, 4, 10, f"warm-{slug(target)}")
    for n, chats in enumerate(args.chats):
        runs: dict[str, list[StreamStats]] = {t.name: [] for t in targets}
        for r in range(args.repeat):
            for target in targets:
                stats = await measure_streams(target, chats, args.events, f"{slug(target)}{n}-{r}")
                expected = chats * (args.events + 1)
                if stats.events < expected:
                    raise RuntimeError(f"{target.name} lost events: {stats.events} of {expected}")
                runs[target.name].append(stats)
        median = {
            k: sorted(v, key=lambda s: s.events_per_second)[args.repeat // 2]
            for k, v in runs.items()
        }
        floor = median["floor"].events_per_second
        lines.append(f"{chats} concurrent chats x {args.events} events (median of {args.repeat}):")
        for name, stats in median.items():
            eps = stats.events_per_second
            lines.append(
                f"  {name:12} {eps:9.0f} ev/s  ratio {ratio(eps, floor):>6}"
                f"  p99 {stats.p99:6.1f} ms"
            )
        off, on = median["tracing off"].events_per_second, median["tracing on"].events_per_second
        lines.append(f"  tracing on / off: {on / off:.3f} ({(on / off - 1) * 100:+.1f}%)")
        if "before" in median:
            before = median["before"].events_per_second
            lines.append(
                f"  tracing off / before: {off / before:.3f} ({(off / before - 1) * 100:+.1f}%)"
            )
        print("\n".join(lines[-(len(median) + 2 + ("before" in median)) :]), flush=True)
    return lines


async def engine_chats(targets: list[Target], chats: int, repeat: int) -> list[str]:
    rates: dict[str, list[float]] = {t.name: [] for t in targets}
    for target in targets:
        await measure_streams(target, 2, 0, f"ewarm-{slug(target)}")
    for r in range(repeat):
        for target in targets:
            stats = await measure_streams(target, chats, 0, f"e{slug(target)}-{r}")
            rates[target.name].append(chats / stats.wall_seconds)
    median = {k: statistics.median(v) for k, v in rates.items()}
    off, on = median["engine off"], median["engine on"]
    line = (
        f"engine (AG2 + demo model), {chats} concurrent chats (median of {repeat}): tracing off"
        f" {off:.1f} chats/s, on {on:.1f} chats/s, on / off {on / off:.3f}"
    )
    print(line, flush=True)
    return [line]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ints = lambda text: [int(x) for x in text.split(",") if x]  # noqa: E731
    parser.add_argument("--chats", type=ints, default=[50, 200], help="concurrent chats")
    parser.add_argument("--events", type=int, default=100, help="events per chat")
    parser.add_argument("--repeat", type=int, default=5, help="burst runs per server (median)")
    parser.add_argument("--engine-chats", type=int, default=20, help="0 skips the AG2 runs")
    parser.add_argument("--base", help="also run the runtime as it was at this git ref")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    import resource

    from mozaiks_runtime.auth.mint import mint_token

    args = parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    secret = os.urandom(32).hex()
    most = max([*args.chats, args.engine_chats])
    tokens = [
        mint_token(secret, user=f"u{i}", app="bench", ttl=timedelta(hours=2)) for i in range(most)
    ]
    workdir = Path(tempfile.mkdtemp(prefix="mozaiks-bench-tracing-"))
    python = sys.executable
    env_args = throughput_args(["--events", str(args.events)])
    lines: list[str] = []
    try:
        with jaeger(workdir) as receiver, contextlib.ExitStack() as stack:
            traced = {
                "MOZAIKS_OTEL_EXPORTER_OTLP_ENDPOINT": receiver["MOZAIKS_JAEGER_OTLP_URL"],
                "MOZAIKS_OTEL_SERVICE_NAME": SERVICE,
            }

            def runtime(name: str, extra: dict[str, str], workflow: str = "burst") -> Target:
                port = free_port()
                env = runtime_env(secret, workdir, env_args, most + 100)
                env["MOZAIKS_SQLITE_PATH"] = str(workdir / f"{name.replace(' ', '-')}.sqlite3")
                argv = [python, "-m", "bench.runtime_server", "--port", str(port)]
                if workflow != "burst":
                    argv.append("--engine")
                server = stack.enter_context(serve(argv, port, {**env, **extra}, "/api/health"))
                url = f"ws://127.0.0.1:{port}/ws/{workflow}/bench/{{chat}}/{{user}}"
                return Target(name, server, url, "", "", tokens)

            fport = free_port()
            bare = stack.enter_context(
                serve(
                    [python, "-m", "bench.bare_server", "--port", str(fport)], fport, {}, "/health"
                )
            )
            floor = Target(
                "floor", bare, f"ws://127.0.0.1:{fport}/stream/{{chat}}?n={{n}}", "", "", []
            )
            targets = [floor]
            if args.base:
                base = base_checkout(args.base, workdir)
                targets.append(runtime("before", {"PYTHONPATH": str(base)}))
            targets += [runtime("tracing off", {}), runtime("tracing on", traced)]
            lines += asyncio.run(bursts(targets, args))
            if args.engine_chats:
                engines = [
                    runtime("engine off", {}, "bench_engine"),
                    runtime("engine on", traced, "bench_engine"),
                ]
                lines += asyncio.run(engine_chats(engines, args.engine_chats, 3))
            stack.close()  # the runtimes flush their last spans as they stop
            found = httpx.get(
                f"{receiver['MOZAIKS_JAEGER_QUERY_URL']}/api/traces",
                params={"service": SERVICE, "limit": 100000, "lookback": "1h"},
                timeout=60,
            ).json()["data"]
            spans = sum(len(t["spans"]) for t in found)
            lines.append(
                f"Jaeger received {len(found)} traces ({spans} spans) from the traced runtimes"
            )
            print(lines[-1], flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nsummary\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
