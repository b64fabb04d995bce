"""Usage records and run totals from model calls.

`Accountant.record` is the one path a model call's usage takes: it is priced from the configured
price table, persisted through the Store, and counted in the metrics. The rest of the module is
pure: pricing, the `chat.usage_delta` payload, and `RunUsage`, which sums one run for
`chat.usage_summary`. The chat service keeps the chat's own running total (`update_chat`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mozaiks_runtime.config import ModelPrice, Settings
from mozaiks_runtime.engine.base import ModelUsage
from mozaiks_runtime.metrics import Metrics
from mozaiks_runtime.storage.base import Store, UsageRecord, utcnow
from mozaiks_runtime.wire.events import UsageDeltaData, UsageSummaryData, UsageTotalsData

DEFAULT_PRICE_KEY = "*"  # a price table entry that applies to any model not listed


def price_of(model: str, table: Mapping[str, ModelPrice]) -> ModelPrice | None:
    """The price for `model`: an exact entry, else the longest listed prefix (so "gpt-4o" covers
    "gpt-4o-2024-08-06"), else the "*" entry, else None (free)."""
    if model in table:
        return table[model]
    prefixes = [name for name in table if name != DEFAULT_PRICE_KEY and model.startswith(name)]
    if prefixes:
        return table[max(prefixes, key=len)]
    return table.get(DEFAULT_PRICE_KEY)


def cost_of(usage: ModelUsage, table: Mapping[str, ModelPrice]) -> float:
    """What one call cost, with prices per 1,000 tokens; rounded to avoid float noise in sums."""
    price = price_of(usage.model, table)
    if price is None:
        return 0.0
    cost = usage.prompt_tokens * price.prompt + usage.completion_tokens * price.completion
    return round(cost / 1000.0, 8)


def usage_delta_data(record: UsageRecord) -> UsageDeltaData:
    """The `data` of a `chat.usage_delta` event (field names as docs/protocol.md fixes them)."""
    return UsageDeltaData(
        chat_id=record.chat_id,
        app_id=record.app_id,
        user_id=record.user_id,
        workflow_name=record.workflow_name,
        agent_name=record.agent,
        model_name=record.model,
        prompt_tokens=record.prompt_tokens,
        completion_tokens=record.completion_tokens,
        total_tokens=record.total_tokens,
        duration_sec=round(record.duration_sec, 3),
        cost=record.cost,
    )


@dataclass(slots=True)
class _Totals:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    duration_sec: float = 0.0

    def add(self, record: UsageRecord) -> None:
        self.calls += 1
        self.prompt_tokens += record.prompt_tokens
        self.completion_tokens += record.completion_tokens
        self.cost += record.cost
        self.duration_sec += record.duration_sec

    def as_data(self) -> UsageTotalsData:
        return UsageTotalsData(**self._fields())

    def _fields(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "cost": round(self.cost, 8),
            "duration_sec": round(self.duration_sec, 3),
        }


@dataclass(slots=True)
class RunUsage:
    """Sums the usage of one run, overall and per model, for `chat.usage_summary`."""

    overall: _Totals = field(default_factory=_Totals)
    by_model: dict[str, _Totals] = field(default_factory=dict)

    def add(self, record: UsageRecord) -> None:
        self.overall.add(record)
        self.by_model.setdefault(record.model, _Totals()).add(record)

    @property
    def total_tokens(self) -> int:
        return self.overall.prompt_tokens + self.overall.completion_tokens

    def summary_data(self, *, chat_id: str, workflow_name: str) -> UsageSummaryData:
        """The `data` of a `chat.usage_summary` event."""
        return UsageSummaryData(
            chat_id=chat_id,
            workflow_name=workflow_name,
            **self.overall._fields(),
            by_model={model: t.as_data() for model, t in sorted(self.by_model.items())},
        )


class Accountant:
    """Prices, persists and counts each model call. It updates the token and model-latency
    metrics itself, so callers must not count the same call again."""

    def __init__(self, store: Store, settings: Settings, metrics: Metrics) -> None:
        self._store = store
        self._prices = settings.price_table
        self._metrics = metrics

    async def record(
        self, *, chat_id: str, app_id: str, user_id: str, workflow_name: str, usage: ModelUsage
    ) -> UsageRecord:
        """Persist one model call's usage; raises StorageUnavailable when the store is down."""
        record = UsageRecord(
            app_id=app_id,
            chat_id=chat_id,
            user_id=user_id,
            workflow_name=workflow_name,
            agent=usage.agent,
            model=usage.model,
            prompt_tokens=max(0, usage.prompt_tokens),
            completion_tokens=max(0, usage.completion_tokens),
            duration_sec=max(0.0, usage.duration_sec),
            cost=cost_of(usage, self._prices),
            created_at=utcnow(),
        )
        await self._store.record_usage(record)
        self._metrics.model_call(
            app=app_id,
            workflow=workflow_name,
            model=usage.model,
            prompt_tokens=record.prompt_tokens,
            completion_tokens=record.completion_tokens,
            seconds=record.duration_sec,
            cost=record.cost,
        )
        return record
