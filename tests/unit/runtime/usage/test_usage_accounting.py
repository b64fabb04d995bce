"""Accountant against the real SQLite store: pricing, persistence, metrics, run summaries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mozaiks_runtime.config import ModelPrice, Settings
from mozaiks_runtime.engine.base import ModelUsage
from mozaiks_runtime.metrics import Metrics
from mozaiks_runtime.storage.base import UsageRecord, utcnow
from mozaiks_runtime.storage.sqlite import SqliteStore
from mozaiks_runtime.usage.accounting import (
    Accountant,
    RunUsage,
    cost_of,
    price_of,
    usage_delta_data,
)

pytestmark = pytest.mark.unit

PRICES = {
    "gpt-4o": ModelPrice(prompt=2.5, completion=10.0),
    "gpt-4o-mini": ModelPrice(prompt=0.15, completion=0.6),
    "*": ModelPrice(prompt=1.0, completion=1.0),
}


def usage(model: str = "gpt-4o", prompt: int = 1000, completion: int = 500) -> ModelUsage:
    return ModelUsage(
        agent="Planner",
        model=model,
        prompt_tokens=prompt,
        completion_tokens=completion,
        duration_sec=0.25,
    )


def test_price_lookup_exact_then_longest_prefix_then_default() -> None:
    assert price_of("gpt-4o", PRICES) == PRICES["gpt-4o"]
    assert price_of("gpt-4o-mini-2024-07-18", PRICES) == PRICES["gpt-4o-mini"]
    assert price_of("gpt-4o-2024-08-06", PRICES) == PRICES["gpt-4o"]
    assert price_of("claude", PRICES) == PRICES["*"]
    assert price_of("claude", {}) is None


def test_cost_is_per_thousand_tokens() -> None:
    assert cost_of(usage(), PRICES) == pytest.approx(2.5 + 5.0)
    assert cost_of(usage(model="demo"), {}) == 0.0


async def test_record_persists_prices_and_counts(store: SqliteStore) -> None:
    metrics = Metrics()
    accountant = Accountant(
        store, Settings.load(app_id="acme", dev_auth=True, price_table=PRICES), metrics
    )
    record = await accountant.record(
        chat_id="c1", app_id="acme", user_id="alice", workflow_name="hello", usage=usage()
    )
    assert record.total_tokens == 1500
    assert record.cost == pytest.approx(7.5)
    since = utcnow() - timedelta(minutes=1)
    assert await store.sum_tokens("acme", "alice", since) == 1500
    assert await store.sum_tokens("acme", "bob", since) == 0
    labels = {"app": "acme", "workflow": "hello", "model": "gpt-4o"}
    tokens = metrics.registry.get_sample_value
    assert tokens("mozaiks_tokens_total", {**labels, "kind": "prompt"}) == 1000
    assert tokens("mozaiks_tokens_total", {**labels, "kind": "completion"}) == 500


async def test_negative_counts_from_a_provider_are_clamped(store: SqliteStore) -> None:
    accountant = Accountant(store, Settings.load(app_id="acme", dev_auth=True), Metrics())
    record = await accountant.record(
        chat_id="c1",
        app_id="acme",
        user_id="alice",
        workflow_name="hello",
        usage=usage(prompt=-5, completion=3),
    )
    assert (record.prompt_tokens, record.completion_tokens) == (0, 3)


def test_delta_and_summary_payloads() -> None:
    run = RunUsage()
    records = [
        UsageRecord("acme", "c1", "alice", "hello", "Planner", "gpt-4o", 100, 20, 0.5, 0.1),
        UsageRecord("acme", "c1", "alice", "hello", "Writer", "gpt-4o-mini", 50, 10, 0.25, 0.01),
        UsageRecord("acme", "c1", "alice", "hello", "Planner", "gpt-4o", 10, 5, 0.25, 0.02),
    ]
    for r in records:
        run.add(r)
    delta = usage_delta_data(records[1]).model_dump()
    assert delta["agent_name"] == "Writer"
    assert delta["model_name"] == "gpt-4o-mini"
    assert delta["total_tokens"] == 60
    summary = run.summary_data(chat_id="c1", workflow_name="hello").model_dump()
    assert summary["total_tokens"] == run.total_tokens == 195
    assert summary["calls"] == 3
    assert summary["cost"] == pytest.approx(0.13)
    assert summary["by_model"]["gpt-4o"]["total_tokens"] == 135
    assert list(summary["by_model"]) == ["gpt-4o", "gpt-4o-mini"]
