"""Tracing off is free: a runtime served without an OTLP endpoint never loads our OpenTelemetry
code nor the SDK's exporters and metrics (checked in a fresh interpreter: other tests of a
session load them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[3] / "workflows"

SERVE_THEN_CHECK = """
import asyncio, sys
from mozaiks_runtime.app import create_app
from mozaiks_runtime.config import Settings
from mozaiks_runtime.container import runtime_of

async def main():
    settings = Settings.load(dev_auth=True, sqlite_path=sys.argv[1], workflows_dir=sys.argv[2])
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert runtime_of(app).runs._tracing is None
        prefixes = ("mozaiks_runtime.tracing.otel", "mozaiks_runtime.tracing.setup",
                    "opentelemetry.exporter", "opentelemetry.sdk.metrics")
        loaded = [m for m in sys.modules if m.startswith(prefixes)]
        assert not loaded, loaded
        assert "mozaiks_runtime.engine.run" in sys.modules  # the engine itself did load

asyncio.run(main())
"""


def test_a_runtime_without_an_endpoint_loads_no_tracing(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", SERVE_THEN_CHECK, str(tmp_path / "db.sqlite3"), str(EXAMPLES)],
        check=True,
        timeout=120,
    )
