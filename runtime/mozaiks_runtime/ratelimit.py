"""Per-key token buckets (per user: messages, new chats), in memory and bounded.

Each key gets a bucket of `per_minute` tokens refilled continuously, so a user may burst up to the
limit and then proceeds at the steady rate; other keys are untouched. Buckets idle long enough to
be full again carry no information and are dropped, and a hard cap on keys bounds memory under a
flood of distinct users (the oldest idle buckets go first). Limits are per replica: with N
replicas a user can reach N times the limit, which is acceptable for abuse protection.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from mozaiks_runtime.errors import RateLimited


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_keys: int = 100_000,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0  # tokens per second
        self._refill_seconds = 60.0  # an idle bucket is full again after this long
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()  # least recently hit first

    def hit(self, key: str) -> None:
        """Spend one token of `key`'s bucket, or raise RateLimited with the seconds to wait."""
        now = self._clock()
        self._evict(now)
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(tokens=self._capacity, updated=now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self._capacity, bucket.tokens + elapsed * self._rate)
            bucket.updated = now
        self._buckets[key] = bucket  # re-inserted last: most recently hit
        if bucket.tokens < 1.0:
            retry_after = (1.0 - bucket.tokens) / self._rate
            raise RateLimited("too many requests, slow down", retry_after=round(retry_after, 3))
        bucket.tokens -= 1.0

    def __len__(self) -> int:
        return len(self._buckets)

    def _evict(self, now: float) -> None:
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            idle = now - oldest.updated >= self._refill_seconds
            if not idle and len(self._buckets) < self._max_keys:
                return
            self._buckets.popitem(last=False)
