"""Group commit (storage/batching.py): concurrent callers share one write, each gets its own
result or error, and a cancelled caller strands nobody."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from mozaiks_runtime.storage.batching import GroupCommit

pytestmark = pytest.mark.unit


class Recorder:
    def __init__(self, fail_on: int | None = None, broken: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail_on = fail_on
        self.broken = broken
        self.gate = asyncio.Event()
        self.gate.set()

    async def write(self, items: Sequence[int]) -> list[int | Exception]:
        await self.gate.wait()
        if self.broken:
            raise OSError("disk gone")
        self.batches.append(list(items))
        return [ValueError(str(i)) if i == self.fail_on else i * 10 for i in items]


async def test_concurrent_submits_share_a_write() -> None:
    rec = Recorder()
    group = GroupCommit(rec.write)
    results = await asyncio.gather(*(group.submit(i) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert rec.batches == [[0, 1, 2, 3, 4]]
    assert await group.submit(7) == 70
    assert rec.batches[-1] == [7]


async def test_errors_are_per_item_or_for_all() -> None:
    rec = Recorder(fail_on=2)
    group = GroupCommit(rec.write)
    results = await asyncio.gather(*(group.submit(i) for i in range(3)), return_exceptions=True)
    assert results[:2] == [0, 10] and isinstance(results[2], ValueError)
    broken = GroupCommit(Recorder(broken=True).write)
    failed = await asyncio.gather(*(broken.submit(i) for i in range(2)), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in failed)


async def test_a_cancelled_leader_strands_nobody() -> None:
    rec = Recorder()
    rec.gate.clear()
    group = GroupCommit(rec.write)
    leader = asyncio.create_task(group.submit(1))
    follower = asyncio.create_task(group.submit(2))
    await asyncio.sleep(0.01)
    leader.cancel()
    rec.gate.set()
    assert await follower == 20
    await group.drain()
    assert rec.batches == [[1, 2]]  # the cancelled caller's item was still written
