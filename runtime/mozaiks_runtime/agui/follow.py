"""Follow a chat's log from a seq on: what an AG-UI stream reads (a socket's shape: subscribed
to the chat's hub first, then the store by seq, so nothing falls between and nothing comes
twice; published frames are only wake-ups, since the store has every event in order)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable

from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.chats.hub import Hub, Subscriber
from mozaiks_runtime.chats.service import ChatService
from mozaiks_runtime.storage.base import ACTIVE_STATUSES, ChatRecord, StoredEvent

PAGE = 500
QUIET_SECONDS = 1.0  # how often a quiet stream checks that a run still goes on


class LogFollower:
    def __init__(
        self,
        service: ChatService,
        hub: Hub,
        *,
        poll_seconds: float | None,
        heartbeat_seconds: float,
        draining: Callable[[], bool],
    ) -> None:
        self._service = service
        self._hub = hub
        self._poll = poll_seconds  # None: every run of a chat is in this process
        self._heartbeat = heartbeat_seconds
        self._draining = draining  # the process is shutting down: stop following

    async def follow(
        self, identity: Identity, chat: ChatRecord, after: int
    ) -> AsyncGenerator[StoredEvent | None, None]:
        """The chat's persisted events above `after`, in seq order, once each, until no run of
        the chat goes on anywhere (or this process begins to shut down); None now and then
        while nothing happens (a keepalive)."""
        hwm = after
        last_out = time.monotonic()
        while True:
            with self._hub.subscribe(chat.ref) as subscriber:
                while not subscriber.overflowed:
                    page = await self._service.events_after(chat, hwm, PAGE)
                    for event in page:
                        hwm = event.seq
                        last_out = time.monotonic()
                        yield event
                    if len(page) == PAGE:
                        continue
                    if self._draining():
                        return
                    if not await self._run_goes_on(identity, chat):
                        for event in await self._service.events_after(chat, hwm, PAGE):
                            yield event  # what the run wrote as it ended
                        return
                    if await self._woken(subscriber):
                        continue
                    if time.monotonic() - last_out >= self._heartbeat:
                        last_out = time.monotonic()
                        yield None

    async def _woken(self, subscriber: Subscriber) -> bool:
        """Wait for a persisted event of the chat to be published here (True), or for a quiet
        while (False). Published frames are only wake-ups: the store has them, in order."""
        wait = QUIET_SECONDS if self._poll is None else min(QUIET_SECONDS, self._poll)
        try:
            async with asyncio.timeout(wait):
                while True:
                    frame = await subscriber.get()
                    if frame.seq is not None:
                        break
        except TimeoutError:
            return False
        while not subscriber.empty():
            subscriber.get_nowait()
        return True

    async def _run_goes_on(self, identity: Identity, chat: ChatRecord) -> bool:
        if self._service.run_pending_here(chat):
            return True
        fresh = await self._service.get_chat(identity, chat.chat_id)
        return fresh.status in ACTIVE_STATUSES
