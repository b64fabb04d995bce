"""Jaeger (hack/jaeger) for the tracing tests: where to send OTLP, and its query API read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.harness.services import wait_for


@dataclass(frozen=True)
class TraceSpan:
    """A span as Jaeger's query API returns it, with its tags as a dict."""

    span_id: str
    trace_id: str
    name: str
    parent_id: str | None  # None: a root of this trace (or a child of a remote parent)
    tags: dict[str, Any]
    start_us: int
    duration_us: int
    references: list[dict[str, Any]] = field(repr=False)


@dataclass(frozen=True)
class Jaeger:
    otlp_url: str  # the OTLP/HTTP base URL (…/v1/traces, …/v1/metrics)
    query_url: str
    log: Path  # the debug exporter prints the metrics it receives here

    def traces(self, service: str) -> list[list[TraceSpan]]:
        """Every stored trace of `service`, each as its spans."""
        response = httpx.get(
            f"{self.query_url}/api/traces",
            params={"service": service, "limit": 1000, "lookback": "1h"},
            timeout=10,
        )
        if response.status_code == 404:  # the service has sent nothing yet
            return []
        response.raise_for_status()
        return [[_span(s) for s in t["spans"]] for t in response.json()["data"]]

    def wait_for_spans(
        self, service: str, predicate: Any, timeout: float = 30
    ) -> list[list[TraceSpan]]:
        """The traces of `service` once `predicate(traces)` holds (spans arrive in batches)."""

        def ready() -> list[list[TraceSpan]] | None:
            traces = self.traces(service)
            return traces if traces and predicate(traces) else None

        result: list[list[TraceSpan]] = wait_for(ready, timeout, 0.3, f"spans of {service}")
        return result


def _span(raw: dict[str, Any]) -> TraceSpan:
    parents = [r["spanID"] for r in raw.get("references", []) if r.get("refType") == "CHILD_OF"]
    return TraceSpan(
        span_id=raw["spanID"],
        trace_id=raw["traceID"],
        name=raw["operationName"],
        parent_id=parents[0] if parents else None,
        tags={t["key"]: t["value"] for t in raw.get("tags", [])},
        start_us=int(raw["startTime"]),
        duration_us=int(raw["duration"]),
        references=list(raw.get("references", [])),
    )
