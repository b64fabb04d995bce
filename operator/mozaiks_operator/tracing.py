"""One OpenTelemetry span per reconcile pass (kind, namespace, name, outcome), exported over
OTLP/HTTP when MOZAIKS_OPERATOR_OTEL_EXPORTER_OTLP_ENDPOINT is set. `main.py` imports this module
only then, so an operator without an endpoint loads and builds nothing of the SDK."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, Status, StatusCode

from mozaiks_operator import __version__
from mozaiks_operator.config import Settings


@dataclass(slots=True)
class Pass:
    """The span of one pass; `outcome` says how it ended (ok, paused, gone or a reason)."""

    span: Span

    def outcome(self, outcome: str, *, failed: bool = False) -> None:
        self.span.set_attribute("mozaiks.reconcile.outcome", outcome)
        if failed:
            self.span.set_attribute("error.type", outcome)
            self.span.set_status(Status(StatusCode.ERROR, outcome))


class ReconcileTracing:
    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer("mozaiks_operator", __version__)

    @contextmanager
    def reconcile(self, kind: str, namespace: str, name: str) -> Iterator[Pass]:
        attributes = {
            "k8s.namespace.name": namespace,
            "mozaiks.reconcile.kind": kind,
            "mozaiks.reconcile.name": name,
        }
        with self._tracer.start_as_current_span(
            f"reconcile {kind}", attributes=attributes, record_exception=False
        ) as span:
            yield Pass(span)

    def shutdown(self) -> None:
        """Export what is buffered (blocking: call it off the event loop)."""
        self._provider.shutdown()


def start_tracing(settings: Settings) -> ReconcileTracing:
    """A provider exporting to the endpoint's `/v1/traces`; the SDK reads OTEL_* itself."""
    endpoint = settings.otel_exporter_otlp_endpoint
    assert endpoint, "start_tracing needs an OTLP endpoint"
    resource = Resource.create(
        {
            "service.name": settings.otel_service_name,
            "service.version": __version__,
            "service.instance.id": settings.identity,
        }
    )
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return ReconcileTracing(provider)
