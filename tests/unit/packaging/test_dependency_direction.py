"""The runtime and the operator depend one way: only the console script imports both."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


def _imports(package: Path) -> Iterator[tuple[Path, str]]:
    """(file, imported module) for every import in the package, lazy ones included."""
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                yield from ((path, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                yield path, node.module


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_runtime_imports_neither_the_operator_nor_the_console_script() -> None:
    found = [
        (path.relative_to(ROOT), module)
        for path, module in _imports(ROOT / "runtime" / "mozaiks_runtime")
        if _top(module) in {"mozaiks_operator", "mozaiks_cli"}
    ]
    assert found == []


def test_the_operator_imports_only_the_runtimes_workflow_package() -> None:
    found = [
        (path.relative_to(ROOT), module)
        for path, module in _imports(ROOT / "operator" / "mozaiks_operator")
        if _top(module) == "mozaiks_cli"
        or (
            _top(module) == "mozaiks_runtime" and not module.startswith("mozaiks_runtime.workflows")
        )
    ]
    assert found == []
    modules = {m for _, m in _imports(ROOT / "operator" / "mozaiks_operator")}
    assert any(m.startswith("mozaiks_runtime.workflows") for m in modules)  # the check has teeth


def test_the_console_script_imports_both() -> None:
    modules = {_top(m) for _, m in _imports(ROOT / "cli" / "mozaiks_cli")}
    assert {"mozaiks_runtime", "mozaiks_operator"} <= modules
