"""How a run's outcome becomes the chat's status (chats/runs.py)."""

from __future__ import annotations

import pytest

from mozaiks_runtime.chats.runs import final_status
from mozaiks_runtime.engine.base import RunOutcome

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("outcome", "status", "expected"),
    [
        (RunOutcome("completed"), "completed", "completed"),
        (RunOutcome("completed", awaiting_user=True), "completed", "idle"),
        (RunOutcome("stopped"), "stopped", "idle"),
        (RunOutcome("stopped"), "timeout", "idle"),
        (RunOutcome("failed"), "failed", "failed"),
    ],
)
def test_final_status(outcome: RunOutcome, status: str, expected: str) -> None:
    assert final_status(outcome, status) == expected
