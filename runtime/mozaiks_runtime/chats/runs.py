"""Runs of workflows, one tracked task per chat, each under the chat's lease and a deadline.

A run outlives the socket that started it. Shutdown cancels runs and leaves their chats
`running`/`waiting`; whichever replica's sweeper first takes the expired lease resumes them from
the persisted history, with or without a client (chats/sweeper.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from mozaiks_runtime.chats import events
from mozaiks_runtime.chats.events import RunScope
from mozaiks_runtime.chats.lease import RunLease, lease_name
from mozaiks_runtime.chats.pinning import PinnedWorkflows
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
from mozaiks_runtime.refs import ChatRef
from mozaiks_runtime.storage.base import (
    ACTIVE_STATUSES,
    ChatRecord,
    ChatStatus,
    NewEvent,
    Store,
)
from mozaiks_runtime.wire import events as wire
from mozaiks_runtime.workflows.model import WorkflowDefinition

if TYPE_CHECKING:
    from mozaiks_runtime.tracing.otel import RunTrace, Tracing

log = logging.getLogger(__name__)
HISTORY_PAGE = 1000
CANCELLED = ("cancelled", "RUN_CANCELLED", "the run was cancelled")  # _run's "a user stopped it"


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What to run: the chat, its workflow version, the message that starts the run (echoed
    as the user's unless `echo` is off), and events to write first (e.g. a late input ack)."""

    chat: ChatRecord
    workflow: WorkflowDefinition | None  # None: the chat's pinned one, loaded under the lease
    user_message: str | None = None
    echo: bool = True
    preamble: Sequence[NewEvent] = ()
    context: Mapping[str, Any] | None = None
    # The chat's last seq when the plan was made: if it moved before the lease was won (another
    # replica went on with the chat meanwhile), the plan is stale and is dropped.
    expected_seq: int | None = None
    # Run the oldest message of the chat's inbox (double-texting: enqueue, interrupt).
    take_queued: bool = False
    # Resume a run nobody executes (the sweeper): one try at the lease, and dropped unless the
    # chat, read again under the lease, still has a run to resume.
    orphan: bool = False
    # The W3C traceparent of the request or frame that asked for the run (tracing continues
    # that trace; ignored when tracing is off).
    trace_parent: str | None = None
    # The password request this run's preamble answers: its stored answer is dropped once the
    # preamble (the ack) is stored, so no secret outlives the run that took it.
    secret_answer: str | None = None


