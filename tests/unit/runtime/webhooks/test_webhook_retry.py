"""The deliverer's backoff (webhooks/deliverer.py): exponential, capped, jittered."""

from __future__ import annotations

import pytest

from mozaiks_runtime.webhooks.deliverer import retry_delay

pytestmark = pytest.mark.unit


def test_backoff_doubles_then_caps() -> None:
    top = [retry_delay(n, base=2, cap=600, rand=lambda: 1.0) for n in range(1, 12)]
    assert top[:5] == [2, 4, 8, 16, 32]
    assert top[-1] == 600 and max(top) == 600
    assert retry_delay(10_000, base=2, cap=600, rand=lambda: 1.0) == 600  # no overflow


def test_jitter_spreads_over_the_upper_half() -> None:
    assert retry_delay(3, base=2, cap=600, rand=lambda: 0.0) == 4
    assert retry_delay(3, base=2, cap=600, rand=lambda: 0.5) == 6
    assert 4 <= retry_delay(3, base=2, cap=600) <= 8
