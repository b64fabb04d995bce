"""Per-chat fan-out from a running workflow to every socket on that chat (encode/broadcaster's
shape: one bounded queue per subscriber, removed in `finally`).

Publishing never waits: a subscriber whose queue is full is dropped and flagged `overflowed`.
Its socket then catches up from the store by seq (every persisted event is in the store before
it is published), so a slow client never slows the run and never misses an event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from mozaiks_runtime.chats.events import Frame

ChatKey = tuple[str, str]  # (app_id, chat_id)


class Subscriber:
    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[Frame] = asyncio.Queue(maxsize)
        # Set when the queue was full: the hub no longer feeds this subscriber; its reader
        # drains what is queued, then subscribes again and catches up from the store.
        self.overflowed = False


class Hub:
    def __init__(self, queue_size: int = 1024) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[ChatKey, set[Subscriber]] = {}

    @contextmanager
    def subscribe(self, key: ChatKey) -> Iterator[Subscriber]:
        subscriber = Subscriber(self._queue_size)
        self._subscribers.setdefault(key, set()).add(subscriber)
        try:
            yield subscriber
        finally:
            self._drop(key, subscriber)

    def publish(self, key: ChatKey, frame: Frame) -> None:
        """Queue the frame for every subscriber of the chat; never blocks."""
        for subscriber in tuple(self._subscribers.get(key, ())):
            try:
                subscriber.queue.put_nowait(frame)
            except asyncio.QueueFull:
                subscriber.overflowed = True
                self._drop(key, subscriber)

    def subscriber_count(self, key: ChatKey) -> int:
        return len(self._subscribers.get(key, ()))

    def _drop(self, key: ChatKey, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(key)
        if subscribers is None:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._subscribers[key]
