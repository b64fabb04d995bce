"""Token budgets: a monthly limit per tenant and a daily limit per user (UTC calendar periods).

The chat service calls `BudgetGuard.check` before it starts a run and again before every model
call (`RunIO.before_model_call`), so an exhausted budget refuses new runs and stops a running one
at its next model-call boundary. Usage is recorded after each call, so concurrent runs can
overshoot a limit by at most one model call each; budgets are a spending brake, not an invoice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from mozaiks_runtime.config import Settings
from mozaiks_runtime.errors import BudgetExceeded
from mozaiks_runtime.metrics import Metrics
from mozaiks_runtime.storage.base import Store, utcnow


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(now: datetime) -> datetime:
    start = month_start(now)
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


class BudgetGuard:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._store = store
        self._tenant_monthly = settings.budget_tenant_monthly_tokens
        self._user_daily = settings.budget_user_daily_tokens
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self._tenant_monthly is not None or self._user_daily is not None

    async def check(self, *, app_id: str, user_id: str) -> None:
        """Return when both budgets have tokens left; raise BudgetExceeded saying which is spent
        and when it resets."""
        if not self.enabled:
            return
        now = self._clock()
        if self._tenant_monthly is not None:
            used = await self._store.sum_tokens(app_id, None, month_start(now))
            if self._metrics is not None:
                left = max(0, self._tenant_monthly - used)
                self._metrics.budget_remaining.labels(app_id).set(left)
            if used >= self._tenant_monthly:
                raise BudgetExceeded(
                    f"this app's monthly token budget ({self._tenant_monthly} tokens) is used up;"
                    f" it resets at {next_month_start(now).isoformat()}"
                )
        if self._user_daily is not None:
            used = await self._store.sum_tokens(app_id, user_id, day_start(now))
            if used >= self._user_daily:
                resets = day_start(now) + timedelta(days=1)
                raise BudgetExceeded(
                    f"your daily token budget ({self._user_daily} tokens) is used up;"
                    f" it resets at {resets.isoformat()}"
                )
