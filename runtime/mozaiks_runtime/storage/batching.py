"""Group commit: appends that arrive while a write is in flight share the next write.

Many chats stream at once; writing each event in its own transaction (and its own hop to the
database thread) caps throughput long before the disk does. The first caller of a round leads
it: it yields once so that concurrent callers can join, then submits the whole round as one
batch. Each caller still gets its own result (or its own error) back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self, write: Callable[[Sequence[Item]], Awaitable[Sequence[Result | Exception]]]
    ) -> None:
        """`write` persists a batch and returns, per item, its result or the error it hit."""
        self._write = write
        self._round: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writes: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._round.append((item, future))
        if len(self._round) == 1:
            await asyncio.sleep(0)  # let the other ready tasks join this round
            batch, self._round = self._round, []
            # A task of its own, so that cancelling this caller does not strand the others.
            task = asyncio.create_task(self._flush(batch), name="group-commit")
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
        return await future

    async def _flush(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._write([item for item, _ in batch])
        except Exception as exc:  # the whole write failed: every caller hears it
            results = [exc] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def drain(self) -> None:
        """Wait for writes in flight (before closing the store)."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
