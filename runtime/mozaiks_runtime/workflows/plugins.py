"""Which tool plugins this process has: names under the entry-point group `mozaiks.tools`.

Only names are read here (package metadata, no import of the plugins), so validation can check
that a workflow's Python tools resolve without running deployment code. The engine loads them.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from mozaiks_runtime.workflows.model import TOOL_ENTRY_POINT_GROUP


def tool_entry_points() -> dict[str, EntryPoint]:
    """The installed tool plugins by entry-point name (the first one wins on a duplicate)."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=TOOL_ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)
    return found


def installed_tool_names() -> frozenset[str]:
    return frozenset(tool_entry_points())
