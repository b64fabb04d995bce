"""The one timestamp format: Kubernetes Time (seconds) and MicroTime (microseconds), in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mozaiks_operator.timestamps import format_time, parse_time

pytestmark = pytest.mark.unit


def test_time_and_micro_time_round_trip() -> None:
    t = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert format_time(t) == "2026-01-02T03:04:05Z"
    assert format_time(t, micro=True) == "2026-01-02T03:04:05.678901Z"
    assert parse_time(format_time(t, micro=True)) == t
    assert parse_time(format_time(t)) == t.replace(microsecond=0)
    assert parse_time(None) is None and parse_time("") is None


def test_now_is_utc() -> None:
    stamp = format_time()
    assert stamp.endswith("Z")
    parsed = parse_time(stamp)
    assert parsed is not None and parsed.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - parsed) < timedelta(seconds=5)
