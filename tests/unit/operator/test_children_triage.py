"""Which child events cost a full pass, a status refresh, or nothing."""

from __future__ import annotations

import pytest

from mozaiks_operator.handlers.children import FULL, SKIP, STATUS, triage

pytestmark = pytest.mark.unit


def test_triage() -> None:
    meta = {"resourceVersion": "10", "generation": 3}
    assert triage("MODIFIED", "Deployment", meta, ("10", 3)) == SKIP  # our own write
    assert triage("MODIFIED", "Deployment", meta, ("9", 3)) == STATUS  # pods became ready
    assert triage("MODIFIED", "PodDisruptionBudget", meta, ("9", 3)) == SKIP
    assert triage("MODIFIED", "Deployment", meta, ("9", 2)) == FULL  # someone edited the spec
    assert triage("DELETED", "Deployment", meta, ("10", 3)) == FULL
    assert triage(None, "Service", {"resourceVersion": "5"}, None) == FULL  # unknown: startup
    assert triage("MODIFIED", "ConfigMap", {"resourceVersion": "6"}, ("5", None)) == FULL
