"""Build the SDK's providers and OTLP/HTTP exporters from the runtime Settings.

The SDK reads the standard `OTEL_*` variables itself (headers, timeouts, compression, sampler,
batch sizes, resource attributes); we set only the endpoint and what names this process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from mozaiks_runtime import __version__
from mozaiks_runtime.tracing.otel import Tracing

if TYPE_CHECKING:
    from mozaiks_runtime.config import Settings


def start_tracing(settings: Settings) -> Tracing:
    """Providers exporting to `settings.otel_exporter_otlp_endpoint` (the collector's base URL:
    `/v1/traces` and `/v1/metrics` are appended, as for OTEL_EXPORTER_OTLP_ENDPOINT)."""
    endpoint = settings.otel_exporter_otlp_endpoint
    assert endpoint, "start_tracing needs an OTLP endpoint"
    base = endpoint.rstrip("/")
    resource = Resource.create(
        {
            "service.name": settings.otel_service_name,
            "service.version": __version__,
            "service.instance.id": settings.replica_id,
            "mozaiks.app.id": settings.app_id,
        }
    )
    tracer_provider = TracerProvider(resource=resource)
    # Batched, on the SDK's own thread: a run never waits for the collector.
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces"))
    )
    meter_provider = None
    if settings.otel_metrics:
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{base}/v1/metrics"))
        meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    return Tracing(tracer_provider, meter_provider, capture_content=settings.otel_capture_content)
