"""AG-UI runs over the chat service: apply a RunAgentInput to the caller's chat, then stream
the chat's log from that point as AG-UI events until the run stops for this client.

Everything is checked and applied before the stream starts, so bad input is a plain HTTP error.
The stream only reads the chat's log (like a socket: subscribed to the hub first, then the store
by seq, so nothing falls between), which is why a run goes on when its client disconnects, and a
chat started here can be resumed over the WebSocket and the other way round.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

from ag_ui.core import MessagesSnapshotEvent, RunAgentInput
from ag_ui.encoder import EventEncoder

from mozaiks_runtime.agui.history import history_messages
from mozaiks_runtime.agui.inputs import NewInput, ToolAnswer, new_input
from mozaiks_runtime.agui.translate import Translator
from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.chats import events
from mozaiks_runtime.chats.hub import Hub, Subscriber
from mozaiks_runtime.chats.service import ChatService
from mozaiks_runtime.errors import NotFound, ToolCallNotFound
from mozaiks_runtime.storage.base import ACTIVE_STATUSES, ChatRecord, PendingRequest, StoredEvent

PAGE = 500
QUIET_SECONDS = 1.0  # how often a quiet stream checks that a run still goes on
KEEPALIVE = ": keepalive\n\n"  # an SSE comment: keeps proxies from closing a quiet stream


@dataclass(frozen=True, slots=True)
class _Log:
    """What a scan of the chat's log tells about tool call ids."""

    known: frozenset[str]  # every id the chat used for a tool call or a question
    asking: Mapping[str, StoredEvent]  # the event that asked each question, by request id
    events: list[StoredEvent]  # the whole log


