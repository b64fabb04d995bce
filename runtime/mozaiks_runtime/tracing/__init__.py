"""OpenTelemetry traces and GenAI metrics of runs; importing this package imports no OpenTelemetry
(`tracing.otel` is loaded only when an OTLP endpoint is configured)."""
