"""Proof that the pinned helm runs: `helm lint` and `helm template` on a trivial chart."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

CHART = Path(__file__).resolve().parents[2] / "fixtures" / "charts" / "trivial"


def test_helm_lint_trivial_chart(helm_bin: Path) -> None:
    out = subprocess.run(
        [str(helm_bin), "lint", str(CHART)], capture_output=True, text=True, check=True
    )
    assert "1 chart(s) linted, 0 chart(s) failed" in out.stdout


def test_helm_template_assumes_the_pinned_kubernetes(helm_bin: Path) -> None:
    out = subprocess.run(
        [str(helm_bin), "template", "proof", str(CHART), "--set", "message=hi"],
        capture_output=True,
        text=True,
        check=True,
    )
    (doc,) = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert doc["metadata"]["name"] == "proof-trivial"
    assert doc["data"] == {"message": "hi", "kubeVersion": "v1.34.0"}
    version = subprocess.run(
        [str(helm_bin), "version", "--template", "{{ .Version }}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == "v3.19.0"
