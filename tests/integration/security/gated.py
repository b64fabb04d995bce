"""A runtime serving an open and a gated workflow (`access`: role `pro`), for the entitlement
and broker tests: every run is the scripted `stream` script (three messages, then complete)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from mozaiks_runtime.engine.base import RunIO, RunOutcome, RunRequest
from tests.integration.runtime.conftest import WORKFLOWS, Runtime, base_settings, serve
from tests.integration.runtime.scripted import ScriptedRunner
from tests.integration.security.conftest import AUDIENCE, ISSUER

PRO = {"anyOf": [{"claim": "roles", "contains": "pro"}]}
BROKER_SECRET = "integration-broker-secret-0123456789abcdef"


class Streaming(ScriptedRunner):
    async def run(self, request: RunRequest, io: RunIO) -> RunOutcome:
        self.requests.append(request)
        return await self._stream(request, io)


def write_workflow(directory: Path, name: str, access: dict[str, Any] | None) -> None:
    """A copy of the scripted `stream` workflow under `name`, user-driven."""
    data = json.loads((WORKFLOWS / "stream.json").read_text())
    data.update(name=name, startup_mode="user_driven")
    if access is not None:
        data["access"] = access
    (directory / f"{name}.json").write_text(json.dumps(data))


@contextlib.asynccontextmanager
async def gated_runtime(tmp_path: Path, **overrides: Any) -> AsyncIterator[Runtime]:
    workflows = tmp_path / "workflows"
    workflows.mkdir(exist_ok=True)
    write_workflow(workflows, "open", None)
    write_workflow(workflows, "gated", PRO)
    settings = base_settings(
        tmp_path,
        workflows_dir=workflows,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        **overrides,
    )
    runner = Streaming(stream_count=3, stream_delay=0.01)
    async with serve(settings, runner_factory=lambda _: runner) as runtime:
        runtime.runner = runner
        yield runtime
