"""Runs of workflows, one tracked task per chat, each under the chat's lease and a deadline.

A run outlives the socket that started it. Shutdown cancels runs and leaves their chats
`running`/`waiting`; the next connect (on any replica) resumes them from the persisted history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mozaiks_runtime.chats import events
from mozaiks_runtime.chats.events import RunScope
from mozaiks_runtime.chats.lease import RunLease, lease_name
from mozaiks_runtime.chats.runio import ChatRunIO, RunPorts
from mozaiks_runtime.engine.base import HistoryMessage, Runner, RunOutcome, RunRequest
from mozaiks_runtime.errors import (
    BudgetExceeded,
    Conflict,
    InputTimeout,
    MozaiksError,
    RateLimited,
)
from mozaiks_runtime.logs import chat_context
from mozaiks_runtime.metrics import Metrics
from mozaiks_runtime.storage.base import ChatRecord, ChatStatus, NewEvent, Store
from mozaiks_runtime.workflows.model import WorkflowDefinition

log = logging.getLogger(__name__)
ChatKey = tuple[str, str]
HISTORY_PAGE = 1000


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What to run: the chat, its workflow version, the message that starts the run (echoed
    as the user's unless `echo` is off), and events to write first (e.g. a late input ack)."""

    chat: ChatRecord
    workflow: WorkflowDefinition
    user_message: str | None = None
    echo: bool = True
    preamble: Sequence[NewEvent] = ()
    context: Mapping[str, Any] | None = None
    # The chat's last seq when the plan was made: if it moved before the lease was won (another
    # replica went on with the chat meanwhile), the plan is stale and is dropped.
    expected_seq: int | None = None


