"""The signature on every webhook delivery, and `verify` for receivers. Pure: pass the clock in.

`Mozaiks-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The timestamp
is part of what is signed, so a receiver that refuses old timestamps (the replay window) refuses
a captured request replayed later; within the window, `Mozaiks-Delivery` (the idempotency id)
lets it drop the duplicate.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Mozaiks-Signature"
DELIVERY_HEADER = "Mozaiks-Delivery"
EVENT_HEADER = "Mozaiks-Event"
REPLAY_WINDOW_SECONDS = 300


class SignatureError(ValueError):
    """The request is not a delivery signed with this secret within the replay window."""


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def signature(secret: str | bytes, timestamp: int, body: str | bytes) -> str:
    """Hex HMAC-SHA256 of `<timestamp>.<body>` under the secret."""
    message = f"{timestamp}.".encode() + _as_bytes(body)
    return hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()


def delivery_headers(
    *, secret: str, delivery_id: str, event_type: str, body: str, now: int
) -> dict[str, str]:
    """Every header a delivery carries, signed at `now` (unix seconds)."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: f"t={now},v1={signature(secret, now, body)}",
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event_type,
    }


def verify(
    secret: str | bytes,
    body: str | bytes,
    header: str,
    *,
    now: float,
    tolerance: float = REPLAY_WINDOW_SECONDS,
) -> int:
    """Check a `Mozaiks-Signature` header against the raw request body; returns its timestamp.

    Raises SignatureError when the header is malformed, no `v1` matches, or the timestamp is
    more than `tolerance` seconds from `now` (either way: clocks drift). Several `v1` entries
    are accepted, so a sender may sign with an old and a new secret while keys rotate.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"malformed {SIGNATURE_HEADER} header")
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"timestamp outside the {tolerance:g} s replay window")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("signature does not match")
    return timestamp