class AguiRuns:
    def __init__(
        self,
        service: ChatService,
        hub: Hub,
        *,
        poll_seconds: float | None,
        heartbeat_seconds: float,
    ) -> None:
        self._service = service
        self._hub = hub
        self._poll = poll_seconds  # None: every run of a chat is in this process
        self._heartbeat = heartbeat_seconds

    async def start(
        self,
        identity: Identity,
        body: RunAgentInput,
        *,
        workflow_name: str,
        chat_id: str | None = None,
    ) -> AsyncGenerator[str, None]:
        """Check and apply the input (MozaiksError before anything is streamed), then return
        the SSE stream. The chat is `chat_id` (it must exist) or, without one, the thread:
        the caller's chat whose id is `threadId`, created when it is new."""
        new = new_input(body)
        service = self._service
        if chat_id is not None:
            chat = await service.get_chat(identity, chat_id)
            if chat.workflow_name != workflow_name:
                raise NotFound("chat not found")
        else:
            if new.answers and await service.find_chat(identity, body.thread_id) is None:
                # A new thread made no tool calls: refused before the chat is created.
                raise ToolCallNotFound(f"no tool call {new.answers[0].call_id!r} in this thread")
            chat, _ = await service.open_chat(
                identity, workflow_name=workflow_name, chat_id=body.thread_id, context=new.state
            )
        open_requests = {r.request_id: r for r in await service.open_requests(chat)}
        mark = await service.last_seq(chat)
        # A client with no messages of a thread that has some gets them as a snapshot.
        snapshot = not body.messages and mark > 0
        log = await self._scan(chat) if snapshot or self._needs_scan(new, open_requests) else None
        answers = self._answers(new, open_requests, log)
        for answer, request in answers:
            await self._answer(identity, chat, answer, request)
        if new.text is not None:
            await service.submit_input(identity, chat, text=new.text, context=new.state)
        announce: dict[str, StoredEvent] = {}  # open questions by id, with the event that asked
        if new.empty:
            await service.on_connect(chat, seen_seq=mark)
            if log is not None:
                announce = {r: log.asking[r] for r in open_requests if r in log.asking}
        workflow = await service.workflow_of(chat)
        state = {**workflow.context_variables, **chat.context, **(new.state or {})}
        translator = Translator(thread_id=body.thread_id, run_id=body.run_id)
        history = [e for e in log.events if e.seq <= mark] if snapshot and log else None
        return self._stream(identity, chat, translator, state, mark, announce, history)

    # Input

    @staticmethod
    def _needs_scan(new: NewInput, open_requests: Mapping[str, PendingRequest]) -> bool:
        """The log is read only to re-announce open questions (an input with nothing new) or
        to tell a repeated tool result from one for a call that never was."""
        if new.empty:
            return bool(open_requests)
        return any(a.call_id not in open_requests for a in new.answers)

    @staticmethod
    def _answers(
        new: NewInput, open_requests: Mapping[str, PendingRequest], log: _Log | None
    ) -> list[tuple[ToolAnswer, PendingRequest]]:
        """The tool results that answer open questions. A result for a call the chat made
        before (a question answered already, an agent's tool call) is the client's copy of
        the history and is skipped; one for a call the chat never made is ToolCallNotFound."""
        found = []
        for answer in new.answers:
            request = open_requests.get(answer.call_id)
            if request is not None:
                found.append((answer, request))
            elif log is None or answer.call_id not in log.known:
                raise ToolCallNotFound(f"no tool call {answer.call_id!r} in this thread")
        return found

    async def _answer(
        self, identity: Identity, chat: ChatRecord, answer: ToolAnswer, request: PendingRequest
    ) -> None:
        if request.kind == "input":
            await self._service.submit_input(
                identity, chat, text=answer.content, request_id=request.request_id
            )
            return
        await self._service.answer_ui_tool(
            identity, event_id=request.request_id, response=_ui_answer(answer.content), chat=chat
        )

    async def _scan(self, chat: ChatRecord) -> _Log:
        known: set[str] = set()
        asking: dict[str, StoredEvent] = {}
        read: list[StoredEvent] = []
        after = 0
        while True:
            page = await self._service.events_after(chat, after, PAGE)
            read += page
            for event in page:
                data = event.data
                if event.type == events.INPUT_REQUEST:
                    asking[str(data.get("request_id"))] = event
                elif event.type == events.TOOL_CALL and data.get("awaiting_response"):
                    asking[str(data.get("corr"))] = event
                elif event.type == events.TOOL_CALL:
                    known.add(str(data.get("call_id")))
            if len(page) < PAGE:
                return _Log(frozenset(known | set(asking)), asking, read)
            after = page[-1].seq

    # Output

    async def _stream(
        self,
        identity: Identity,
        chat: ChatRecord,
        translator: Translator,
        state: dict[str, Any],
        mark: int,
        announce: Mapping[str, StoredEvent],
        history: list[StoredEvent] | None,
    ) -> AsyncGenerator[str, None]:
        encode = EventEncoder().encode
        for event in translator.open(state):
            yield encode(event)
        if history is not None:
            yield encode(MessagesSnapshotEvent(messages=history_messages(history)))
        if announce:  # nothing new: tell the client what the chat waits for
            if history is None:
                for asked in announce.values():
                    for event in translator.event(asked):
                        yield encode(event)
            else:  # the snapshot holds the questions already
                translator.waiting_for(list(announce))
            for event in translator.close():
                yield encode(event)
            return
        async with contextlib.aclosing(self._follow(identity, chat, mark)) as follow:
            async for item in follow:
                if item is None:
                    yield KEEPALIVE
                    continue
                for event in translator.event(item):
                    yield encode(event)
                if translator.end is not None:
                    break
        after: dict[str, Any] | None = None
        if translator.end in ("finished", None):  # a finished run stored its context
            fresh = await self._service.get_chat(identity, chat.chat_id)
            workflow = await self._service.workflow_of(fresh)
            after = {**workflow.context_variables, **fresh.context}
        for event in translator.close(after):
            yield encode(event)

    async def _follow(
        self, identity: Identity, chat: ChatRecord, after: int
    ) -> AsyncGenerator[StoredEvent | None, None]:
        """The chat's persisted events above `after`, in seq order, once each, until no run of
        the chat goes on anywhere; None now and then while nothing happens (a keepalive)."""
        hwm = after
        last_out = time.monotonic()
        while True:
            with self._hub.subscribe((chat.app_id, chat.chat_id)) as subscriber:
                while not subscriber.overflowed:
                    page = await self._service.events_after(chat, hwm, PAGE)
                    for event in page:
                        hwm = event.seq
                        last_out = time.monotonic()
                        yield event
                    if len(page) == PAGE:
                        continue
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


def _ui_answer(content: str) -> dict[str, Any]:
    """A UI tool's answer is an object: the tool result's JSON object, else {"value": text}."""
    try:
        parsed = json.loads(content)
    except ValueError:
        return {"value": content}
    return parsed if isinstance(parsed, dict) else {"value": parsed}
