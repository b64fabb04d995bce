"""The embedded store's batched append (storage/sqlite/schema.append_batch) on a real database:
many chats in one call get gap-free seqs, and one failing append fails alone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mozaiks_runtime.storage.base import NewEvent, StoredEvent
from mozaiks_runtime.storage.sqlite.schema import INSERT_ROWS, SCHEMA, append_batch

pytestmark = pytest.mark.unit


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "a.sqlite3", isolation_level=None)
    conn.executescript(SCHEMA)
    for chat in ("a", "b", "c"):
        conn.execute(
            "INSERT INTO chats (app_id, chat_id, user_id, workflow_name, workflow_version, status,"
            " created_at, updated_at) VALUES ('app', ?, 'u', 'hello', '1', 'running', 0, 0)",
            (chat,),
        )
    return conn


def texts(*contents: str) -> list[NewEvent]:
    return [NewEvent("chat.text", {"content": c}) for c in contents]


def seqs(result: list[StoredEvent] | Exception) -> list[int]:
    assert not isinstance(result, Exception), result
    return [e.seq for e in result]


def stored(conn: sqlite3.Connection, chat: str) -> list[tuple[int, str]]:
    query = "SELECT seq, data FROM events WHERE app_id='app' AND chat_id=? ORDER BY seq"
    return list(conn.execute(query, (chat,)))


def last_seq(conn: sqlite3.Connection, chat: str) -> int:
    query = "SELECT last_seq FROM chats WHERE app_id='app' AND chat_id=?"
    return int(conn.execute(query, (chat,)).fetchone()[0])


def test_many_chats_in_one_call(conn: sqlite3.Connection) -> None:
    first = append_batch(conn, [("app", "a", texts("1", "2")), ("app", "b", texts("x"))])
    assert [seqs(r) for r in first] == [[1, 2], [1]]
    # The same chat twice in one call: the second continues after the first.
    second = append_batch(
        conn, [("app", "a", texts("3")), ("app", "b", texts("y")), ("app", "a", texts("4"))]
    )
    assert [seqs(r) for r in second] == [[3], [2], [4]]
    assert [s for s, _ in stored(conn, "a")] == [1, 2, 3, 4]
    assert stored(conn, "b") == [(1, '{"content":"x"}'), (2, '{"content":"y"}')]
    assert (last_seq(conn, "a"), last_seq(conn, "b")) == (4, 2)


def test_a_long_append_spans_several_statements(conn: sqlite3.Connection) -> None:
    many = texts(*(str(i) for i in range(2 * INSERT_ROWS + 3)))
    (result,) = append_batch(conn, [("app", "c", many)])
    assert seqs(result) == list(range(1, len(many) + 1))
    assert len(stored(conn, "c")) == len(many) and last_seq(conn, "c") == len(many)


def test_one_failing_append_fails_alone(conn: sqlite3.Connection) -> None:
    broken = [NewEvent(None, {"content": "no type"})]  # type: ignore[arg-type]  # NOT NULL
    results = append_batch(
        conn, [("app", "a", texts("ok")), ("app", "b", broken), ("app", "c", texts("ok"))]
    )
    assert seqs(results[0]) == [1] and seqs(results[2]) == [1]
    assert isinstance(results[1], Exception)
    assert stored(conn, "b") == [] and last_seq(conn, "b") == 0
    assert len(stored(conn, "a")) == 1 and len(stored(conn, "c")) == 1
