"""Retention: every replica deletes the chats idle longer than the tenant's retention (Tenant
spec.retention.chats, MOZAIKS_RETENTION_CHATS_DAYS), a bounded batch at a time. Replicas may
sweep at once: a chat deleted twice counts nothing the second time, and a chat whose run holds
its lease is left for a later sweep."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from mozaiks_runtime.chats.deletion import ChatDeleter
from mozaiks_runtime.storage.base import DeletedRows, Store, utcnow

log = logging.getLogger(__name__)


class RetentionSweeper:
    def __init__(
        self,
        *,
        store: Store,
        deleter: ChatDeleter,
        app_id: str,
        max_idle: timedelta,
        sweep_seconds: float,
        batch_size: int,
        max_batches: int,
    ) -> None:
        self._store, self._deleter, self._app_id = store, deleter, app_id
        self._max_idle = max_idle
        self._sweep_seconds = sweep_seconds
        self._batch_size, self._max_batches = batch_size, max_batches

    async def run_forever(self) -> None:
        while True:
            try:
                deleted = await self.sweep()
                if deleted.chats:
                    log.info("retention deleted %s", deleted.as_dict())
            except Exception:
                log.exception("retention sweep failed; retrying")
            await asyncio.sleep(self._sweep_seconds)

    async def sweep(self) -> DeletedRows:
        """Delete up to max_batches batches of chats idle past the retention."""
        cutoff = utcnow() - self._max_idle
        total = DeletedRows()
        for _ in range(self._max_batches):
            idle = await self._store.idle_chats(self._app_id, cutoff, self._batch_size)
            deleted, _busy = await self._deleter.delete_idle(idle)
            total += deleted
            if len(idle) < self._batch_size or not deleted.chats:
                break  # all done, or only busy chats left (they wait for the next sweep)
        return total
