"""What we ship passes its linters: hadolint (Dockerfiles), shellcheck (kind flow scripts),
helm lint, and checkov over the chart, its fully rendered manifests and the Dockerfiles.
Each linter is also shown a known-bad input, so a linter that checks nothing fails here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"


def _lint(step: str, helm_bin: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "hack" / "lint-packaging"), step],
        env={**os.environ, "HELM": str(helm_bin)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("step", ["hadolint", "shellcheck", "helm"])
def test_packaging_passes_the_linter(step: str, helm_bin: Path) -> None:
    proc = _lint(step, helm_bin)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.timeout(600)
def test_packaging_passes_checkov(helm_bin: Path) -> None:
    # the first run installs checkov into its own venv under ~/.cache/mozaiks (about a minute)
    proc = _lint("checkov", helm_bin, timeout=580)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for framework in ("helm", "kubernetes", "dockerfile"):
        assert f"{framework} scan results" in proc.stdout
    assert proc.stdout.count("Failed checks: 0,") == 3, proc.stdout


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y gcc\n")
    proc = subprocess.run(
        [str(VENV_BIN / "hadolint"), str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "DL3007" in proc.stdout  # `latest` tag
    assert "DL3008" in proc.stdout  # unpinned apt packages


def test_shellcheck_flags_a_bad_script(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/bash\nrm -rf $DIR/*\n")
    proc = subprocess.run(
        [str(VENV_BIN / "shellcheck"), str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "SC2086" in proc.stdout
