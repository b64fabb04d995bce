"""Usage reports against the real SQLite store: own vs app-wide, periods, grouping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.errors import BadRequest, Forbidden
from mozaiks_runtime.storage.base import GroupBy, UsageRecord
from mozaiks_runtime.storage.sqlite import SqliteStore
from mozaiks_runtime.usage.report import UsageReport, period_of, usage_report

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
ALICE = Identity(user_id="alice", app_id="acme")
ADMIN = Identity(user_id="root", app_id="acme", scopes=frozenset({"mozaiks:admin"}))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "report.sqlite3")
    await s.start()
    for user, model, tokens, day in [
        ("alice", "gpt-4o", 100, 1),
        ("alice", "gpt-4o-mini", 10, 2),
        ("bob", "gpt-4o", 1000, 2),
        ("alice", "gpt-4o", 7, 20),  # after the period used below
    ]:
        at = datetime(2026, 3, day, 9, tzinfo=UTC)
        await s.record_usage(
            UsageRecord("acme", "c", user, "hello", "A", model, tokens, 1, 0.1, 0.5, at)
        )
    await s.record_usage(
        UsageRecord("other", "c", "alice", "hello", "A", "gpt-4o", 99999, 0, 0.1, 0.0, NOW)
    )
    yield s
    await s.close()


async def test_own_usage_by_day(store: SqliteStore) -> None:
    report = await usage_report(
        store, ALICE, start="2026-03-01", end="2026-03-02", group_by="day", now=NOW
    )
    assert report.user_id == "alice"
    assert [(g.key, g.total_tokens) for g in report.groups] == [
        ("2026-03-01", 101),
        ("2026-03-02", 11),
    ]
    assert report.total.total_tokens == 112
    assert report.total.calls == 2


@pytest.mark.parametrize("other", ["*", "bob"])
async def test_other_users_need_the_admin_scope(store: SqliteStore, other: str) -> None:
    with pytest.raises(Forbidden):
        await usage_report(store, ALICE, user_id=other, now=NOW)
    own = await usage_report(store, ALICE, user_id="alice", now=NOW)
    assert own.total.total_tokens == 112


async def test_admin_reads_the_whole_app_or_one_user(store: SqliteStore) -> None:
    async def report(user_id: str, group_by: GroupBy) -> UsageReport:
        return await usage_report(
            store,
            ADMIN,
            user_id=user_id,
            group_by=group_by,
            start="2026-03-01",
            end="2026-03-02",
            now=NOW,
        )

    everyone = await report("*", "user")
    assert everyone.user_id is None
    assert [(g.key, g.total_tokens) for g in everyone.groups] == [("alice", 112), ("bob", 1001)]
    bob = await report("bob", "workflow")
    assert [(g.key, g.total_tokens) for g in bob.groups] == [("hello", 1001)]


async def test_default_period_is_the_last_thirty_days(store: SqliteStore) -> None:
    report = await usage_report(store, ALICE, group_by="model", now=NOW)
    assert [(g.key, g.total_tokens) for g in report.groups] == [
        ("gpt-4o", 101),  # the record of the 20th lies after "now"
        ("gpt-4o-mini", 11),
    ]


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-03-05", "2026-03-01"), ("yesterday", None), ("2024-01-01", "2026-01-01")],
)
def test_bad_periods(start: str, end: str | None) -> None:
    with pytest.raises(BadRequest):
        period_of(start, end, now=NOW)


def test_datetimes_are_exact_and_naive_means_utc() -> None:
    period = period_of("2026-03-01T10:00:00", "2026-03-01T12:00:00Z", now=NOW)
    assert period.start == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert period.end == datetime(2026, 3, 1, 12, tzinfo=UTC)
