"""The thread that owns the SQLite connection: calls run one at a time in the order they were
submitted, and the writes that queue up while the thread is busy share one transaction.

That is group commit without a timer: under light load a write commits alone as soon as it
arrives; under heavy load (hundreds of chats streaming, or all their runs ending at once) each
round takes everything queued meanwhile, so a commit, a thread wake-up and a hop back to the
event loop are paid once per round instead of once per call. One failing write (a duplicate
key) fails alone and the others of its round still commit: a single statement is atomic by
itself, and a write of several runs in a savepoint. Results go back to the event loop in one
callback per round.

Batched calls (`submit_batched`) go further: the consecutive ones of a round that share a batch
function run as one call of it, so that, say, the appends of 200 chats become a few statements.
That matters beyond the statement count: SQLite releases the GIL at every step, and each step's
hand-over with the busy event loop costs more than the step.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mozaiks_runtime.errors import Conflict, StorageUnavailable

Call = Callable[[sqlite3.Connection], Any]
# Many items in one call; returns, per item and in order, its result or the exception it hit.
Batch = Callable[[sqlite3.Connection, list[Any]], list[Any]]
MAX_ROUND = 2000  # calls per transaction: bounds how long the first caller of a round waits


@dataclass(slots=True)
class _Job:
    call: Call | None  # None for a batched item
    batch: Batch | None
    item: Any
    write: bool
    savepoint: bool  # a write of several statements: undone alone when it fails
    conflict: str  # the Conflict message when a write hits a unique constraint
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


_Outcome = tuple[_Job, Any, BaseException | None]  # the job, its result, or its error


class SqliteWorker:
    def __init__(self, opener: Callable[[], sqlite3.Connection]) -> None:
        self._opener = opener
        # SimpleQueue: put() is one C call, and get() sleeps without the GIL. None asks the
        # thread to stop once what was queued before it is done.
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._stopping = False
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, name="sqlite-store", daemon=True)
        self._thread.start()
        await self.submit(lambda _c: None)  # raises what opening the database raised

    async def stop(self) -> None:
        """Finish the queued calls, close the connection and end the thread."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._jobs.put(None)
        await asyncio.to_thread(thread.join)
        self._thread = None

    def submit(
        self,
        call: Call,
        *,
        write: bool = False,
        atomic: bool = False,
        conflict: str = "the record exists already",
    ) -> asyncio.Future[Any]:
        """Queue a call on the connection; its future gets the result, or Conflict /
        StorageUnavailable / what the call raised. `atomic`: the call runs a single statement,
        which SQLite applies whole or not at all, so it needs no savepoint of its own."""
        return self._queue(call, None, None, write and not atomic, conflict, write=write)

    def submit_batched(self, batch: Batch, item: Any) -> asyncio.Future[Any]:
        """Queue one item of a batched write; its future gets the item's result or error (the
        batch function reports conflicts per item)."""
        return self._queue(None, batch, item, True, "the record exists already", write=True)

    def _queue(
        self,
        call: Call | None,
        batch: Batch | None,
        item: Any,
        savepoint: bool,
        conflict: str,
        *,
        write: bool,
    ) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        job = _Job(call, batch, item, write, savepoint, conflict, future, loop)
        if self._thread is None or self._stopping:
            future.set_exception(StorageUnavailable("the SQLite store is not open"))
            return future
        self._jobs.put(job)
        return future

    # The thread

    def _serve(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = self._opener()
        except Exception as exc:  # every caller hears it, starting with start()
            unopened: Exception | None = StorageUnavailable(f"SQLite: cannot open: {exc}")
        else:
            unopened = None
        stopping = False
        while not stopping:
            round_: list[_Job] = []
            job = self._jobs.get()
            while True:
                if job is None:
                    stopping = True
                    break
                round_.append(job)
                if len(round_) >= MAX_ROUND:
                    break
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
            if not round_:
                continue
            if conn is None:
                _deliver([(queued, None, unopened) for queued in round_])
                continue
            try:
                outcomes = self._run_round(conn, round_)
            except Exception as exc:  # a bug here must not leave callers waiting forever
                outcomes = [(queued, None, exc) for queued in round_]
            _deliver(outcomes)
        if conn is not None:
            conn.close()
        # Calls queued behind the stop (from another event loop) are refused, not left waiting.
        late: list[_Outcome] = []
        while True:
            try:
                queued = self._jobs.get_nowait()
            except queue.Empty:
                break
            if queued is not None:
                late.append((queued, None, StorageUnavailable("the SQLite store is not open")))
        _deliver(late)

    def _run_round(self, conn: sqlite3.Connection, round_: list[_Job]) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        in_transaction = False
        try:
            i = 0
            while i < len(round_):
                job = round_[i]
                if job.write and not in_transaction:
                    conn.execute("BEGIN IMMEDIATE")
                    in_transaction = True
                if job.batch is None:
                    outcomes.append(_run_one(conn, job, savepoint=job.savepoint))
                    i += 1
                    continue
                j = i + 1
                while j < len(round_) and round_[j].batch is job.batch:
                    j += 1
                outcomes += _run_batch(conn, job.batch, round_[i:j])
                i = j
            if in_transaction:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            # The transaction itself failed (locked past busy_timeout, disk full...): none of
            # the round's writes is stored; the reads that ran keep their results.
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.rollback()
            failure = StorageUnavailable(f"SQLite: {exc}")
            done = {id(o[0]) for o in outcomes}
            outcomes = [(j, None, failure) if j.write else (j, r, e) for j, r, e in outcomes]
            outcomes += [(j, None, failure) for j in round_ if id(j) not in done]
        return outcomes


def _failure(job: _Job, exc: BaseException) -> BaseException:
    """What the caller hears of an exception its call raised."""
    if isinstance(exc, sqlite3.IntegrityError):
        return Conflict(job.conflict)
    if isinstance(exc, sqlite3.Error):
        return StorageUnavailable(f"SQLite: {exc}")
    return exc


def _run_one(conn: sqlite3.Connection, job: _Job, *, savepoint: bool) -> _Outcome:
    """Run one call; its own failure is its result. Raises sqlite3.Error only when the
    savepoint statements themselves fail (the transaction is then broken)."""
    assert job.call is not None
    if savepoint:
        conn.execute("SAVEPOINT one_call")
    try:
        result = job.call(conn)
    except Exception as exc:
        if savepoint:
            conn.execute("ROLLBACK TO one_call")
            conn.execute("RELEASE one_call")
        return job, None, _failure(job, exc)
    if savepoint:
        conn.execute("RELEASE one_call")
    return job, result, None


def _run_batch(conn: sqlite3.Connection, batch: Batch, jobs: list[_Job]) -> list[_Outcome]:
    """Run consecutive items of one batch function as one call, in a savepoint."""
    conn.execute("SAVEPOINT one_call")
    try:
        results = batch(conn, [job.item for job in jobs])
    except Exception as exc:
        conn.execute("ROLLBACK TO one_call")
        conn.execute("RELEASE one_call")
        return [(job, None, _failure(job, exc)) for job in jobs]
    conn.execute("RELEASE one_call")
    return [
        (job, None, _failure(job, r)) if isinstance(r, Exception) else (job, r, None)
        for job, r in zip(jobs, results, strict=True)
    ]


def _deliver(outcomes: list[_Outcome]) -> None:
    """Hand a round's results to their event loops: one callback per loop, not per call."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome[0].loop, []).append(outcome)
    for loop, mine in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop was closed: nobody is waiting
            loop.call_soon_threadsafe(_settle, mine)


def _settle(outcomes: list[_Outcome]) -> None:
    for job, result, error in outcomes:
        if job.future.done():  # the caller was cancelled
            continue
        if error is None:
            job.future.set_result(result)
        else:
            job.future.set_exception(error)
