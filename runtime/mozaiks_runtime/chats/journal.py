"""Persist, then fan out: the one path every persisted chat event takes to the sockets."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence

from mozaiks_runtime.chats.events import Frame, stored_frame
from mozaiks_runtime.chats.hub import Hub
from mozaiks_runtime.storage.base import NewEvent, Store, StoredEvent


class Journal:
    def __init__(self, store: Store, hub: Hub) -> None:
        self._store = store
        self._hub = hub
        # Publishing under the chat's lock keeps the order sockets see equal to seq order.
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def append(
        self, app_id: str, chat_id: str, events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        """Store the events (they get their seqs), then publish them to the chat's sockets."""
        key = (app_id, chat_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            stored = await self._store.append_events(app_id, chat_id, events)
            for event in stored:
                self._hub.publish(key, stored_frame(event))
        return stored

    def publish(self, app_id: str, chat_id: str, frame: Frame) -> None:
        """Fan out a transient frame (not stored, no seq)."""
        self._hub.publish((app_id, chat_id), frame)
