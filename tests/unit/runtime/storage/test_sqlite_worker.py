"""The SQLite worker (storage/sqlite/worker.py) on a real database file: writes that queue up
share one transaction, each caller still gets its own result or error, a failing write fails
alone, and nobody is left waiting (cancelled callers, a store that cannot open, a closed one)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mozaiks_runtime.errors import Conflict, StorageUnavailable
from mozaiks_runtime.storage.sqlite.worker import Call, SqliteWorker

pytestmark = pytest.mark.unit


class Traced:
    """Opens the database and records every statement the worker's connection runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.statements: list[str] = []

    def __call__(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)")
        conn.set_trace_callback(self.statements.append)
        return conn

    def commits(self) -> int:
        return self.statements.count("COMMIT")

    def rows(self) -> list[tuple[int, str]]:
        with sqlite3.connect(self.path) as other:  # another connection: committed rows only
            return list(other.execute("SELECT k, v FROM t ORDER BY k"))


@pytest.fixture
def traced(tmp_path: Path) -> Traced:
    return Traced(tmp_path / "w.sqlite3")


@pytest.fixture
async def worker(traced: Traced) -> AsyncIterator[SqliteWorker]:
    worker = SqliteWorker(traced)
    await worker.start()
    yield worker
    await worker.stop()


def insert(k: int, v: str = "x") -> Call:
    return lambda c: c.execute("INSERT INTO t (k, v) VALUES (?, ?)", (k, v)).lastrowid


def hold(gate: threading.Event) -> Call:
    """A call that keeps the worker's thread busy until the gate opens."""
    return lambda _c: gate.wait(5)


async def test_writes_queued_while_busy_share_one_commit(
    worker: SqliteWorker, traced: Traced
) -> None:
    gate = threading.Event()
    busy = worker.submit(hold(gate))
    writes = [worker.submit(insert(k), write=True) for k in range(1, 51)]
    before = traced.commits()
    gate.set()
    assert await busy is True
    assert await asyncio.gather(*writes) == list(range(1, 51))
    assert traced.commits() - before == 1
    assert len(traced.rows()) == 50


async def test_a_lone_write_commits_at_once(worker: SqliteWorker, traced: Traced) -> None:
    await worker.submit(insert(1), write=True)
    assert traced.rows() == [(1, "x")]  # visible to another connection: committed


async def test_a_failing_write_fails_alone(worker: SqliteWorker, traced: Traced) -> None:
    await worker.submit(insert(7), write=True)
    gate = threading.Event()
    busy = worker.submit(hold(gate))

    def half_then_fail(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO t (k, v) VALUES (8, 'partial')")
        raise ValueError("the call's own bug")

    calls = [
        worker.submit(insert(6), write=True),
        worker.submit(insert(7), write=True, conflict="seven is taken"),  # duplicate key
        worker.submit(half_then_fail, write=True),
        worker.submit(insert(9), write=True),
        worker.submit(lambda c: c.execute("SELECT COUNT(*) FROM t").fetchone()[0]),
    ]
    gate.set()
    await busy
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert results[0] == 6 and results[3] == 9
    assert isinstance(results[1], Conflict) and results[1].message == "seven is taken"
    assert isinstance(results[2], ValueError)
    assert results[4] == 3  # reads run in order and see the round's earlier writes
    assert traced.rows() == [(6, "x"), (7, "x"), (9, "x")]  # nothing of the failed calls


async def test_a_broken_statement_is_storage_unavailable(worker: SqliteWorker) -> None:
    with pytest.raises(StorageUnavailable, match="no such table"):
        await worker.submit(lambda c: c.execute("SELECT * FROM missing"))
    assert await worker.submit(insert(1), write=True) == 1  # the worker goes on


async def test_a_cancelled_caller_strands_nobody(worker: SqliteWorker, traced: Traced) -> None:
    gate = threading.Event()
    busy = worker.submit(hold(gate))
    first = asyncio.ensure_future(worker.submit(insert(1), write=True))
    second = worker.submit(insert(2), write=True)
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    await busy
    assert await second == 2
    assert [k for k, _ in traced.rows()] == [1, 2]  # the cancelled caller's write still landed


async def test_a_database_that_cannot_open_fails_every_call(tmp_path: Path) -> None:
    def refuse() -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    worker = SqliteWorker(refuse)
    with pytest.raises(StorageUnavailable, match="cannot open"):
        await worker.start()
    with pytest.raises(StorageUnavailable):
        await worker.submit(insert(1), write=True)
    await worker.stop()


async def test_stop_finishes_queued_calls_then_refuses(traced: Traced) -> None:
    worker = SqliteWorker(traced)
    await worker.start()
    pending = [worker.submit(insert(k), write=True) for k in range(1, 4)]
    await worker.stop()
    assert await asyncio.gather(*pending) == [1, 2, 3]
    with pytest.raises(StorageUnavailable, match="not open"):
        await worker.submit(insert(4), write=True)


async def test_only_writes_of_several_statements_get_a_savepoint(
    worker: SqliteWorker, traced: Traced
) -> None:
    await worker.submit(insert(1), write=True, atomic=True)
    assert not [s for s in traced.statements if s.startswith("SAVEPOINT")]
    await worker.submit(insert(2), write=True)
    assert [s for s in traced.statements if s.startswith("SAVEPOINT")] == ["SAVEPOINT one_call"]
