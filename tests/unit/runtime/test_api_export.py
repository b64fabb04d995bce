"""The committed wire contract (docs/api/) matches what the code produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from mozaiks_runtime.apidocs import main, openapi_document, stale_files

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[3] / "docs" / "api"


def test_committed_documents_are_current() -> None:
    stale = stale_files(DOCS)
    assert not stale, f"stale: {stale}; run `python -m mozaiks_runtime.apidocs`"


def test_check_detects_a_changed_and_an_orphaned_file(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "events" / "server.chat.text.json").write_text("{}\n")
    (tmp_path / "events" / "server.gone.json").write_text("{}\n")
    assert stale_files(tmp_path) == ["events/server.chat.text.json", "events/server.gone.json"]
    assert main(["--out", str(tmp_path), "--check"]) == 1


def test_openapi_names_the_protocol_routes() -> None:
    paths = openapi_document()["paths"]
    for path in ("/api/sessions", "/api/sessions/{chat_id}", "/api/usage", "/api/health"):
        assert path in paths
    assert "/metrics" not in paths  # internal, not part of the public contract
