"""Metrics: own registry per instance, bounded labels, and route templates as labels."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from mozaiks_runtime.api.routes.metrics import metrics_router
from mozaiks_runtime.app import create_app
from mozaiks_runtime.config import Settings
from mozaiks_runtime.metrics import OTHER, Metrics, MetricsMiddleware

pytestmark = pytest.mark.unit


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_each_instance_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()
    a.event_sent("chat.text")
    assert sample(a, "mozaiks_events_sent_total", type="chat.text") == 1
    assert sample(b, "mozaiks_events_sent_total", type="chat.text") is None


def test_label_values_past_the_limit_fold_into_other() -> None:
    metrics = Metrics(max_label_values=3)
    for i in range(10):
        metrics.run(workflow=f"wf-{i}", outcome="started")
    assert sample(metrics, "mozaiks_runs_total", workflow="wf-2", outcome="started") == 1
    assert sample(metrics, "mozaiks_runs_total", workflow=OTHER, outcome="started") == 7


def test_model_call_counts_tokens_and_latency() -> None:
    metrics = Metrics()
    metrics.model_call(
        app="acme",
        workflow="hello",
        model="demo",
        prompt_tokens=12,
        completion_tokens=5,
        seconds=0.3,
    )
    labels = {"app": "acme", "workflow": "hello", "model": "demo"}
    assert sample(metrics, "mozaiks_tokens_total", kind="prompt", **labels) == 12
    assert sample(metrics, "mozaiks_tokens_total", kind="completion", **labels) == 5
    assert sample(metrics, "mozaiks_model_call_seconds_count", model="demo") == 1


async def test_middleware_labels_by_route_template_not_raw_path() -> None:
    metrics = Metrics()
    app = FastAPI()
    app.include_router(metrics_router(metrics))
    sessions = APIRouter(prefix="/api/sessions")  # included routers report the full template

    @sessions.get("/{chat_id}")
    async def one(chat_id: str) -> dict[str, str]:
        return {"chat_id": chat_id}

    app.include_router(sessions)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for chat in ("c1", "c2", "c3"):
            assert (await client.get(f"/api/sessions/{chat}")).status_code == 200
        assert (await client.get("/nope/secret-user-id")).status_code == 404
        exposition = (await client.get("/metrics")).text
    route = "/api/sessions/{chat_id}"
    assert (
        sample(metrics, "mozaiks_http_requests_total", route=route, method="GET", status="200") == 3
    )
    assert (
        sample(
            metrics, "mozaiks_http_requests_total", route="<unmatched>", method="GET", status="404"
        )
        == 1
    )
    assert "c1" not in exposition and "secret-user-id" not in exposition


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
async def test_metrics_are_not_served_through_a_proxy(header: str) -> None:
    # The real app; /metrics needs nothing the lifespan opens, so none is started.
    app = create_app(Settings.load(app_id="acme", jwt_secret="metrics-test-secret-0123456789"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/metrics")).status_code == 200
        proxied = await client.get("/metrics", headers={header: "203.0.113.7"})
    assert proxied.status_code == 404
    assert "mozaiks_" not in proxied.text


def test_model_call_counts_cost_per_app_workflow_and_model() -> None:
    metrics = Metrics()
    for _ in range(2):
        metrics.model_call(
            app="acme",
            workflow="hello",
            model="gpt-x",
            prompt_tokens=1,
            completion_tokens=1,
            seconds=0.1,
            cost=0.25,
        )
    labels = {"app": "acme", "workflow": "hello", "model": "gpt-x"}
    assert sample(metrics, "mozaiks_cost_total", **labels) == 0.5
