"""JSON text for the event path. Each event's data is encoded once (orjson, several times faster
than the standard module), stored as that text, and embedded as is (`Raw`) in the frame that
carries it, so a frame costs one small encode of its envelope."""

from __future__ import annotations

import json
from typing import Any

import orjson

Raw = orjson.Fragment  # JSON text embedded verbatim by `dumps`


def dumps(value: Any) -> str:
    """Compact JSON text (non-ASCII characters as UTF-8, not escaped)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # What orjson refuses and the standard module takes: integers beyond 64 bits and
        # non-string keys. Anything neither can encode raises TypeError, as before.
        return json.dumps(value)
