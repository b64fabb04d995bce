"""The runtime image's build stage, run for real without Docker (hack/dry-build-image): the
pinned binary wheels install, the project installs from source, pip is removed, and the
entrypoint started with the final stage's environment passes the image's own HEALTHCHECK.
Both Dockerfiles share the build stage (a unit test checks it), so this covers the operator's
build too. It downloads the wheels from the package index: about two minutes."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(900)
def test_runtime_image_steps_build_and_pass_the_health_check(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "hack" / "dry-build-image"),
            "Dockerfile.runtime",
            "--keep",
            str(tmp_path / "build"),
            "--port",
            str(port),
            "--env",
            "MOZAIKS_JWT_SECRET=dry-build-test-key-0123456789abcdef",
            "--env",
            f"MOZAIKS_WORKFLOWS_DIR={ROOT / 'workflows'}",
            "--env",
            f"MOZAIKS_SQLITE_PATH={tmp_path / 'chats.sqlite3'}",
        ],
        capture_output=True,
        text=True,
        timeout=880,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "dry-build-image: HEALTHCHECK passed" in proc.stdout
    site = next((tmp_path / "build" / "opt-mozaiks" / "lib").glob("python3*/site-packages"))
    assert (site / "mozaiks_runtime" / "static" / "mozaiks-chat.js").is_file()
    assert not (tmp_path / "build" / "opt-mozaiks" / "bin" / "pip").exists()
    # the installed versions are the locked ones
    lock = {
        line.split("==")[0]: line.split("==")[1]
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line
    }
    installed: dict[str, str] = {}
    for info in site.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[name.lower().replace("_", "-")] = version
    assert {n: installed.get(n) for n in lock} == lock
