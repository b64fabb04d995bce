"""`.env.example` documents every runtime setting, and nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mozaiks_runtime.config import Settings

pytestmark = pytest.mark.unit
EXAMPLE = Path(__file__).resolve().parents[3] / ".env.example"


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"^#? ?(MOZAIKS_[A-Z0-9_]+)=", EXAMPLE.read_text(), re.MULTILINE))
    expected = {f"MOZAIKS_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected
