"""One accepted socket: a reader and a writer task in one task group (encode/broadcaster's shape).

The writer subscribes to the chat's hub before it reads the store, so no event falls between
the replay and the live stream; the socket's high-water mark (`hwm`, the highest seq sent) drops
anything already sent and fills any gap from the store. So no event is sent twice on one socket
and none is skipped, whatever the order of replay, resume, live events and hub overflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from mozaiks_runtime.chats import events
from mozaiks_runtime.chats.deletion import deleted_frame
from mozaiks_runtime.chats.events import Frame, stored_frame, transient
from mozaiks_runtime.chats.hub import Hub
from mozaiks_runtime.errors import (
    BadRequest,
    FrameTooLarge,
    MozaiksError,
    RateLimited,
    TokenExpired,
    reply_for,
)
from mozaiks_runtime.storage.base import ChatRecord
from mozaiks_runtime.wire.events import EmptyData, ResumeBoundaryData, WireData

if TYPE_CHECKING:
    from mozaiks_runtime.chats.service import ChatService

log = logging.getLogger(__name__)

REPLAY_PAGE = 500
# A person types a few messages a minute; 20 frames a second (pings and resumes included) is
# far above any honest client. Past twice that in one second the socket is closed.
FLOOD_FRAMES_PER_SECOND = 20
STRIKES_BEFORE_CLOSE = 3  # oversized frames tolerated (each gets a chat.error) before 1009


class Inbound(Protocol):
    """What acts on the client's frames (ws/dispatch.py's Dispatcher); named here so the
    connection does not import the dispatcher that drives it."""

    async def handle(self, text: str) -> None: ...


class Closing(Exception):
    """Ends the connection with a close code (policy, size) after the client was told why."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        *,
        service: ChatService,
        hub: Hub,
        chat: ChatRecord,
        chat_existed: bool,
        max_frame_bytes: int,
        heartbeat_seconds: float,
        poll_seconds: float | None = None,
        on_sent: Any = None,
        expires_in: float | None = None,
        trace_parent: str | None = None,
    ) -> None:
        self.ws = websocket
        # The trace the runs this socket starts continue (the handshake's, or a frame's).
        self.trace_parent = trace_parent
        self.service = service
        self.hub = hub
        self.chat = chat
        self.hwm = 0
        self._existed = chat_existed
        self._max_frame_bytes = max_frame_bytes
        self._heartbeat = heartbeat_seconds
        self._poll = poll_seconds  # None: every run of this chat is in this process
        self._last_sent = time.monotonic()
        self._on_sent = on_sent  # metrics hook: called with each frame's type
        self._send_lock = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        self._window_start = 0.0
        self._window_frames = 0
        self._oversized = 0
        self._expires_in = expires_in  # seconds the token has left (leeway included)

    async def run(self, dispatcher: Inbound, *, after_seq: int | None) -> None:
        """Serve the socket until the client leaves or a limit closes it."""
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self._writer = group.create_task(
                    self._stream(self.chat, greet=True, after=after_seq)
                )
                group.create_task(self._read(dispatcher))
                if self._expires_in is not None:
                    group.create_task(self._expire(self._expires_in))
        except* WebSocketDisconnect:
            pass
        except* Closing as closing:
            exc = closing.exceptions[0]
            assert isinstance(exc, Closing)
            await self.close(exc.code, exc.reason)

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.ws.close(code, reason)

    # Writing

    async def send(self, frame: Frame) -> None:
        """Send a frame; persisted ones go out in seq order, once, gaps filled from the store."""
        async with self._send_lock:
            await self._deliver(frame)

    async def _deliver(self, frame: Frame) -> None:
        if frame.seq is not None:
            if frame.seq <= self.hwm:
                return
            if frame.seq > self.hwm + 1:
                await self._send_stored_after(self.hwm, replay=False)
                return
            self.hwm = frame.seq
        await self.ws.send_text(frame.text)
        self._last_sent = time.monotonic()
        if self._on_sent is not None:
            self._on_sent(frame.type)

    async def _send_stored_after(self, after: int, *, replay: bool) -> int:
        """Send persisted events above max(after, hwm); returns how many."""
        sent = 0
        while True:
            page = await self.service.events_after(self.chat, max(after, self.hwm), REPLAY_PAGE)
            for event in page:
                await self._deliver(stored_frame(event, replay=replay))
                sent += 1
            if len(page) < REPLAY_PAGE:
                return sent

    async def error(self, exc: MozaiksError) -> None:
        await self.send(
            self._transient(events.ERROR, events.error_data(exc.message, exc.error_code))
        )

    def _transient(self, type_: str, data: WireData) -> Frame:
        return transient(type_, data, chat_id=self.chat.chat_id)

    async def resume(self, after: int) -> None:
        """Replay what the client missed (above its seq and this socket's mark), then a boundary."""
        async with self._send_lock:
            last = await self.service.last_seq(self.chat)
            if after > last:
                raise BadRequest(f"last_seq {after} is ahead of the chat (last seq {last})")
            self.hwm = max(self.hwm, after)  # the client holds everything up to `after`
            replayed = await self._send_stored_after(self.hwm, replay=True)
            boundary = ResumeBoundaryData(
                chat_id=self.chat.chat_id, last_seq=self.hwm, replayed_events=replayed
            )
            await self._deliver(self._transient(events.RESUME_BOUNDARY, boundary))

    async def _greet(self, after: int | None) -> None:
        chat = self.chat
        last = await self.service.last_seq(chat)
        meta = events.chat_meta_data(chat, last_seq=last, exists=self._existed)
        await self.send(self._transient(events.CHAT_META, meta))
        if after is not None or last > 0:
            try:
                await self.resume(after or 0)
            except BadRequest as exc:
                await self.error(exc)
        try:
            await self.service.on_connect(chat, seen_seq=last, trace_parent=self.trace_parent)
        except MozaiksError as exc:
            await self.error(exc)

    async def _stream(self, chat: ChatRecord, *, greet: bool, after: int | None = None) -> None:
        """Live events of the chat; on hub overflow, subscribe again and catch up by seq."""
        while True:
            with self.hub.subscribe(chat.ref) as subscriber:
                if greet:
                    greet = False
                    await self._greet(after)
                else:
                    async with self._send_lock:
                        await self._send_stored_after(self.hwm, replay=False)
                while not (subscriber.overflowed and subscriber.empty()):
                    if subscriber.empty():
                        try:
                            async with asyncio.timeout(self._quiet_wait()):
                                frame = await subscriber.get()
                        except TimeoutError:
                            await self._on_quiet(chat)
                            continue
                    else:  # a burst: no timer per frame
                        frame = subscriber.get_nowait()
                    await self.send(frame)
                    if frame.close is not None:  # the chat was deleted
                        raise Closing(*frame.close)

    def _quiet_wait(self) -> float:
        """How long to wait for a live frame before polling the store or sending a ping."""
        if self._poll is None:
            return self._heartbeat
        return min(self._poll, self._heartbeat)

    async def _on_quiet(self, chat: ChatRecord) -> None:
        """Nothing live for a while: when another replica runs the chat, its events reach this
        one only through the store, so look there; ping when the socket was silent too long."""
        if self._poll is not None and not self.service.runs_here(chat):
            async with self._send_lock:
                await self._send_stored_after(self.hwm, replay=False)
        if time.monotonic() - self._last_sent >= self._heartbeat:
            if self._poll is not None and not await self.service.exists(chat):
                # Deleted through another replica, whose hub this socket does not hear.
                frame = deleted_frame(chat.chat_id)
                await self.send(frame)
                assert frame.close is not None
                raise Closing(*frame.close)
            await self.send(self._transient(events.PING, EmptyData()))

    async def switch_chat(self, chat: ChatRecord) -> None:
        """Follow another chat on this socket (chat.start_workflow): a fresh stream and mark."""
        assert self._group is not None and self._writer is not None
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        async with self._send_lock:
            self.chat = chat
            self.hwm = 0
        self._writer = self._group.create_task(self._stream(chat, greet=False))

    async def _expire(self, seconds: float) -> None:
        """A socket lives no longer than its token: when it expires the client is told, and the
        socket closes with 1008; the widget reconnects with a fresh token and resumes by seq."""
        await asyncio.sleep(max(0.0, seconds))
        await self.error(TokenExpired("the token has expired; reconnect with a fresh one"))
        raise Closing(1008, "token expired")

    # Reading

    async def _read(self, dispatcher: Inbound) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
            try:
                self._check_limits(text)
                await dispatcher.handle(text)
            except MozaiksError as exc:
                await self.error(exc)
                close = reply_for(exc).ws_close
                if close is not None:
                    raise Closing(close, exc.error_code.lower()) from None

    def _check_limits(self, text: str) -> None:
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_frames = now, 0
        self._window_frames += 1
        if self._window_frames > 2 * FLOOD_FRAMES_PER_SECOND:
            raise Closing(1008, "flood")
        if self._window_frames > FLOOD_FRAMES_PER_SECOND:
            raise RateLimited("too many frames; slow down", retry_after=1.0)
        if len(text.encode()) > self._max_frame_bytes:
            self._oversized += 1
            if self._oversized >= STRIKES_BEFORE_CLOSE:
                raise Closing(1009, "frame too large")
            raise FrameTooLarge(f"frames are limited to {self._max_frame_bytes} bytes")
