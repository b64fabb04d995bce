"""AG-UI runs over the chat service: apply a RunAgentInput to the caller's chat, then stream
the chat's log from that point as AG-UI events until the run stops for this client.

Everything is checked and applied before the stream starts, so bad input is a plain HTTP error.
The stream only reads the chat's log (follow.py), which is why a run goes on when its client
disconnects, and a chat started here can be resumed over the WebSocket and the other way round.
A client that misses part of the conversation (it sent none of it, or it was away) first gets a
MESSAGES_SNAPSHOT of it (history.py).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ag_ui.core import AssistantMessage, Message, MessagesSnapshotEvent, RunAgentInput
from ag_ui.encoder import EventEncoder

from mozaiks_runtime.agui.follow import PAGE, LogFollower
from mozaiks_runtime.agui.history import history_messages
from mozaiks_runtime.agui.inputs import NewInput, ToolAnswer, new_input, tail
from mozaiks_runtime.agui.translate import Translator
from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.chats import events
from mozaiks_runtime.chats.hub import Hub
from mozaiks_runtime.chats.service import ChatService
from mozaiks_runtime.errors import NotFound, Overloaded, ToolCallNotFound
from mozaiks_runtime.storage.base import ChatRecord, PendingRequest, StoredEvent

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
        draining: Callable[[], bool],
    ) -> None:
        self._service = service
        self._draining = draining
        self._follower = LogFollower(
            service,
            hub,
            poll_seconds=poll_seconds,
            heartbeat_seconds=heartbeat_seconds,
            draining=draining,
        )

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
        chat = await self._chat(
            identity, new, workflow_name=workflow_name, thread_id=body.thread_id, chat_id=chat_id
        )
        open_requests = {r.request_id: r for r in await service.open_requests(chat)}
        mark = await service.last_seq(chat)
        behind = await self._behind(chat, body.messages, mark)
        log = await self._scan(chat) if behind or self._needs_scan(new, open_requests) else None
        answers = self._answers(new, open_requests, log)
        for answer, request in answers:
            await self._answer(identity, chat, answer, request)
        queued = None
        if new.text is not None:
            queued = await service.submit_input(identity, chat, text=new.text, context=new.state)
        asked: list[str] = []  # open questions to name in this run's end
        if new.empty:
            await service.on_connect(chat, seen_seq=mark)
            asked = list(open_requests)
        elif queued is not None:
            # The message waits for the run going on (`on_new_message: enqueue`); if that run
            # waits for the user, say so rather than follow it until its question times out.
            asked = [r.request_id for r in await service.open_requests(chat)]
        snapshot: list[Message] | None = None
        has = _client_calls(body.messages)
        if behind and log is not None:  # (behind: the log was read)
            snapshot = [*history_messages(e for e in log.events if e.seq <= mark), *tail(body)]
            has = set(asked)  # the snapshot shows every question
        if any(r not in has for r in asked):
            log = log or await self._scan(chat)
        announce = {r: log.asking[r] for r in asked if r not in has and log and r in log.asking}
        workflow = await service.workflow_of(chat)
        state = {**workflow.context_variables, **chat.context, **(new.state or {})}
        translator = Translator(thread_id=body.thread_id, run_id=body.run_id)
        translator.waiting_for([r for r in asked if r in has])
        return self._stream(identity, chat, translator, state, mark, announce, snapshot)

    # Input

    async def _chat(
        self,
        identity: Identity,
        new: NewInput,
        *,
        workflow_name: str,
        thread_id: str,
        chat_id: str | None,
    ) -> ChatRecord:
        """The chat `chat_id` (it must be there), else the thread `thread_id` (made if new)."""
        service = self._service
        if chat_id is not None:
            chat = await service.get_chat(identity, chat_id)
            if chat.workflow_name != workflow_name:
                raise NotFound("chat not found")
            return chat
        if new.answers and await service.find_chat(identity, thread_id) is None:
            # A new thread made no tool calls: refused before the chat is created.
            raise ToolCallNotFound(f"no tool call {new.answers[0].call_id!r} in this thread")
        chat, _ = await service.open_chat(
            identity, workflow_name=workflow_name, chat_id=thread_id, context=new.state
        )
        return chat

    async def _behind(self, chat: ChatRecord, messages: Sequence[Message], mark: int) -> bool:
        """Whether the client misses something the chat said (an agent's message, a tool's
        result) before this run: it sent no messages of a chat that has some, or the newest
        of our message ids it holds (`{chat_id}:{seq}`) is older than such an event (it was
        away, or the chat went on over the WebSocket). It then gets a messages snapshot."""
        if mark == 0:
            return False
        if not messages:
            return True
        prefix = f"{chat.chat_id}:"
        seen = [m.id[len(prefix) :] for m in messages if m.id.startswith(prefix)]
        cursor = max((int(n) for n in seen if n.isdigit()), default=0)
        while cursor < mark:
            page = await self._service.events_after(chat, cursor, PAGE)
            for event in page:
                if event.seq > mark:
                    return False
                if event.type == events.TOOL_RESPONSE or (
                    event.type == events.TEXT
                    and event.data.get("role") != "user"
                    and event.data.get("visible", True)
                ):
                    return True
            if len(page) < PAGE:
                return False
            cursor = page[-1].seq
        return False

    @staticmethod
    def _needs_scan(new: NewInput, open_requests: Mapping[str, PendingRequest]) -> bool:
        """Whether the log must be read to tell a repeated tool result (a call the chat made
        before) from one for a call that never was."""
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
        snapshot: list[Message] | None,
    ) -> AsyncGenerator[str, None]:
        encode = EventEncoder().encode
        for event in translator.open(state):
            yield encode(event)
        if snapshot is not None:
            yield encode(MessagesSnapshotEvent(messages=snapshot))
        for asked in announce.values():  # questions the client has not seen
            for event in translator.event(asked):
                yield encode(event)
        if translator.end is not None:  # the chat waits for the user: nothing to follow
            for event in translator.close():
                yield encode(event)
            return
        async with contextlib.aclosing(self._follower.follow(identity, chat, mark)) as follow:
            async for item in follow:
                if item is None:
                    yield KEEPALIVE
                    continue
                for event in translator.event(item):
                    yield encode(event)
                if translator.end is not None:
                    break
        after: dict[str, Any] | None = None
        if translator.end is None and self._draining():
            # The run goes on (resumed by the next replica); this stream cannot follow it.
            gone = Overloaded("the runtime is restarting; run again to follow the chat")
            translator.interrupt(gone.message, gone.error_code)
        elif translator.end in ("finished", None):  # a finished run stored its context
            fresh = await self._service.get_chat(identity, chat.chat_id)
            workflow = await self._service.workflow_of(fresh)
            after = {**workflow.context_variables, **fresh.context}
        for event in translator.close(after):
            yield encode(event)


def _client_calls(messages: Sequence[Message]) -> set[str]:
    """The tool call ids the client holds."""
    return {
        call.id for m in messages if isinstance(m, AssistantMessage) for call in m.tool_calls or ()
    }


def _ui_answer(content: str) -> dict[str, Any]:
    """A UI tool's answer is an object: the tool result's JSON object, else {"value": text}."""
    try:
        parsed = json.loads(content)
    except ValueError:
        return {"value": content}
    return parsed if isinstance(parsed, dict) else {"value": parsed}
