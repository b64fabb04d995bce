"""Turns persisted chat events into outbox deliveries (the journal's `on_stored` observer)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from mozaiks_runtime.errors import StorageUnavailable
from mozaiks_runtime.metrics import Metrics
from mozaiks_runtime.storage.base import Store, StoredEvent, utcnow
from mozaiks_runtime.webhooks.body import build_delivery

log = logging.getLogger(__name__)


class Notifier:
    def __init__(
        self,
        store: Store,
        *,
        max_outbox: int,
        metrics: Metrics | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._max_outbox = max_outbox
        self._metrics = metrics
        self._wake = wake
        self._last_created: datetime | None = None

    def _created_at(self) -> datetime:
        """Now, but later than the last delivery this process queued: the outbox drops the
        oldest first (by this time, at the store's millisecond precision), so keep them apart."""
        now = utcnow()
        if self._last_created is not None and now <= self._last_created:
            now = self._last_created + timedelta(milliseconds=1)
        self._last_created = now
        return now

    async def __call__(self, events: Sequence[StoredEvent]) -> None:
        """Queue a delivery per event (notified events of one chat, just stored). Called before
        the events are published, so a delivery is stored before anyone can see its event. A
        store failure loses these deliveries (logged and counted) but never the events."""
        if not events:
            return
        first, queued = events[0], 0
        try:
            # The owner and workflow, once per batch: these events are few (ends, questions).
            chat = await self._store.get_chat(first.app_id, first.chat_id)
            for event in events:
                delivery = build_delivery(event, chat, now=self._created_at())
                dropped = await self._store.enqueue_delivery(delivery, max_outbox=self._max_outbox)
                for lost in dropped:
                    log.warning(
                        "webhook outbox full (%d): dropped delivery %s", self._max_outbox, lost
                    )
                    self._count("full")
                queued += 1
        except StorageUnavailable as exc:
            log.error("webhooks of chat %s not queued: %s", first.chat_id, exc.message)
            for _ in events[queued:]:
                self._count("store_error")
            return
        self._wake()

    def _count(self, reason: str) -> None:
        if self._metrics is not None:
            self._metrics.webhook_dropped(reason)
