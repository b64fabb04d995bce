"""Fixtures the e2e stories share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.harness.images import Container


@pytest.fixture
def operators() -> Iterator[list[Container]]:
    """Operator containers a story starts (`start_operator`); stopped after it."""
    containers: list[Container] = []
    yield containers
    for container in containers:
        container.stop()
