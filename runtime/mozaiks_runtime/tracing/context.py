"""W3C trace context as the edges receive it: a `traceparent` value, checked, kept as text.

Pure and free of OpenTelemetry, so the edges cost nothing when tracing is off: they keep the
string, and only `tracing.otel` turns it into a parent span context.
"""

from __future__ import annotations

import re

# version-trace_id-parent_id-flags (https://www.w3.org/TR/trace-context/#traceparent-header).
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
_TRACEPARENT = re.compile(TRACEPARENT_PATTERN)
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16


def traceparent(value: str | None) -> str | None:
    """The value when it is a valid W3C `traceparent`, else None: the standard says a receiver
    ignores an invalid one (the run then starts a trace of its own)."""
    if not value or len(value) != 55 or not _TRACEPARENT.match(value):
        return None
    version, trace_id, span_id, _ = value.split("-")
    if version == "ff" or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return value