class RunManager:
    def __init__(
        self,
        *,
        store: Store,
        runner: Runner,
        ports: RunPorts,
        workflows: PinnedWorkflows,
        replica_id: str,
        lease_ttl_seconds: float,
        run_timeout_seconds: float,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._store = store
        self._runner = runner
        self._ports = ports
        self._workflows = workflows
        self._replica_id = replica_id
        self._lease_ttl = lease_ttl_seconds
        self._run_timeout = run_timeout_seconds
        self._metrics = metrics
        self._tracing = tracing  # None: off, and no span is built
        self._tasks: dict[ChatRef, asyncio.Task[None]] = {}
        self._holding: set[ChatRef] = set()
        self._all: set[asyncio.Task[None]] = set()  # with runs that are only tidying up
        # The engine's part of each executing run, cancelled alone by a user's stop (the run's
        # own task then writes the end of the run), and who asked for each stop and why.
        self._engines: dict[ChatRef, asyncio.Task[RunOutcome]] = {}
        self._stops: dict[ChatRef, Stop] = {}

    def held(self) -> list[ChatRef]:
        """The chats whose runs this process executes now."""
        return list(self._holding)

    def cancel(self, key: ChatRef, stop: Stop) -> bool:
        """Stop the chat's run if this process executes it (False otherwise). The engine is
        cancelled where it waits (an in-flight model request is abandoned; a tool already
        running in a worker thread finishes, its result unused); the run then ends with
        `chat.run_cancelled`. A second stop of the same run changes nothing."""
        if key not in self._holding:
            return False
        self._stops.setdefault(key, stop)
        engine = self._engines.get(key)
        if engine is not None:
            engine.cancel()
        return True

    async def cancel_unattended(
        self, chat: ChatRecord, stop: Stop
    ) -> Literal["cancelled", "elsewhere", "no_run"]:
        """End a run that no process executes (its replica died, or it waits for an answer
        since a restart): under the chat's lease, taken once. `elsewhere`: a live replica
        holds the lease (the run is there)."""
        lease = RunLease(
            self._store,
            name=lease_name(chat.app_id, chat.chat_id),
            owner=self._replica_id,
            ttl_seconds=self._lease_ttl,
            on_lost=lambda: None,
        )
        if not await lease.try_acquire():
            return "elsewhere"
        async with lease:
            fresh = await self._store.get_chat(chat.app_id, chat.chat_id)
            if fresh is None or fresh.status not in ACTIVE_STATUSES:
                return "no_run"
            await cancel_open_requests(self._store, self._ports, fresh)
            await self._store.update_chat(chat.app_id, chat.chat_id, status="idle")
            data = events.cancelled_data(**stop.fields(), agent=fresh.last_agent)
            await self.record(fresh, [events.event(events.RUN_CANCELLED, data)])
        return "cancelled"

    async def record(self, chat: ChatRecord, new: Sequence[NewEvent]) -> None:
        """Persist and publish events of a chat between runs (e.g. its workflow upgrade)."""
        await self._ports.journal.append(chat.ref, new)

    def is_running(self, key: ChatRef) -> bool:
        """A run of the chat is in this process (executing, or waiting for the lease)."""
        return key in self._tasks

    def holds(self, key: ChatRef) -> bool:
        """This process holds the chat's lease and executes its run."""
        return key in self._holding

    def start(self, plan: RunPlan) -> bool:
        """Start a run unless this process already runs the chat (then False)."""
        key = plan.chat.ref
        if key in self._tasks:
            return False
        task = asyncio.create_task(self._guarded(plan), name=f"run:{plan.chat.chat_id}")
        self._tasks[key] = task
        self._all.add(task)
        task.add_done_callback(self._all.discard)
        task.add_done_callback(lambda done: self._free(key, done))
        return True

    def _free(self, key: ChatRef, task: asyncio.Task[None]) -> None:
        """The chat may take its next run (only if `task` is still the chat's run)."""
        if self._tasks.get(key) is task:
            del self._tasks[key]
            self._holding.discard(key)

    async def wait(self, key: ChatRef) -> None:
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
                if plan.orphan:
                    if not await lease.try_acquire():
                        return  # a live replica runs it, or another sweeper got there first
                else:
                    await self._acquire(lease)
                async with lease:
                    if await self._stale(plan) or (plan.orphan and not await self._orphaned(chat)):
                        log.info("chat %s moved on elsewhere; plan dropped", chat.chat_id)
                        return
                    if plan.take_queued:
                        queued = await self._queued_plan(chat)
                        if queued is None:
                            return
                        plan = queued
                    await self._drop_stale_stops(chat)
                    self._holding.add(chat.ref)
                    workflow = await self._execute(plan, task)
                # Messages queued while it ran start the next run (after the lease is free, so
                # that a message pushed as this run ended is seen here or by its sender).
                if workflow.on_new_message != "reject":
                    self.drain(chat)
        except Conflict:
            log.info("chat %s runs on another replica", chat.chat_id)
        except Exception:
            # The run's own failures are reported in _execute; this is the store failing.
            log.exception("run of chat %s could not finish its bookkeeping", chat.chat_id)

    def drain(self, chat: ChatRecord) -> None:
        """Run the chat's queued messages, one run each, unless this process runs it now."""
        self.start(RunPlan(chat, None, take_queued=True))

    async def _queued_plan(self, chat: ChatRecord) -> RunPlan | None:
        """The oldest queued message of the chat as a plan, taken out of the inbox (once, even
        when several replicas try); None when the inbox holds none."""
        for item in await self._store.list_inbox(chat.app_id, [chat.chat_id], "message"):
            if not await self._store.remove_inbox(chat.app_id, chat.chat_id, item.n):
                continue
            fresh = await self._store.get_chat(chat.app_id, chat.chat_id) or chat
            workflow = await self._workflows.definition(fresh)
            context = item.payload.get("context")
            text = str(item.payload.get("text", ""))
            parent = item.payload.get("traceparent")
            return RunPlan(
                fresh,
                workflow,
                text,
                context=context if context else None,
                trace_parent=parent if isinstance(parent, str) else None,
            )
        return None

    async def request_stop(self, chat: ChatRecord, stop: Stop) -> bool:
        """Stop the chat's run wherever it executes: here at once, on another live replica
        through the chat's inbox (its holder reads stops every second). False when no process
        holds the chat's lease (no run goes on, or nobody executes it)."""
        if self.cancel(chat.ref, stop):
            return True
        if not await self._store.held_leases([lease_name(chat.app_id, chat.chat_id)]):
            return False
        await self._store.push_inbox(chat.app_id, chat.chat_id, "stop", stop.fields())
        return True

    async def _orphaned(self, chat: ChatRecord) -> bool:
        """Read again under the lease: the chat still has a run nobody finished."""
        fresh = await self._store.get_chat(chat.app_id, chat.chat_id)
        if fresh is None or fresh.status not in ACTIVE_STATUSES:
            return False
        return not await self._ports.pending.open_for(chat.app_id, chat.chat_id)

    async def _drop_stale_stops(self, chat: ChatRecord) -> None:
        """Stops left for a run that ended before its holder read them must not stop this one."""
        for item in await self._store.list_inbox(chat.app_id, [chat.chat_id], "stop"):
            await self._store.remove_inbox(chat.app_id, chat.chat_id, item.n)

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

    async def _execute(self, plan: RunPlan, task: asyncio.Task[None]) -> WorkflowDefinition:
        """Run the plan to its end; returns the workflow it ran."""
        chat, journal = plan.chat, self._ports.journal
        workflow = plan.workflow or await self._workflows.definition(chat)
        scope = RunScope(chat.chat_id, chat.app_id, chat.user_id, chat.workflow_name)
        past = await self._history(chat)
        # A run killed mid-turn resumes with the agent it was on, not the one the last
        # completed run ended with, and in the trace it was in.
        resume_agent = past.unfinished_agent or chat.last_agent
        await self._set_status(chat, "running")
        opening = list(plan.preamble)
        if plan.user_message is not None and plan.echo:
            opening.append(
                events.event(
                    events.TEXT,
                    events.text_data(agent="user", content=plan.user_message, role="user"),
                )
            )
        agent = resume_agent or workflow.start_agent

        async def set_status(status: ChatStatus) -> None:
            await self._set_status(chat, status)

        async def add_tokens(tokens: int) -> None:
            await self._store.update_chat(chat.app_id, chat.chat_id, add_tokens=tokens)

        io = ChatRunIO(scope, self._ports, set_status, add_tokens)
        parent = plan.trace_parent or past.unfinished_trace
        with self._span(plan, workflow, parent) as trace:
            start = wire.RunStartData(agent=agent)
            if trace is not None and trace.traceparent is not None:
                start = wire.RunStartData(agent=agent, traceparent=trace.traceparent)
            opening.append(events.event(events.RUN_START, start))
            await journal.append(chat.ref, opening)
            if plan.secret_answer is not None:
                await self._store.forget_answer(chat.app_id, plan.secret_answer)
            self._count_run(plan, "started")
            request = RunRequest(
                chat_id=chat.chat_id,
                app_id=chat.app_id,
                user_id=chat.user_id,
                workflow=workflow,
                history=past.history,
                user_message=plan.user_message,
                context={**workflow.context_variables, **chat.context, **(plan.context or {})},
                start_agent=resume_agent,
                trace=trace,
            )
            outcome, failure = await self._run(request, io)
            if trace is not None:
                if failure is None:
                    trace.outcome(outcome.status)
                else:
                    trace.outcome(failure[0], failure[1])
        stop = self._stops.pop(chat.ref, None)
        if failure is CANCELLED and stop is not None:
            await self._end_cancelled(chat, io, stop, agent)
            self._free(chat.ref, task)
            self._count_run(plan, "cancelled")
            return workflow
        status = outcome.status if failure is None else failure[0]
        tail = []
        if failure is not None:
            tail.append(events.event(events.ERROR, events.error_data(failure[2], failure[1])))
        summary = io.tally.summary_data(chat_id=chat.chat_id, workflow_name=chat.workflow_name)
        tail.append(events.event(events.USAGE_SUMMARY, summary))
        tail.append(
            events.event(
                events.RUN_COMPLETE,
                wire.RunCompleteData(
                    status=status, summary=outcome.summary, total_tokens=io.tally.total_tokens
                ),
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
        await journal.append(chat.ref, tail)
        self._free(chat.ref, task)
        self._count_run(plan, status)
        return workflow

    async def _end_cancelled(self, chat: ChatRecord, io: ChatRunIO, stop: Stop, agent: str) -> None:
        """A user stopped the run: its open questions close, the chat takes the next message.
        What the run stored before the stop stays in the log."""
        await cancel_open_requests(self._store, self._ports, chat)
        await self._store.update_chat(chat.app_id, chat.chat_id, status="idle")
        summary = io.tally.summary_data(chat_id=chat.chat_id, workflow_name=chat.workflow_name)
        tail = [
            events.event(events.USAGE_SUMMARY, summary),
            events.event(events.RUN_CANCELLED, events.cancelled_data(**stop.fields(), agent=agent)),
        ]
        await self._ports.journal.append(chat.ref, tail)

    def _span(
        self, plan: RunPlan, workflow: WorkflowDefinition, parent: str | None
    ) -> AbstractContextManager[RunTrace | None]:
        """The run's span (the engine's turn spans hang under it); nothing when tracing is off."""
        if self._tracing is None:
            return nullcontext()
        chat = plan.chat
        return self._tracing.run(
            chat_id=chat.chat_id,
            app_id=chat.app_id,
            workflow=chat.workflow_name,
            version=workflow.version,
            pinned=chat.workflow_version,
            parent=parent,
            user_message=plan.user_message,
        )

    async def _run(
        self, request: RunRequest, io: ChatRunIO
    ) -> tuple[RunOutcome, tuple[str, str, str] | None]:
        """The outcome, plus (status, error_code, message) when the run did not end normally.
        Cancellation of the run's own task (shutdown, lost lease, timeout) propagates: the chat
        stays resumable; a user's stop cancels only the engine and gives `cancelled`."""
        stopped = RunOutcome(status="stopped")
        key = io.ref
        engine = asyncio.create_task(self._runner.run(request, io), name=f"engine:{key.chat_id}")
        self._engines[key] = engine
        if key in self._stops:  # stopped before the engine started
            engine.cancel()
        try:
            async with asyncio.timeout(self._run_timeout):
                return await engine, None
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if (current is not None and current.cancelling()) or key not in self._stops:
                raise
            return stopped, CANCELLED
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
        finally:
            self._engines.pop(key, None)
            engine.cancel()  # a no-op once it is done

    async def _history(self, chat: ChatRecord) -> Past:
        """The conversation so far, from the persisted messages and questions to the user; and
        where a run that never completed (killed mid-run) was, if one did not."""
        history: list[HistoryMessage] = []
        unfinished: str | None = None
        trace: str | None = None
        after = 0
        while True:
            page = await self._store.events_after(chat.app_id, chat.chat_id, after, HISTORY_PAGE)
            for event in page:
                agent = str(event.data.get("agent", ""))
                if event.type == events.SELECT_SPEAKER:
                    unfinished = agent or unfinished
                elif event.type == events.RUN_START:
                    found = event.data.get("traceparent")
                    trace = found if isinstance(found, str) else None
                elif event.type in (events.RUN_COMPLETE, events.RUN_CANCELLED):
                    unfinished = trace = None
                elif event.type == events.TEXT:
                    content = str(event.data.get("content", ""))
                    user = event.data.get("role") == "user"
                    history.append(HistoryMessage(agent, content, "user" if user else "assistant"))
                elif event.type == events.INPUT_REQUEST:
                    # The user saw the question; a run resumed after a restart needs it too.
                    prompt = str(event.data.get("prompt", ""))
                    history.append(HistoryMessage(agent, prompt, "assistant"))
            if len(page) < HISTORY_PAGE:
                return Past(history, unfinished, trace)
            after = page[-1].seq

    async def _set_status(self, chat: ChatRecord, status: ChatStatus) -> None:
        await self._store.update_chat(chat.app_id, chat.chat_id, status=status)

    def _count_run(self, plan: RunPlan, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.run(workflow=plan.chat.workflow_name, outcome=outcome)


class Past(NamedTuple):
    """What a run starts from: the conversation, and where an unfinished run was."""

    history: list[HistoryMessage]
    unfinished_agent: str | None  # the agent whose turn a killed run was in
    unfinished_trace: str | None  # that run's traceparent (from its chat.run_start)


@dataclass(frozen=True, slots=True)
class Stop:
    """Who stopped a run, and why (both end up in `chat.run_cancelled`)."""

    by: str
    reason: str

    def fields(self) -> dict[str, str]:
        return {"by": self.by, "reason": self.reason}


async def cancel_open_requests(store: Store, ports: RunPorts, chat: ChatRecord) -> None:
    """Close the questions a stopped run left open (nobody can answer them any more)."""
    for request in await ports.pending.open_for(chat.app_id, chat.chat_id):
        await store.resolve_pending(
            chat.app_id, request.request_id, answer=None, status="cancelled"
        )


def final_status(outcome: RunOutcome, status: str) -> ChatStatus:
    """The chat's status after a run: `completed` only when the workflow reached `terminate`;
    a hand-off to the user or a stopped run leaves it `idle` (the next message continues it)."""
    if status == "completed":
        return "idle" if outcome.awaiting_user else "completed"
    return "failed" if status == "failed" else "idle"