class RunManager:
    def __init__(
        self,
        *,
        store: Store,
        runner: Runner,
        ports: RunPorts,
        replica_id: str,
        lease_ttl_seconds: float,
        run_timeout_seconds: float,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._runner = runner
        self._ports = ports
        self._replica_id = replica_id
        self._lease_ttl = lease_ttl_seconds
        self._run_timeout = run_timeout_seconds
        self._metrics = metrics
        self._tasks: dict[ChatKey, asyncio.Task[None]] = {}
        self._holding: set[ChatKey] = set()
        self._all: set[asyncio.Task[None]] = set()  # with runs that are only tidying up

    async def record(self, chat: ChatRecord, new: Sequence[NewEvent]) -> None:
        """Persist and publish events of a chat between runs (e.g. its workflow upgrade)."""
        await self._ports.journal.append(chat.app_id, chat.chat_id, new)

    def is_running(self, key: ChatKey) -> bool:
        """A run of the chat is in this process (executing, or waiting for the lease)."""
        return key in self._tasks

    def holds(self, key: ChatKey) -> bool:
        """This process holds the chat's lease and executes its run."""
        return key in self._holding

    def start(self, plan: RunPlan) -> bool:
        """Start a run unless this process already runs the chat (then False)."""
        key = (plan.chat.app_id, plan.chat.chat_id)
        if key in self._tasks:
            return False
        task = asyncio.create_task(self._guarded(plan), name=f"run:{plan.chat.chat_id}")
        self._tasks[key] = task
        self._all.add(task)
        task.add_done_callback(self._all.discard)
        task.add_done_callback(lambda done: self._free(key, done))
        return True

    def _free(self, key: ChatKey, task: asyncio.Task[None]) -> None:
        """The chat may take its next run (only if `task` is still the chat's run)."""
        if self._tasks.get(key) is task:
            del self._tasks[key]
            self._holding.discard(key)

    async def wait(self, key: ChatKey) -> None:
        """Until the chat's run (if any) ends; for tests and draining."""
        task = self._tasks.get(key)
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)

    async def close(self) -> None:
        tasks = list(self._all)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _guarded(self, plan: RunPlan) -> None:
        chat = plan.chat
        task = asyncio.current_task()
        assert task is not None
        lease = RunLease(
            self._store,
            name=lease_name(chat.app_id, chat.chat_id),
            owner=self._replica_id,
            ttl_seconds=self._lease_ttl,
            on_lost=task.cancel,
        )
        try:
            with chat_context(chat.chat_id):  # every log line of the run names its chat
                await self._acquire(lease)
                async with lease:
                    if await self._stale(plan):
                        log.info("chat %s moved on elsewhere; plan dropped", chat.chat_id)
                        return
                    self._holding.add((chat.app_id, chat.chat_id))
                    await self._execute(plan, task)
        except Conflict:
            log.info("chat %s runs on another replica", chat.chat_id)
        except Exception:
            # The run's own failures are reported in _execute; this is the store failing.
            log.exception("run of chat %s could not finish its bookkeeping", chat.chat_id)

    async def _acquire(self, lease: RunLease) -> None:
        """Wait for a lease held elsewhere for up to one and a half TTLs: a crashed replica's
        lease expires in one, a live replica keeps renewing it (then Conflict)."""
        waited = 0.0
        while not await lease.try_acquire():
            if waited >= 1.5 * self._lease_ttl:
                raise Conflict("the chat is running on another replica")
            await asyncio.sleep(self._lease_ttl / 3)
            waited += self._lease_ttl / 3

    async def _stale(self, plan: RunPlan) -> bool:
        if plan.expected_seq is None:
            return False
        return await self._store.last_seq(plan.chat.app_id, plan.chat.chat_id) != plan.expected_seq

    async def _execute(self, plan: RunPlan, task: asyncio.Task[None]) -> None:
        chat, journal = plan.chat, self._ports.journal
        scope = RunScope(chat.chat_id, chat.app_id, chat.user_id, chat.workflow_name)
        history, unfinished = await self._history(chat)
        # A run killed mid-turn resumes with the agent it was on, not the one the last
        # completed run ended with.
        resume_agent = unfinished or chat.last_agent
        await self._set_status(chat, "running")
        opening = list(plan.preamble)
        if plan.user_message is not None and plan.echo:
            opening.append(
                NewEvent(
                    events.TEXT,
                    events.text_data(agent="user", content=plan.user_message, role="user"),
                )
            )
        agent = resume_agent or plan.workflow.start_agent
        opening.append(NewEvent(events.RUN_START, {"agent": agent}))
        await journal.append(chat.app_id, chat.chat_id, opening)
        self._count_run(plan, "started")

        async def set_status(status: ChatStatus) -> None:
            await self._set_status(chat, status)

        async def add_tokens(tokens: int) -> None:
            await self._store.update_chat(chat.app_id, chat.chat_id, add_tokens=tokens)

        io = ChatRunIO(scope, self._ports, set_status, add_tokens)
        request = RunRequest(
            chat_id=chat.chat_id,
            app_id=chat.app_id,
            user_id=chat.user_id,
            workflow=plan.workflow,
            history=history,
            user_message=plan.user_message,
            context={**plan.workflow.context_variables, **chat.context, **(plan.context or {})},
            start_agent=resume_agent,
        )
        outcome, failure = await self._run(request, io)
        status = outcome.status if failure is None else failure[0]
        tail = []
        if failure is not None:
            tail.append(NewEvent(events.ERROR, events.error_data(failure[2], failure[1])))
        summary = io.tally.summary_data(chat_id=chat.chat_id, workflow_name=chat.workflow_name)
        tail.append(NewEvent(events.USAGE_SUMMARY, summary))
        tail.append(
            NewEvent(
                events.RUN_COMPLETE,
                {
                    "status": status,
                    "summary": outcome.summary,
                    "total_tokens": io.tally.total_tokens,
                },
            )
        )
        # The chat's state first, then the events that announce the end: a client that answers
        # `chat.run_complete` at once finds the chat ready for its next message.
        await self._store.update_chat(
            chat.app_id,
            chat.chat_id,
            status=final_status(outcome, status),
            last_agent=outcome.last_agent,
            context=outcome.context if failure is None else None,
        )
        await journal.append(chat.app_id, chat.chat_id, tail)
        self._free((chat.app_id, chat.chat_id), task)
        self._count_run(plan, status)

    async def _run(
        self, request: RunRequest, io: ChatRunIO
    ) -> tuple[RunOutcome, tuple[str, str, str] | None]:
        """The outcome, plus (status, error_code, message) when the run did not end normally.
        Cancellation (shutdown, lost lease) propagates: the chat stays resumable."""
        stopped = RunOutcome(status="stopped")
        try:
            async with asyncio.timeout(self._run_timeout):
                return await self._runner.run(request, io), None
        except InputTimeout as exc:
            return stopped, ("timeout", exc.error_code, exc.message)
        except (BudgetExceeded, RateLimited) as exc:
            return stopped, ("stopped", exc.error_code, exc.message)
        except MozaiksError as exc:
            log.warning("run of chat %s failed: %s", request.chat_id, exc.message)
            return RunOutcome(status="failed"), ("failed", exc.error_code, exc.message)
        except TimeoutError:
            return stopped, ("timeout", "RUN_TIMEOUT", "the run took too long and was stopped")
        except Exception:
            log.exception("run of chat %s crashed", request.chat_id)
            return RunOutcome(status="failed"), ("failed", "ENGINE_FAILED", "the workflow failed")

    async def _history(self, chat: ChatRecord) -> tuple[list[HistoryMessage], str | None]:
        """The conversation so far, from the persisted messages and questions to the user; and
        the agent whose turn a run that never completed (killed mid-run) was in, if any."""
        history: list[HistoryMessage] = []
        unfinished: str | None = None
        after = 0
        while True:
            page = await self._store.events_after(chat.app_id, chat.chat_id, after, HISTORY_PAGE)
            for event in page:
                agent = str(event.data.get("agent", ""))
                if event.type == events.SELECT_SPEAKER:
                    unfinished = agent or unfinished
                elif event.type == events.RUN_COMPLETE:
                    unfinished = None
                elif event.type == events.TEXT:
                    content = str(event.data.get("content", ""))
                    user = event.data.get("role") == "user"
                    history.append(HistoryMessage(agent, content, "user" if user else "assistant"))
                elif event.type == events.INPUT_REQUEST:
                    # The user saw the question; a run resumed after a restart needs it too.
                    prompt = str(event.data.get("prompt", ""))
                    history.append(HistoryMessage(agent, prompt, "assistant"))
            if len(page) < HISTORY_PAGE:
                return history, unfinished
            after = page[-1].seq

    async def _set_status(self, chat: ChatRecord, status: ChatStatus) -> None:
        await self._store.update_chat(chat.app_id, chat.chat_id, status=status)

    def _count_run(self, plan: RunPlan, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.run(workflow=plan.workflow.name, outcome=outcome)


def final_status(outcome: RunOutcome, status: str) -> ChatStatus:
    """The chat's status after a run: `completed` only when the workflow reached `terminate`;
    a hand-off to the user or a stopped run leaves it `idle` (the next message continues it)."""
    if status == "completed":
        return "idle" if outcome.awaiting_user else "completed"
    return "failed" if status == "failed" else "idle"
