"""One reconcile per tenant at a time, and bursts of triggers folded into one extra pass."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: bool = False


class Serializer:
    """Runs `fn` for a key under that key's lock.

    Triggers come from the Tenant itself, its children's events, Workflows and the drift timer.
    Each pass reads everything fresh, so while one pass runs, one queued pass covers any number
    of further triggers: `run` returns None at once for those.
    """

    def __init__(self) -> None:
        self._slots: dict[Hashable, _Slot] = {}

    async def run(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T | None:
        slot = self._slots.setdefault(key, _Slot())
        if slot.waiting:
            return None
        slot.waiting = True
        async with slot.lock:
            slot.waiting = False
            return await fn()

    async def forced(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        """Always run (waiting for the lock): for callers that need this pass's result."""
        slot = self._slots.setdefault(key, _Slot())
        async with slot.lock:
            return await fn()

    def forget(self, key: Hashable) -> None:
        """Drop a deleted tenant's slot (only when nothing holds it)."""
        slot = self._slots.get(key)
        if slot is not None and not slot.lock.locked() and not slot.waiting:
            del self._slots[key]
