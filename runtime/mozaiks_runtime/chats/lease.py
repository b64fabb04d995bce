"""Which replica runs a chat: a lease in the store, taken before a run and renewed during it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from types import TracebackType

from mozaiks_runtime.errors import Conflict, StorageUnavailable
from mozaiks_runtime.storage.base import Store

log = logging.getLogger(__name__)


def lease_name(app_id: str, chat_id: str) -> str:
    return f"chat/{app_id}/{chat_id}"


class RunLease:
    """`async with RunLease(...)`: Conflict when another replica holds the chat; renews every
    third of the TTL; calls `on_lost` when the lease could not be kept (the run must stop)."""

    def __init__(
        self,
        store: Store,
        *,
        name: str,
        owner: str,
        ttl_seconds: float,
        on_lost: Callable[[], object],
    ) -> None:
        self._store = store
        self._name = name
        self._owner = owner
        self._ttl = ttl_seconds
        self._on_lost = on_lost
        self._renewer: asyncio.Task[None] | None = None
        self._acquired_at: float | None = None  # monotonic time of the last successful take

    async def try_acquire(self) -> bool:
        """Take the lease now if it is free, expired or ours (entering then keeps it)."""
        held = await self._store.acquire_lease(self._name, self._owner, self._ttl) is not None
        self._acquired_at = time.monotonic() if held else None
        return held

    async def __aenter__(self) -> RunLease:
        # Just taken by try_acquire: no second trip to the store.
        taken = self._acquired_at
        fresh = taken is not None and time.monotonic() - taken < self._ttl / 3
        if not fresh and not await self.try_acquire():
            raise Conflict("the chat is running on another replica")
        self._renewer = asyncio.create_task(self._renew(), name=f"lease:{self._name}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        try:
            await self._store.release_lease(self._name, self._owner)
        except StorageUnavailable:
            log.warning("could not release lease %s; it expires on its own", self._name)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                held = await self._store.acquire_lease(self._name, self._owner, self._ttl)
            except StorageUnavailable:
                log.warning("lease %s: store unavailable, retrying", self._name)
                continue
            if held is None:
                log.error("lease %s was taken by another replica; stopping the run", self._name)
                self._on_lost()
                return
