"""One pass per tenant at a time; a burst of triggers folds into one queued pass."""

from __future__ import annotations

import asyncio

import pytest

from mozaiks_operator.serialize import Serializer

pytestmark = pytest.mark.unit


async def test_burst_folds_into_one_extra_pass() -> None:
    ser, release, runs = Serializer(), asyncio.Event(), []

    async def work() -> int:
        runs.append(1)
        await release.wait()
        return len(runs)

    first = asyncio.create_task(ser.run("t", work))
    await asyncio.sleep(0)
    queued = [asyncio.create_task(ser.run("t", work)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(first, *queued)
    assert len(runs) == 2  # the running pass plus one queued pass
    assert results.count(None) == 4
    assert await ser.forced("t", work) == 3  # forced always runs
    ser.forget("t")
    assert await ser.run("other", work) == 4
