"""RateLimiter with an injected clock: limits one key, never another, and forgets idle keys."""

from __future__ import annotations

import pytest

from mozaiks_runtime.errors import RateLimited
from mozaiks_runtime.ratelimit import RateLimiter

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_up_to_the_limit_then_refused_with_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, clock)
    for _ in range(3):
        limiter.hit("alice")
    with pytest.raises(RateLimited) as info:
        limiter.hit("alice")
    assert info.value.retry_after == pytest.approx(20.0)  # 3/min: one token per 20 s


def test_one_user_limited_does_not_touch_another() -> None:
    limiter = RateLimiter(2, FakeClock())
    limiter.hit("alice")
    limiter.hit("alice")
    with pytest.raises(RateLimited):
        limiter.hit("alice")
    limiter.hit("bob")
    limiter.hit("bob")


def test_tokens_refill_at_the_steady_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock)
    for _ in range(60):
        limiter.hit("alice")
    with pytest.raises(RateLimited):
        limiter.hit("alice")
    clock.now += 1.0
    limiter.hit("alice")
    with pytest.raises(RateLimited):
        limiter.hit("alice")


def test_refused_hits_do_not_extend_the_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, clock)
    limiter.hit("alice")
    for _ in range(10):
        clock.now += 5
        with pytest.raises(RateLimited):
            limiter.hit("alice")
    clock.now += 10
    limiter.hit("alice")


def test_idle_keys_are_evicted() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, clock)
    for user in ("a", "b", "c"):
        limiter.hit(user)
    assert len(limiter) == 3
    clock.now += 61
    limiter.hit("d")
    assert len(limiter) == 1


def test_key_count_is_capped() -> None:
    limiter = RateLimiter(5, FakeClock(), max_keys=100)
    for i in range(1000):
        limiter.hit(f"user-{i}")
    assert len(limiter) <= 100


def test_per_minute_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)
