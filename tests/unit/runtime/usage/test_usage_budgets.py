"""BudgetGuard against the real SQLite store, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mozaiks_runtime.config import Settings
from mozaiks_runtime.errors import BudgetExceeded
from mozaiks_runtime.metrics import Metrics
from mozaiks_runtime.storage.base import UsageRecord
from mozaiks_runtime.storage.sqlite import SqliteStore
from mozaiks_runtime.usage.budgets import BudgetGuard, next_month_start

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


async def spend(
    store: SqliteStore, user: str, tokens: int, at: datetime, app: str = "acme"
) -> None:
    await store.record_usage(
        UsageRecord(app, "c", user, "hello", "A", "demo", tokens, 0, 0.1, created_at=at)
    )


def guard(store: SqliteStore, **budgets: int) -> BudgetGuard:
    settings = Settings.load(app_id="acme", dev_auth=True, **budgets)
    return BudgetGuard(store, settings, clock=lambda: NOW)


async def test_no_budgets_means_no_queries(store: SqliteStore) -> None:
    await spend(store, "alice", 10**9, NOW)
    await guard(store).check(app_id="acme", user_id="alice")


async def test_user_daily_budget_counts_today_only(store: SqliteStore) -> None:
    g = guard(store, budget_user_daily_tokens=100)
    await spend(store, "alice", 500, NOW - timedelta(days=1))  # yesterday: does not count
    await spend(store, "alice", 99, NOW - timedelta(hours=1))
    await g.check(app_id="acme", user_id="alice")
    await spend(store, "alice", 1, NOW)
    with pytest.raises(BudgetExceeded, match=r"daily token budget \(100 tokens\).*2026-03-16"):
        await g.check(app_id="acme", user_id="alice")
    await g.check(app_id="acme", user_id="bob")  # other users are untouched


async def test_tenant_monthly_budget_counts_every_user_this_month(store: SqliteStore) -> None:
    g = guard(store, budget_tenant_monthly_tokens=1000)
    await spend(store, "alice", 600, datetime(2026, 3, 1, tzinfo=UTC))
    await spend(store, "bob", 5000, datetime(2026, 2, 28, 23, 59, tzinfo=UTC))  # last month
    await spend(store, "carol", 5000, NOW, app="other-app")  # another tenant
    await g.check(app_id="acme", user_id="dave")
    await spend(store, "bob", 400, NOW)
    with pytest.raises(BudgetExceeded, match="monthly token budget"):
        await g.check(app_id="acme", user_id="dave")


def test_next_month_wraps_the_year() -> None:
    assert next_month_start(datetime(2026, 12, 31, 23, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=UTC
    )


async def test_each_tenant_budget_check_reports_the_tokens_left(store: SqliteStore) -> None:
    metrics = Metrics()
    settings = Settings.load(app_id="acme", dev_auth=True, budget_tenant_monthly_tokens=1000)
    g = BudgetGuard(store, settings, clock=lambda: NOW, metrics=metrics)
    left = "mozaiks_budget_tenant_remaining_tokens"
    await spend(store, "alice", 300, NOW)
    await g.check(app_id="acme", user_id="alice")
    assert metrics.registry.get_sample_value(left, {"app": "acme"}) == 700
    await spend(store, "alice", 5000, NOW)
    with pytest.raises(BudgetExceeded):
        await g.check(app_id="acme", user_id="alice")
    assert metrics.registry.get_sample_value(left, {"app": "acme"}) == 0
