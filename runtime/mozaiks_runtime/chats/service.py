"""ChatService: what the edges (HTTP routes, the WebSocket) may do with chats.

Every method that names a chat checks that the caller owns it; another user's chat is NotFound,
never Forbidden, so a chat's existence is not revealed. Runs happen in RunManager's tasks; this
module decides when a run starts, continues after an answer, or resumes after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from mozaiks_runtime.auth.entitlements import entitled
from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.chats import events
from mozaiks_runtime.chats.pending import PendingRequests
from mozaiks_runtime.chats.pinning import PinnedWorkflows
from mozaiks_runtime.chats.runio import BudgetCheck, accepted_input, ui_tool_done
from mozaiks_runtime.chats.runs import RunManager, RunPlan, Stop
from mozaiks_runtime.errors import (
    Conflict,
    InputRequestNotFound,
    NoActiveRun,
    NotEntitled,
    NotFound,
    WorkflowNotFound,
)
from mozaiks_runtime.ratelimit import RateLimiter
from mozaiks_runtime.storage.base import (
    ACTIVE_STATUSES,
    ChatPage,
    ChatRecord,
    PendingRequest,
    Store,
    StoredEvent,
    utcnow,
)
from mozaiks_runtime.wire.events import WorkflowUpgradedData
from mozaiks_runtime.workflows.model import WorkflowDefinition

REMOTE_STOP_WAIT_SECONDS = 10.0


def new_chat_id() -> str:
    return f"c_{uuid.uuid4().hex}"


class ChatService:
    def __init__(
        self,
        *,
        store: Store,
        workflows: PinnedWorkflows,
        runs: RunManager,
        pending: PendingRequests,
        new_chats: RateLimiter,
        messages: RateLimiter,
        budget: BudgetCheck | None = None,
    ) -> None:
        self._store = store
        self._pinned = workflows
        self._runs = runs
        self._pending = pending
        self._new_chats = new_chats
        self._messages = messages
        self._budget = budget

    # Reading

    async def get_chat(self, identity: Identity, chat_id: str) -> ChatRecord:
        """The caller's chat, else NotFound (also for another user's chat)."""
        chat = await self._store.get_chat(identity.app_id, chat_id)
        if chat is None or not identity.owns(
            app_id=chat.app_id, user_id=chat.user_id, chat_id=chat.chat_id
        ):
            raise NotFound("chat not found")
        return chat

    async def find_chat(self, identity: Identity, chat_id: str) -> ChatRecord | None:
        """None when the chat does not exist; NotFound when it exists but is not the caller's."""
        chat = await self._store.get_chat(identity.app_id, chat_id)
        if chat is not None and not identity.owns(
            app_id=chat.app_id, user_id=chat.user_id, chat_id=chat_id
        ):
            raise NotFound("chat not found")
        return chat

    async def list_chats(
        self, identity: Identity, *, user_id: str | None, limit: int, cursor: str | None
    ) -> ChatPage:
        """The caller's chats; another user's or the whole app's need the admin scope."""
        if user_id != identity.user_id and not identity.is_admin:
            raise NotFound("no such user")
        return await self._store.list_chats(
            identity.app_id, user_id=user_id, limit=limit, cursor=cursor
        )

    def runs_here(self, chat: ChatRecord) -> bool:
        """Whether this process runs the chat now (its events then arrive through the hub)."""
        return self._runs.holds(chat.ref)

    def run_pending_here(self, chat: ChatRecord) -> bool:
        """Whether a run of the chat is in this process: executing, or about to (it waits for
        the chat's lease); it then writes its end before this turns False."""
        return self._runs.is_running(chat.ref)

    async def exists(self, chat: ChatRecord) -> bool:
        """Whether the chat is still in the store (a socket's check for a deletion elsewhere)."""
        return await self._store.get_chat(chat.app_id, chat.chat_id) is not None

    async def events_after(self, chat: ChatRecord, after_seq: int, limit: int) -> list[StoredEvent]:
        return await self._store.events_after(chat.app_id, chat.chat_id, after_seq, limit)

    async def last_seq(self, chat: ChatRecord) -> int:
        return await self._store.last_seq(chat.app_id, chat.chat_id)

    async def open_requests(self, chat: ChatRecord) -> list[PendingRequest]:
        return await self._pending.open_for(chat.app_id, chat.chat_id)

    def workflow(self, name: str) -> WorkflowDefinition:
        return self._pinned.current(name).definition

    def current_version(self, name: str) -> str | None:
        """The content hash of the version served now (None: the workflow is not served)."""
        return self._pinned.current_version(name)

    async def workflow_of(self, chat: ChatRecord) -> WorkflowDefinition:
        """The exact version the chat is pinned to, on any replica, after any restart."""
        return await self._pinned.definition(chat)

    async def check_access(
        self, identity: Identity, workflow_name: str, chat: ChatRecord | None = None
    ) -> None:
        """NotEntitled unless the caller's token satisfies the workflow's `access` rules. The
        version served now decides, so a rule tightened today binds chats started before it; a
        chat whose workflow is no longer served is judged by the version it is pinned to."""
        if identity.dev:
            return
        try:
            definition = self._pinned.current(workflow_name).definition
        except WorkflowNotFound:
            if chat is None:
                raise
            definition = await self.workflow_of(chat)
        if not entitled(identity, definition.access):
            raise NotEntitled(f"you are not entitled to run the workflow {workflow_name!r}")

    async def cancel(self, identity: Identity, chat_id: str, *, reason: str) -> bool:
        """Stop the chat's current run; returns False when the last run was cancelled already
        (a repeated cancel is not an error). NoActiveRun (409) when no run goes on. A run on
        another live replica gets the stop through the store and ends within a second or two."""
        chat = await self.get_chat(identity, chat_id)
        key = chat.ref
        stop = Stop(by=identity.user_id, reason=reason or "cancelled by the user")
        if self._runs.cancel(key, stop):
            await self._runs.wait(key)  # until the run has written its end
            return True
        if chat.status in ACTIVE_STATUSES:
            outcome = await self._runs.cancel_unattended(chat, stop)
            if outcome == "cancelled":
                return True
            if outcome == "elsewhere" and await self._runs.request_stop(chat, stop):
                await self._until_run_ends(chat)
                return True
        last = await self.last_seq(chat)
        tail = await self._store.events_after(chat.app_id, chat.chat_id, max(0, last - 1), 1)
        if tail and tail[-1].type == events.RUN_CANCELLED:
            return False
        raise NoActiveRun("no run is going on in this chat")

    async def _until_run_ends(self, chat: ChatRecord) -> None:
        """Wait (bounded) for a run stopped on another replica to write its end; past the bound
        the stop stays queued for its holder, which applies it when it reads it."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REMOTE_STOP_WAIT_SECONDS):
                while True:
                    fresh = await self._store.get_chat(chat.app_id, chat.chat_id)
                    if fresh is None or fresh.status not in ACTIVE_STATUSES:
                        return
                    await asyncio.sleep(0.1)

    async def upgrade(self, identity: Identity, chat_id: str) -> tuple[ChatRecord, str | None]:
        """Move the caller's chat to the workflow version served now; returns the chat and the
        version it left (None when it was on the current one already: upgrading is idempotent).
        Conflict while a run is going; WorkflowNotFound when the workflow is no longer served."""
        chat = await self.get_chat(identity, chat_id)
        current = self._pinned.current(chat.workflow_name)
        if current.version == chat.workflow_version:
            return chat, None
        if self._runs.is_running(chat.ref) or chat.status in ACTIVE_STATUSES:
            raise Conflict("a run is going; upgrade the chat when it ends")
        await self._pinned.pin(chat.app_id, current)
        moved = await self._store.update_chat(
            chat.app_id, chat.chat_id, workflow_version=current.version
        )
        if moved is None:
            raise NotFound("chat not found")
        data = WorkflowUpgradedData(
            from_version=chat.workflow_version,
            to_version=current.version,
            version=current.definition.version,
            by=identity.user_id,
        )
        await self._runs.record(moved, [events.event(events.WORKFLOW_UPGRADED, data)])
        return moved, chat.workflow_version

    # Creating and starting

    async def open_chat(
        self,
        identity: Identity,
        *,
        workflow_name: str,
        chat_id: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> tuple[ChatRecord, bool]:
        """The caller's chat `chat_id` (resumed) or a new one; returns it and whether it existed.
        NotFound when it exists for someone else or for another workflow. An existing chat opens
        even when its workflow is no longer served: it runs the version it is pinned to."""
        if chat_id is not None:
            if not identity.may_use_chat(chat_id):
                raise NotFound("chat not found")
            existing = await self.find_chat(identity, chat_id)
            if existing is not None:
                if existing.workflow_name != workflow_name:
                    raise NotFound("chat not found")
                await self.check_access(identity, workflow_name, existing)
                return existing, True
        elif identity.chat_id is not None:
            chat_id = identity.chat_id
        loaded = self._pinned.current(workflow_name)
        await self.check_access(identity, workflow_name)
        self._new_chats.hit(f"{identity.app_id}/{identity.user_id}")
        await self._check_budget(identity)
        await self._pinned.pin(identity.app_id, loaded)
        now = utcnow()
        chat = ChatRecord(
            app_id=identity.app_id,
            chat_id=chat_id or new_chat_id(),
            user_id=identity.user_id,
            workflow_name=workflow_name,
            workflow_version=loaded.version,
            status="created",
            created_at=now,
            updated_at=now,
            context=dict(context or {}),
        )
        try:
            return await self._store.create_chat(chat), False
        except Conflict:
            # Created meanwhile (a second tab); it is the caller's only if the checks pass.
            existing = await self.find_chat(identity, chat.chat_id)
            if existing is None or existing.workflow_name != workflow_name:
                raise NotFound("chat not found") from None
            return existing, True

    async def on_connect(
        self, chat: ChatRecord, *, seen_seq: int | None = None, trace_parent: str | None = None
    ) -> None:
        """A socket opened on the chat: start an agent-driven workflow, or resume a run that
        a dead process left behind (unless it waits for the user, whose answer resumes it).
        `seen_seq`: the chat's last seq as the socket just read it, if it did. `trace_parent`
        (here and below): the W3C traceparent whose trace the run continues, if any."""
        key = chat.ref
        if self._runs.is_running(key):
            return
        workflow = await self.workflow_of(chat)
        if chat.status == "created" and workflow.startup_mode == "agent_driven":
            seq = seen_seq if seen_seq is not None else await self.last_seq(chat)
            plan = RunPlan(
                chat,
                workflow,
                workflow.initial_message,
                echo=False,
                expected_seq=seq,
                trace_parent=trace_parent,
            )
            self._runs.start(plan)
        elif chat.status in ACTIVE_STATUSES and not await self.open_requests(chat):
            seq = seen_seq if seen_seq is not None else await self.last_seq(chat)
            self._runs.start(RunPlan(chat, workflow, expected_seq=seq, trace_parent=trace_parent))

    async def submit_input(
        self,
        identity: Identity,
        chat: ChatRecord,
        *,
        text: str,
        request_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        trace_parent: str | None = None,
    ) -> int | None:
        """Answer the given (or the open) input request, else start the next run; while a run
        goes on, what the workflow's `on_new_message` says (a queued message's place, or
        Conflict). Every message is checked against the workflow's `access` rules first."""
        self._messages.hit(f"{identity.app_id}/{identity.user_id}")
        await self.check_access(identity, chat.workflow_name, chat)
        if request_id is None:
            open_inputs = [r for r in await self.open_requests(chat) if r.kind == "input"]
            request_id = open_inputs[-1].request_id if open_inputs else None
        if request_id is not None:
            request, waiting = await self._pending.answer(
                app_id=chat.app_id,
                chat_id=chat.chat_id,
                user_id=identity.user_id,
                request_id=request_id,
                answer=text,
                kind="input",
            )
            if not waiting:
                await self._continue_after_restart(chat, request, text, trace_parent)
            return None
        key = chat.ref
        fresh = await self.get_chat(identity, chat.chat_id)
        workflow = await self.workflow_of(fresh)
        here = self._runs.is_running(key)
        if here or (fresh.status == "running" and workflow.on_new_message != "reject"):
            return await self._while_running(identity, fresh, workflow, text, context, trace_parent)
        await self._check_budget(identity)
        seq = await self.last_seq(fresh)
        plan = RunPlan(
            fresh, workflow, text, context=context, expected_seq=seq, trace_parent=trace_parent
        )
        self._runs.start(plan)
        return None

    async def _while_running(
        self,
        identity: Identity,
        chat: ChatRecord,
        workflow: WorkflowDefinition,
        text: str,
        context: Mapping[str, Any] | None,
        trace_parent: str | None = None,
    ) -> int:
        """Double-texting: a message while a run goes on, as the workflow's `on_new_message`
        says. Returns the message's place in the chat's queue (1: next)."""
        policy = workflow.on_new_message
        if policy == "reject":
            raise Conflict("the workflow is busy; wait for its question")
        await self._check_budget(identity)
        payload = {"text": text, "context": dict(context or {}), "user_id": identity.user_id}
        if trace_parent is not None:
            payload["traceparent"] = trace_parent
        item = await self._store.push_inbox(chat.app_id, chat.chat_id, "message", payload)
        key = chat.ref
        if policy == "interrupt":
            stop = Stop(by=identity.user_id, reason="interrupted by a new message")
            await self._runs.request_stop(chat, stop)
        if not self._runs.is_running(key):
            self._runs.drain(chat)  # the run ended meanwhile (or runs elsewhere: its end drains)
        queued = await self._store.list_inbox(chat.app_id, [chat.chat_id], "message")
        return 1 + sum(1 for q in queued if q.n < item.n)

    async def _check_budget(self, identity: Identity) -> None:
        """Refuse a new chat or run up front (BudgetExceeded: HTTP 429 / chat.error) rather than
        start one that would stop at its first model call. Answers to a waiting run pass: the
        run itself stops at its next model call."""
        if self._budget is not None:
            await self._budget.check(app_id=identity.app_id, user_id=identity.user_id)

    async def answer_input(
        self, identity: Identity, *, request_id: str, text: str, trace_parent: str | None = None
    ) -> None:
        """POST /api/user-input/submit: the request id alone names the chat."""
        request = await self._pending_of(identity, request_id)
        chat = await self.get_chat(identity, request.chat_id)
        await self.submit_input(
            identity, chat, text=text, request_id=request_id, trace_parent=trace_parent
        )

    async def answer_ui_tool(
        self,
        identity: Identity,
        *,
        event_id: str,
        response: Mapping[str, Any],
        chat: ChatRecord | None = None,
        trace_parent: str | None = None,
    ) -> None:
        """Answer a pending UI tool; only the chat's owner can, and only for that chat."""
        request = await self._pending_of(identity, event_id)
        if chat is None:
            chat = await self.get_chat(identity, request.chat_id)
        await self.check_access(identity, chat.workflow_name, chat)
        answered, waiting = await self._pending.answer(
            app_id=chat.app_id,
            chat_id=chat.chat_id,
            user_id=identity.user_id,
            request_id=event_id,
            answer=dict(response),
            kind="ui_tool",
        )
        if not waiting:
            answer = json.dumps(dict(response))
            await self._continue_after_restart(chat, answered, answer, trace_parent)

    async def _pending_of(self, identity: Identity, request_id: str) -> PendingRequest:
        request = await self._store.get_pending(identity.app_id, request_id)
        if request is None or request.user_id != identity.user_id:
            raise InputRequestNotFound("no such request")
        return request

    async def _continue_after_restart(
        self, chat: ChatRecord, request: PendingRequest, answer: str, trace_parent: str | None
    ) -> None:
        """The run that asked is gone (restart, other replica died): a new run continues from
        the history with the answer as the user's message."""
        fresh = await self._store.get_chat(chat.app_id, chat.chat_id) or chat
        workflow = await self.workflow_of(fresh)
        secret = None
        if request.kind == "input":
            password = bool(request.payload.get("password"))
            preamble = accepted_input(request.request_id, answer, password=password)
            message = answer
            secret = request.request_id if password else None
        else:
            tool = str(request.payload.get("tool_name", "ui_tool"))
            preamble = [ui_tool_done(request.request_id, tool, status="completed")]
            message = f"[{tool} answered] {answer}"
        seq = await self.last_seq(fresh)
        self._runs.start(
            RunPlan(
                fresh,
                workflow,
                message,
                echo=False,
                preamble=preamble,
                expected_seq=seq,
                trace_parent=trace_parent,
                secret_answer=secret,
            )
        )
