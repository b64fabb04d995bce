"""The lifespan wires one typed container and leaves nothing else on `app.state`."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from tests.integration.runtime.scripted import ScriptedRunner

from mozaiks_runtime.app import create_app
from mozaiks_runtime.config import Settings
from mozaiks_runtime.container import Runtime, runtime_of

pytestmark = pytest.mark.unit


def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        app_id="acme",
        jwt_secret="container-test-secret-0123456789",
        sqlite_path=tmp_path / "runtime.sqlite3",
        workflows_dir=tmp_path,
        mongo_uri=None,
        metrics_port=None,
    )


async def test_the_lifespan_sets_one_container_with_every_service(tmp_path: Path) -> None:
    wanted = settings(tmp_path)
    app = create_app(wanted, runner_factory=lambda _: ScriptedRunner())
    assert "runtime" not in app.state._state  # nothing wired before the app starts
    async with app.router.lifespan_context(app):
        assert list(app.state._state) == ["runtime"]  # the container, and nothing loose
        runtime = runtime_of(app)
        unset = [f.name for f in fields(Runtime) if getattr(runtime, f.name) is None]
        assert unset == ["store_poll_seconds"]  # None on purpose: SQLite is one process's
        assert runtime.settings is wanted
        assert (runtime.traffic.sockets, runtime.traffic.draining) == (0, False)
    assert runtime.traffic.draining  # stopping: no socket or stream opens any more


def test_an_app_that_was_never_started_has_no_runtime(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path), runner_factory=lambda _: ScriptedRunner())
    with pytest.raises(RuntimeError, match="not started"):
        runtime_of(app)
