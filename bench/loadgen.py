"""WebSocket load generator shared by the benchmarks: many concurrent streams, or many idle
sockets, against any server that speaks our envelope (`type`, `seq`, `timestamp`)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol


@dataclass
class StreamStats:
    events: int = 0
    chats_done: int = 0
    wall_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    samples: list[tuple[float, float]] = field(default_factory=list)  # (sent at, latency ms)
    connected_at: float = 0.0  # when the last stream got its first persisted frame
    first_done_at: float = float("inf")  # when the first stream ended
    all_latencies_ms: list[float] = field(default_factory=list)  # steady runs: every frame

    @property
    def events_per_second(self) -> float:
        return self.events / self.wall_seconds if self.wall_seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99(self) -> float:
        return self.percentile(0.99)

    @property
    def p99_all(self) -> float:
        ordered = sorted(self.all_latencies_ms or self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")


def _latency_ms(frame: dict[str, object], received: float) -> float | None:
    stamp = frame.get("timestamp")
    if not isinstance(stamp, str) or frame.get("seq") is None:
        return None
    return (received - datetime.fromisoformat(stamp).timestamp()) * 1000.0


async def _one_stream(
    url: str,
    subprotocols: Sequence[str],
    done_type: str,
    stats: StreamStats,
    limit_seconds: float,
    steady: bool,
    delay: float = 0.0,
) -> None:
    await asyncio.sleep(delay)
    async with connect(
        url, subprotocols=[Subprotocol(p) for p in subprotocols] or None, max_size=2**22
    ) as ws:
        async with asyncio.timeout(limit_seconds):
            started = False
            async for raw in ws:
                received = time.time()
                frame = json.loads(raw)
                latency = _latency_ms(frame, received)
                if latency is not None:
                    if not started:  # the stream's first persisted frame: its run is going
                        stats.connected_at = max(stats.connected_at, received)
                        started = True
                    stats.events += 1
                    if steady:
                        stats.samples.append((received - latency / 1000.0, latency))
                    else:
                        stats.latencies_ms.append(latency)
                if frame.get("type") == done_type:
                    stats.chats_done += 1
                    stats.first_done_at = min(stats.first_done_at, received)
                    return


async def run_streams(
    urls: Sequence[str],
    *,
    subprotocols: Callable[[int], Sequence[str]] = lambda _: (),
    done_type: str = "chat.run_complete",
    limit_seconds: float = 120.0,
    steady: bool = False,
    spread: float = 0.0,
) -> StreamStats:
    """Open every URL at once and read each stream until `done_type`; count persisted frames.
    With `steady`, latencies count only frames sent while every stream is live: after the last
    one got its first persisted frame and before the first one ended (the run start and end
    bookkeeping of hundreds of chats at one instant is another measurement; `all_latencies_ms`
    keeps every frame). With `spread`, stream i opens i/len(urls) of `spread` seconds after the
    first, as chats of real users do, rather than all in the same millisecond."""
    stats = StreamStats()
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _one_stream(
                url,
                subprotocols(i),
                done_type,
                stats,
                limit_seconds,
                steady,
                delay=spread * i / len(urls),
            )
            for i, url in enumerate(urls)
        )
    )
    stats.wall_seconds = time.perf_counter() - started
    if steady:
        stats.all_latencies_ms = [lat for _, lat in stats.samples]
        window = (stats.connected_at, stats.first_done_at)
        stats.latencies_ms = [lat for sent, lat in stats.samples if window[0] <= sent < window[1]]
    return stats


async def open_idle(
    urls: Sequence[str],
    *,
    subprotocols: Callable[[int], Sequence[str]] = lambda _: (),
    batch: int = 200,
) -> list[ClientConnection]:
    """Open sockets in batches (a burst of thousands at once only measures the accept queue),
    wait for each one's first frame, and return them open."""
    sockets: list[ClientConnection] = []
    for start in range(0, len(urls), batch):
        chunk = urls[start : start + batch]
        opened = await asyncio.gather(
            *(
                connect(
                    url,
                    subprotocols=[Subprotocol(p) for p in subprotocols(start + i)] or None,
                    open_timeout=60,
                )
                for i, url in enumerate(chunk)
            )
        )
        await asyncio.gather(*(ws.recv() for ws in opened))
        sockets.extend(opened)
    return sockets


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")
