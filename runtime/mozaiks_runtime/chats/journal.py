"""Persist, then fan out: the one path every chat event takes to the sockets.

Each chat has a queue and, while it is not empty, one drain task: it writes the queued events in
one `append_events` call (they get their seqs), then publishes them in seq order. A run does not
wait for the disk after every event (`emit` waits only when the chat's backlog is long), so
a burst of events becomes one write; it waits where it must (`append`: before asking the user,
at the end of a run). Transient frames (token chunks) queue behind the events before them, so
sockets see everything in the order the run produced it. Nothing reaches a socket unpersisted.

An optional observer (`on_stored`, the webhooks' notifier) is awaited with the stored events of
the `observed` types before they are published; batches with none of those cost one set lookup
per event and no await.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from mozaiks_runtime.chats.events import Frame, stored_frame
from mozaiks_runtime.chats.hub import Hub
from mozaiks_runtime.refs import ChatRef
from mozaiks_runtime.storage.base import NewEvent, Store, StoredEvent, utcnow

log = logging.getLogger(__name__)
StoredObserver = Callable[[Sequence[StoredEvent]], Awaitable[None]]
MAX_BATCH = 500  # events per write
BACKLOG = 16  # queued events per chat before `emit` waits for the disk


@dataclass(slots=True)
class _Item:
    event: NewEvent | None  # None: `frame` is transient
    frame: Frame | None = None
    # Only for callers that wait: a future per event would cost more than storing it.
    done: asyncio.Future[StoredEvent | None] | None = None


@dataclass(slots=True)
class _ChatQueue:
    items: list[_Item] = field(default_factory=list)
    drain: asyncio.Task[None] | None = None
    failure: Exception | None = None  # a failed write, raised to the run's next call


class Journal:
    def __init__(
        self,
        store: Store,
        hub: Hub,
        *,
        backlog: int = BACKLOG,
        on_stored: StoredObserver | None = None,
        observed: frozenset[str] = frozenset(),
        on_published: Callable[[float], None] | None = None,
    ) -> None:
        self._store = store
        self._hub = hub
        self._backlog = backlog
        self._on_stored = on_stored
        self._observed = observed
        # Metrics: seconds from the creation of the oldest event of each stored batch to its
        # publication (once per batch, not per event: this is the hot path).
        self._on_published = on_published
        self._chats: dict[ChatRef, _ChatQueue] = {}

    async def append(self, chat: ChatRef, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Queue the events and wait until they (and everything queued before) are stored and
        published. Raises what the store raised."""
        loop = asyncio.get_running_loop()
        items = [_Item(e, None, loop.create_future()) for e in events]
        self._submit(chat, items)
        stored = await asyncio.gather(*(item.done for item in items if item.done is not None))
        return [s for s in stored if s is not None]

    async def emit(self, chat: ChatRef, event: NewEvent) -> None:
        """Queue one event; waits only while the chat's backlog is long (backpressure)."""
        item = _Item(event)
        queue = self._submit(chat, [item])
        if len(queue.items) >= self._backlog:
            item.done = asyncio.get_running_loop().create_future()
            await item.done

    def publish(self, chat: ChatRef, frame: Frame) -> None:
        """Fan out a transient frame (not stored, no seq) after the events queued before it."""
        self._submit(chat, [_Item(None, frame)])

    async def close(self) -> None:
        """Let queued events reach the store (call before closing it)."""
        drains = [q.drain for q in self._chats.values() if q.drain is not None]
        await asyncio.gather(*drains, return_exceptions=True)

    def _submit(self, key: ChatRef, items: list[_Item]) -> _ChatQueue:
        queue = self._chats.get(key)
        if queue is None:
            queue = self._chats[key] = _ChatQueue()
        if queue.failure is not None:
            failure, queue.failure = queue.failure, None
            raise failure
        queue.items.extend(items)
        if queue.drain is None:
            queue.drain = asyncio.create_task(
                self._drain(key, queue), name=f"journal:{key.chat_id}"
            )
        return queue

    async def _drain(self, key: ChatRef, queue: _ChatQueue) -> None:
        try:
            while queue.items:
                batch = _leading_run(queue.items)
                del queue.items[: len(batch)]
                if batch[0].event is None:
                    for item in batch:
                        assert item.frame is not None
                        self._hub.publish(key, item.frame)
                    continue
                try:
                    stored = await self._store.append_events(
                        key.app_id,
                        key.chat_id,
                        [item.event for item in batch if item.event is not None],
                    )
                except Exception as exc:
                    self._fail(queue, batch, exc)
                    return
                if self._on_stored is not None:
                    await self._observe(stored)
                for item, event in zip(batch, stored, strict=True):
                    self._hub.publish(key, stored_frame(event))
                    if item.done is not None and not item.done.done():
                        item.done.set_result(event)
                if self._on_published is not None and stored:
                    self._on_published((utcnow() - stored[0].timestamp).total_seconds())
        finally:
            # No await between the loop's last check and here: nothing can slip in unnoticed.
            queue.drain = None
            if not queue.items and queue.failure is None and self._chats.get(key) is queue:
                del self._chats[key]

    async def _observe(self, stored: list[StoredEvent]) -> None:
        picked = [event for event in stored if event.type in self._observed]
        if not picked:
            return
        assert self._on_stored is not None
        try:
            await self._on_stored(picked)
        except Exception:
            # The events are stored: an observer's bug must not stall the chat's log.
            log.exception("observer of chat %s failed", stored[0].chat_id)

    @staticmethod
    def _fail(queue: _ChatQueue, batch: list[_Item], exc: Exception) -> None:
        """Fail this batch and everything queued after it; the chat's next call raises too."""
        for item in [*batch, *queue.items]:
            if item.done is not None and not item.done.done():
                item.done.set_exception(exc)
                # Marked as seen: callers that did not wait must not log "never retrieved".
                with contextlib.suppress(BaseException):
                    item.done.exception()
        queue.items.clear()
        queue.failure = exc


def _leading_run(items: list[_Item]) -> list[_Item]:
    """The longest prefix of one kind (events to store, or transient frames), capped."""
    transient = items[0].event is None
    run = []
    for item in items[:MAX_BATCH]:
        if (item.event is None) != transient:
            break
        run.append(item)
    return run
