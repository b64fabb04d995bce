"""WorkflowRegistry: loads a directory, hot-reloads (ConfigMap symlink swaps too), keeps versions,
and one broken file never stops the others."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from mozaiks_runtime.api.catalog import visible_catalog
from mozaiks_runtime.workflows.registry import WorkflowRegistry

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[4]


def workflow(name: str, *, greeting: str = "Hi", description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "agents": [
            {
                "name": "Agent",
                "system_message": f"SECRET PROMPT: say {greeting}",
                "tools": ["form", "lookup"],
            },
            {"name": "Hidden", "system_message": "internal", "show_to_user": False},
        ],
        "tools": [
            {"kind": "ui", "name": "form", "component_type": "form", "display": "artifact"},
            {"kind": "python", "name": "lookup", "entry_point": "estimate_trip_cost"},
        ],
    }


def write(path: Path, data: object) -> None:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")


class ConfigMapDir:
    """A directory laid out and updated the way the kubelet does a ConfigMap volume."""

    _stamps = itertools.count(1)

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(exist_ok=True)
        self.files: dict[str, str] = {}

    def publish(self, files: dict[str, object]) -> None:
        stamp = self.root / f"..2026_01_01_00_00_{next(self._stamps):02d}.000"
        stamp.mkdir()
        for name, data in files.items():
            write(stamp / name, data)
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(stamp.name)
        old = (self.root / "..data").resolve() if (self.root / "..data").exists() else None
        os.replace(tmp, self.root / "..data")  # the atomic swap
        for name in files:
            link = self.root / name
            if not link.is_symlink():
                link.symlink_to(f"..data/{name}")
        for name in set(self.files) - set(files):
            (self.root / name).unlink()
        if old is not None:
            shutil.rmtree(old)
        self.files = {n: "" for n in files}


def registry(directory: Path, **kwargs: Any) -> WorkflowRegistry:
    return WorkflowRegistry(directory, 0.01, plugins={"estimate_trip_cost"}, **kwargs)


def test_loads_every_valid_file_and_reports_the_broken_ones(tmp_path: Path) -> None:
    write(tmp_path / "alpha.json", workflow("alpha"))
    write(tmp_path / "beta.json", workflow("beta"))
    write(tmp_path / "broken.json", '{"name": "broken", "agents": [')
    bad = workflow("gamma")
    bad["agents"][0]["handoffs"] = {"after_work": "Nobody"}
    write(tmp_path / "gamma.json", bad)
    write(tmp_path / "schema.json", {"$schema": "not a workflow"})
    write(tmp_path / ".hidden.json", workflow("hidden"))
    write(tmp_path / "notes.txt", "ignored")

    reg = registry(tmp_path)
    assert reg.reload() is True
    assert [w.name for w in reg.all()] == ["alpha", "beta"]
    errors = reg.errors()
    assert set(errors) == {"broken.json", "gamma.json"}
    assert errors["broken.json"][0].startswith("broken.json: $: not JSON")
    assert errors["gamma.json"] == [
        "gamma.json: $.agents[0].handoffs.after_work: unknown target 'Nobody' "
        "(expected one of the agents (Agent, Hidden), 'user' or 'terminate')"
    ]
    alpha = reg.get("alpha")
    assert alpha is not None and alpha.source == tmp_path / "alpha.json"
    assert alpha.version.startswith("sha256:")
    assert reg.get("gamma") is None
    assert reg.reload() is False  # nothing changed


def test_python_tools_are_checked_against_the_installed_plugins(tmp_path: Path) -> None:
    write(tmp_path / "alpha.json", workflow("alpha"))
    reg = WorkflowRegistry(tmp_path, 1.0, plugins=set())
    reg.reload()
    assert reg.get("alpha") is None
    (problem,) = reg.errors()["alpha.json"]
    assert "$.tools[1].entry_point: no tool plugin 'estimate_trip_cost'" in problem
    # by default the entry points of this installation are used
    default = WorkflowRegistry(tmp_path, 1.0)
    default.reload()
    assert default.get("alpha") is not None


def test_a_changed_file_is_a_new_version_and_the_old_one_stays_reachable(tmp_path: Path) -> None:
    path = tmp_path / "alpha.json"
    write(path, workflow("alpha", greeting="Hi"))
    reg = registry(tmp_path)
    reg.reload()
    v1 = reg.get("alpha")
    assert v1 is not None
    write(path, workflow("alpha", greeting="Hello"))
    assert reg.reload() is True
    v2 = reg.get("alpha")
    assert v2 is not None and v2.version != v1.version
    assert "Hello" in v2.definition.agents[0].system_message
    pinned = reg.get_version("alpha", v1.version)  # a chat that started on v1 keeps v1
    assert pinned is not None and "say Hi" in pinned.definition.agents[0].system_message
    assert reg.get_version("alpha", "sha256:unknown") is None
    assert reg.get_version("nope", v1.version) is None


def test_old_versions_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "alpha.json"
    reg = registry(tmp_path, keep_versions=2)
    versions = []
    for i in range(3):
        write(path, workflow("alpha", greeting=f"v{i}"))
        reg.reload()
        current = reg.get("alpha")
        assert current is not None
        versions.append(current.version)
    assert reg.get_version("alpha", versions[0]) is None
    assert reg.get_version("alpha", versions[1]) is not None
    assert reg.get_version("alpha", versions[2]) is not None


def test_a_file_broken_by_an_edit_keeps_its_last_good_version(tmp_path: Path) -> None:
    path = tmp_path / "alpha.json"
    write(path, workflow("alpha"))
    write(tmp_path / "beta.json", workflow("beta"))
    reg = registry(tmp_path)
    reg.reload()
    good = reg.get("alpha")
    write(path, '{"name": "alpha"')
    assert reg.reload() is True
    assert reg.get("alpha") == good
    assert reg.get("beta") is not None
    assert list(reg.errors()) == ["alpha.json"]
    assert reg.reload() is False  # the broken content is not re-validated every poll
    write(path, workflow("alpha", greeting="fixed"))
    reg.reload()
    fixed = reg.get("alpha")
    assert fixed is not None and "fixed" in fixed.definition.agents[0].system_message
    assert reg.errors() == {}


def test_a_deleted_file_leaves_the_catalog_but_started_chats_keep_their_version(
    tmp_path: Path,
) -> None:
    write(tmp_path / "alpha.json", workflow("alpha"))
    reg = registry(tmp_path)
    reg.reload()
    alpha = reg.get("alpha")
    assert alpha is not None
    (tmp_path / "alpha.json").unlink()
    assert reg.reload() is True
    assert reg.get("alpha") is None and reg.all() == []
    assert reg.get_version("alpha", alpha.version) == alpha


def test_two_files_with_one_name_keep_the_first(tmp_path: Path) -> None:
    write(tmp_path / "a.json", workflow("same", greeting="first"))
    write(tmp_path / "b.json", workflow("same", greeting="second"))
    reg = registry(tmp_path)
    reg.reload()
    same = reg.get("same")
    assert same is not None and same.source.name == "a.json"
    assert reg.errors()["b.json"][0].startswith(
        "b.json: $.name: workflow 'same' is already defined in a.json"
    )


def test_a_missing_directory_is_an_error_not_a_crash(tmp_path: Path) -> None:
    reg = registry(tmp_path / "absent")
    reg.reload()
    assert reg.all() == []
    (problem,) = reg.errors()[str(tmp_path / "absent")]
    assert "cannot list the directory" in problem


def test_configmap_symlink_swaps_are_picked_up(tmp_path: Path) -> None:
    mount = ConfigMapDir(tmp_path / "workflows")
    mount.publish({"alpha.json": workflow("alpha", greeting="one"), "beta.json": workflow("beta")})
    reg = registry(mount.root)
    reg.reload()
    assert [w.name for w in reg.all()] == ["alpha", "beta"]
    first = reg.get("alpha")
    assert first is not None

    # same file name, new content: only the `..data` link moved
    mount.publish({"alpha.json": workflow("alpha", greeting="two"), "beta.json": workflow("beta")})
    assert reg.reload() is True
    second = reg.get("alpha")
    assert second is not None and second.version != first.version
    assert "two" in second.definition.agents[0].system_message
    assert reg.get_version("alpha", first.version) is not None
    assert reg.errors() == {}

    # a key removed from the ConfigMap, another added (one of them broken)
    mount.publish({"alpha.json": workflow("alpha", greeting="two"), "gamma.json": "{"})
    reg.reload()
    assert [w.name for w in reg.all()] == ["alpha"]
    assert list(reg.errors()) == ["gamma.json"]


async def test_the_polling_task_reloads_and_stops(tmp_path: Path) -> None:
    mount = ConfigMapDir(tmp_path / "workflows")
    mount.publish({"alpha.json": workflow("alpha", greeting="one")})
    reg = registry(mount.root)
    await reg.start()
    try:
        assert reg.get("alpha") is not None
        generation = reg.generation
        mount.publish(
            {"alpha.json": workflow("alpha", greeting="two"), "beta.json": workflow("beta")}
        )
        async with asyncio.timeout(5):
            assert await reg.wait_changed(generation) > generation
        assert [w.name for w in reg.all()] == ["alpha", "beta"]
    finally:
        await reg.stop()
    await reg.stop()  # idempotent


def test_the_public_catalog_shows_what_the_widget_needs_and_nothing_else(tmp_path: Path) -> None:
    data = workflow("alpha", description="Helps.")
    data["display_name"] = "Alpha desk"
    data["startup_mode"] = "agent_driven"
    data["initial_message"] = "INTERNAL KICKOFF"
    write(tmp_path / "alpha.json", data)
    reg = registry(tmp_path)
    reg.reload()
    catalog = {name: e.model_dump() for name, e in visible_catalog(reg, None).items()}
    assert list(catalog) == ["alpha"]
    entry = catalog["alpha"]
    assert entry["name"] == "Alpha desk" and entry["workflow_name"] == "alpha"
    assert entry["description"] == "Helps."
    assert entry["startup_mode"] == "agent_driven"
    assert entry["chat_pane_agents"] == ["Agent"]  # the hidden agent is not listed
    assert list(entry["visual_agents"]) == ["Agent"]
    assert entry["ui_tools"] == {
        "form": {
            "tool_name": "form",
            "component_type": "form",
            "display": "artifact",
            "description": "",
        }
    }
    assert entry["human_in_the_loop"] is True
    text = json.dumps(catalog)
    for secret in (
        "SECRET PROMPT",
        "internal",
        "Hidden",
        "INTERNAL KICKOFF",
        "lookup",
        "estimate_trip_cost",
    ):
        assert secret not in text


def test_the_shipped_examples_load(tmp_path: Path) -> None:
    reg = WorkflowRegistry(ROOT / "workflows", 1.0)
    reg.reload()
    assert reg.errors() == {}
    assert {"hello", "trip_planner"} <= {w.name for w in reg.all()}


def test_the_mcp_example_is_served_only_from_its_own_directory() -> None:
    default = WorkflowRegistry(ROOT / "workflows", 1.0)
    default.reload()
    assert default.errors() == {} and default.get("weather") is None  # make run needs no server
    mcp = WorkflowRegistry(ROOT / "workflows" / "mcp", 1.0)
    mcp.reload()
    assert mcp.errors() == {}
    loaded = mcp.get("weather")
    assert loaded is not None and loaded.definition.mcp_servers[0].tools == ["forecast"]
    entry = visible_catalog(mcp, None)["weather"].model_dump()  # names no server or variable
    assert "MOZAIKS_MCP" not in json.dumps(entry) and "mcp_servers" not in entry
