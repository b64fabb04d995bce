"""Per-chat fan-out from a running workflow to every socket on that chat (encode/broadcaster's
shape: one bounded queue per subscriber, removed when the subscription ends).

Publishing never waits: a subscriber whose queue is full is dropped and flagged `overflowed`.
Its socket then catches up from the store by seq (every persisted event is in the store before
it is published), so a slow client never slows the run and never misses an event.

The subscriber is a deque and one wake-up future rather than an asyncio.Queue (four deques and
an Event): an idle socket holds one, and thousands of idle sockets are the common case.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType

from mozaiks_runtime.chats.events import Frame
from mozaiks_runtime.refs import ChatRef


class Subscriber:
    __slots__ = ("_frames", "_hub", "_key", "_maxsize", "_waiter", "overflowed")

    def __init__(self, hub: Hub, key: ChatRef, maxsize: int) -> None:
        self._hub = hub
        self._key = key
        self._maxsize = maxsize
        self._frames: deque[Frame] = deque()
        self._waiter: asyncio.Future[None] | None = None
        # Set when the queue was full: the hub no longer feeds this subscriber; its reader
        # drains what is queued, then subscribes again and catches up from the store.
        self.overflowed = False

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._hub.unsubscribe(self._key, self)

    def offer(self, frame: Frame) -> bool:
        """Queue a frame unless the queue is full (then False)."""
        if len(self._frames) >= self._maxsize:
            return False
        self._frames.append(frame)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        return True

    def empty(self) -> bool:
        return not self._frames

    def qsize(self) -> int:
        return len(self._frames)

    def get_nowait(self) -> Frame:
        return self._frames.popleft()  # IndexError when empty, like a queue's QueueEmpty

    async def get(self) -> Frame:
        while not self._frames:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._frames.popleft()


class Hub:
    def __init__(self, queue_size: int = 1024) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[ChatRef, set[Subscriber]] = {}

    def subscribe(self, key: ChatRef) -> Subscriber:
        """A new subscriber of the chat; use it as a context manager to unsubscribe."""
        subscriber = Subscriber(self, key, self._queue_size)
        self._subscribers.setdefault(key, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, key: ChatRef, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(key)
        if subscribers is None:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._subscribers[key]

    def publish(self, key: ChatRef, frame: Frame) -> None:
        """Queue the frame for every subscriber of the chat; never blocks."""
        for subscriber in tuple(self._subscribers.get(key, ())):
            if not subscriber.offer(frame):
                subscriber.overflowed = True
                self.unsubscribe(key, subscriber)

    def subscriber_count(self, key: ChatRef) -> int:
        return len(self._subscribers.get(key, ()))
