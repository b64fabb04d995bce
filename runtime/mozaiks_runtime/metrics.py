"""Prometheus metrics of one runtime process, in a registry of its own (built in the lifespan).

Labels come from bounded sets only: route templates (never raw paths), methods, statuses, event
types, workflow and model names, and the tenant's app id; never user or chat ids. Values that
arrive from outside (a model name a provider reports, say) go through `_Bounded`, which folds
anything past a fixed number of distinct values into "other", so a misbehaving input cannot grow
the series count without limit.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"
OTHER = "other"


class _Bounded:
    """Passes through up to `limit` distinct values of one label, then answers OTHER."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._limit:
            return OTHER
        self._seen.add(value)
        return value


class Metrics:
    """Every series the runtime exports, plus the helpers that keep their labels bounded."""

    def __init__(self, *, max_label_values: int = 100) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "mozaiks_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "mozaiks_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["route", "method"],
            registry=r,
        )
        self.ws_open = Gauge("mozaiks_ws_open", "Open WebSocket connections.", registry=r)
        self.events_sent = Counter(
            "mozaiks_events_sent", "Events sent to WebSocket clients by type.", ["type"], registry=r
        )
        self.runs = Counter(
            "mozaiks_runs",
            "Workflow runs by workflow and outcome (started, completed, failed, stopped).",
            ["workflow", "outcome"],
            registry=r,
        )
        self.model_latency = Histogram(
            "mozaiks_model_call_seconds",
            "Model call latency by model.",
            ["model"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80),
            registry=r,
        )
        self.tokens = Counter(
            "mozaiks_tokens",
            "Model tokens by app, workflow, model and kind (prompt, completion).",
            ["app", "workflow", "model", "kind"],
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "mozaiks_webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, failed: retried later, dead).",
            ["outcome"],
            registry=r,
        )
        self.webhook_outbox_dropped = Counter(
            "mozaiks_webhook_outbox_dropped",
            "Webhook deliveries dropped unsent by reason (full: the outbox bound, store_error).",
            ["reason"],
            registry=r,
        )
        # What loads a runtime, for autoscaling on load (docs/operations.md): runs this process
        # executes now (set to a callback in the lifespan), next to `ws_open`.
        self.runs_active = Gauge(
            "mozaiks_runs_active",
            "Runs this process executes now (holding the chat's lease; waiting for input too).",
            registry=r,
        )
        self.cost = Counter(
            "mozaiks_cost",
            "Model cost in the price table's currency, by app, workflow and model.",
            ["app", "workflow", "model"],
            registry=r,
        )
        self.budget_remaining = Gauge(
            "mozaiks_budget_tenant_remaining_tokens",
            "Tokens left in the app's monthly budget, as of the last budget check.",
            ["app"],
            registry=r,
        )
        self.event_delay = Histogram(
            "mozaiks_event_publish_delay_seconds",
            "Seconds from an event's creation to its publication to the chat's sockets (stored "
            "first); observed once per stored batch, for its oldest event.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self._routes = _Bounded(max_label_values * 2)
        self._event_types = _Bounded(max_label_values)
        self._workflows = _Bounded(max_label_values)
        self._models = _Bounded(max_label_values)

    def observe_request(self, *, route: str, method: str, status: int, seconds: float) -> None:
        route = self._routes(route)
        method = method if method in _METHODS else OTHER
        self.http_requests.labels(route, method, str(status)).inc()
        self.http_duration.labels(route, method).observe(seconds)

    def event_sent(self, event_type: str) -> None:
        self.events_sent.labels(self._event_types(event_type)).inc()

    def run(self, *, workflow: str, outcome: str) -> None:
        self.runs.labels(self._workflows(workflow), outcome).inc()

    def model_call(
        self,
        *,
        app: str,
        workflow: str,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        seconds: float,
        cost: float = 0.0,
    ) -> None:
        model = self._models(model)
        workflow = self._workflows(workflow)
        self.model_latency.labels(model).observe(seconds)
        self.tokens.labels(app, workflow, model, "prompt").inc(prompt_tokens)
        self.tokens.labels(app, workflow, model, "completion").inc(completion_tokens)
        self.cost.labels(app, workflow, model).inc(max(0.0, cost))

    def webhook_delivery(self, outcome: str) -> None:
        self.webhook_deliveries.labels(outcome).inc()

    def webhook_dropped(self, reason: str) -> None:
        self.webhook_outbox_dropped.labels(reason).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type, for the /metrics route."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts HTTP requests by the matched route's template (`/api/sessions/{chat_id}`), so ids in
    paths never become label values. WebSockets are counted by the ws edge through `ws_open`."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before responding

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.observe_request(
                route=route_template(scope),
                method=str(scope.get("method", "")),
                status=status,
                seconds=time.perf_counter() - started,
            )


def route_template(scope: Scope) -> str:
    """The path template of the route the router matched (set in the scope), else a fixed name."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE
