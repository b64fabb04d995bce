"""Prometheus metrics of the operator process, in a registry of its own, and the /metrics server.

Labels come from bounded sets only: object kinds the operator knows, condition types and their
statuses, reasons from constants.py, database operations. Never a Tenant's name or namespace:
the number of Tenants grows without bound, the number of kinds and reasons does not.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

OK = "ok"
RECONCILE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class _TenantConditions(Collector):
    """`mozaiks_operator_tenants{condition,status}`: Tenants by their last reported conditions,
    counted at scrape time from what each pass reported (no API call per scrape)."""

    def __init__(self) -> None:
        self.by_tenant: dict[tuple[str, str], dict[str, str]] = {}

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "mozaiks_operator_tenants",
            "Tenants this replica reconciled, by condition type and status.",
            labels=["condition", "status"],
        )
        counts: dict[tuple[str, str], int] = {}
        for conditions in self.by_tenant.values():
            for ctype, status in conditions.items():
                counts[(ctype, status)] = counts.get((ctype, status), 0) + 1
        for (ctype, status), n in sorted(counts.items()):
            family.add_metric([ctype, status], n)
        yield family


class OperatorMetrics:
    """Every series the operator exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.reconcile_passes = Counter(
            "mozaiks_operator_reconcile_passes",
            "Reconcile passes by kind (Tenant, Workflow) and result (ok, or the error reason).",
            ["kind", "result"],
            registry=r,
        )
        self.reconcile_errors = Counter(
            "mozaiks_operator_reconcile_errors",
            "Reconcile passes that ended in an error, by kind and reason.",
            ["kind", "reason"],
            registry=r,
        )
        self.reconcile_duration = Histogram(
            "mozaiks_operator_reconcile_duration_seconds",
            "Reconcile pass duration by kind.",
            ["kind"],
            buckets=RECONCILE_BUCKETS,
            registry=r,
        )
        self.children_applied = Counter(
            "mozaiks_operator_children_applied",
            "Child objects applied (server-side apply) by child kind.",
            ["kind"],
            registry=r,
        )
        self.drift_repaired = Counter(
            "mozaiks_operator_drift_repaired",
            "Children changed or deleted by someone else and re-applied, by child kind.",
            ["kind"],
            registry=r,
        )
        self.database_operations = Counter(
            "mozaiks_operator_database_operations",
            "Tenant database operations by operation (ensure, drop) and result (ok, error).",
            ["operation", "result"],
            registry=r,
        )
        self.database_duration = Histogram(
            "mozaiks_operator_database_operation_duration_seconds",
            "Tenant database operation duration by operation.",
            ["operation"],
            buckets=RECONCILE_BUCKETS,
            registry=r,
        )
        self.leader = Gauge(
            "mozaiks_operator_leader",
            "1 while this replica holds the leader Lease (and acts), else 0.",
            ["identity"],
            registry=r,
        )
        self._tenants = _TenantConditions()
        r.register(self._tenants)

    def reconciled(self, kind: str, seconds: float, error: str | None = None) -> None:
        self.reconcile_passes.labels(kind, error or OK).inc()
        self.reconcile_duration.labels(kind).observe(seconds)
        if error is not None:
            self.reconcile_errors.labels(kind, error).inc()

    def tenant_conditions(
        self, namespace: str, name: str, conditions: Iterable[Mapping[str, Any]]
    ) -> None:
        self._tenants.by_tenant[(namespace, name)] = {
            str(x["type"]): str(x["status"]) for x in conditions
        }

    def forget_tenant(self, namespace: str, name: str) -> None:
        self._tenants.by_tenant.pop((namespace, name), None)

    @contextlib.contextmanager
    def database_operation(self, operation: str) -> Iterator[None]:
        started, result = time.perf_counter(), "error"
        try:
            yield
            result = OK
        finally:
            self.database_operations.labels(operation, result).inc()
            self.database_duration.labels(operation).observe(time.perf_counter() - started)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


@contextlib.asynccontextmanager
async def metrics_server(
    metrics: OperatorMetrics, host: str, port: int | None
) -> AsyncIterator[None]:
    """Serve GET /metrics on host:port until the block exits (None: no server)."""
    if port is None:
        yield
        return

    async def scrape(_: web.Request) -> web.Response:
        body, content_type = metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.add_routes([web.get("/metrics", scrape)])
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    try:
        yield
    finally:
        await runner.cleanup()
