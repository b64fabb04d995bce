"""Kubernetes timestamps, written one way: RFC 3339 in UTC ("Z").

`Time` fields (conditions' lastTransitionTime) carry whole seconds; `MicroTime` fields (a Lease's
acquireTime and renewTime) carry microseconds, as the API server requires.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def format_time(t: datetime | None = None, *, micro: bool = False) -> str:
    """`t` (default: now) as a Kubernetes Time, or MicroTime with `micro`."""
    return (t or now()).strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime | None:
    """A Time or MicroTime as read from the API (None or empty: None)."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
