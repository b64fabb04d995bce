"""Validate a workflow document, and export its JSON Schema.

`validate_definition(data, source)` is the one gate every workflow passes (the runtime's registry,
the operator's `Workflow` handler, `mozaiks workflow validate`). It returns a `WorkflowDefinition`
or raises `WorkflowInvalid`, whose `.errors` each name the source, the JSON path and the problem:

    workflows/trip.json: $.agents[1].handoffs.after_work: unknown target 'Bookr' (...)

Three passes: keys that MongoDB/FerretDB cannot store, the model's shape (pydantic), then what
only the whole document can tell (names unique, references resolve, schemas well-formed).

`python -m mozaiks_runtime.workflows.schema --export workflows/schema.json` regenerates the
published schema; `--check` fails when the file is stale.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import ValidationError

from mozaiks_runtime.errors import BadRequest
from mozaiks_runtime.workflows.model import (
    IDENTIFIER_PATTERN,
    RESERVED_TARGETS,
    TOOL_ENTRY_POINT_GROUP,
    AccessRules,
    AgentDefinition,
    McpServer,
    PythonTool,
    UITool,
    WorkflowDefinition,
)

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAX_ERRORS = 50
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTEXT_KEY = re.compile(IDENTIFIER_PATTERN)


class WorkflowInvalid(BadRequest):
    """A workflow document that cannot be served. `errors` lists every problem found."""

    error_code = "WORKFLOW_INVALID"

    def __init__(self, source: str, errors: Sequence[str]) -> None:
        self.source = source
        self.errors = list(errors)
        super().__init__(f"invalid workflow {source}:\n  " + "\n  ".join(self.errors))


def validate_definition(
    data: object, source: str, *, plugins: Collection[str] | None = None
) -> WorkflowDefinition:
    """Check one parsed JSON document and return the definition.

    `plugins`: the tool plugin names installed (see `plugins.installed_tool_names()`); when given,
    every Python tool must name one of them. The operator passes None: plugins live in the
    runtime's image, which the runtime checks when it loads the workflow.
    """
    problems = list(_key_problems(data))
    definition: WorkflowDefinition | None = None
    try:
        definition = WorkflowDefinition.model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, data))
    if definition is not None:
        problems.extend(_semantic_problems(definition, plugins))
    if problems:
        raise WorkflowInvalid(source, [f"{source}: {p}" for p in problems[:MAX_ERRORS]])
    assert definition is not None
    return definition


def load_definition_file(
    path: Path, *, plugins: Collection[str] | None = None, source: str | None = None
) -> WorkflowDefinition:
    """Read, parse and validate one file (`WorkflowInvalid` also for unreadable or bad JSON)."""
    name = source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowInvalid(name, [f"{name}: $: cannot read the file: {exc}"]) from None
    return validate_text(text, name, plugins=plugins)


def validate_text(
    text: str, source: str, *, plugins: Collection[str] | None = None
) -> WorkflowDefinition:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise WorkflowInvalid(source, [f"{source}: $: not JSON ({exc.msg} at {where})"]) from None
    return validate_definition(data, source, plugins=plugins)


# ── Pass 1: keys MongoDB/FerretDB cannot store ──────────────────────────────


def _key_problems(node: object, path: str = "$") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):  # pragma: no cover - JSON keys are strings
                continue
            if key.startswith("$") or "." in key or "\x00" in key:
                yield (
                    f"{_join(path, key)}: key {key!r} must not start with '$' or contain '.' "
                    "(workflows are stored in MongoDB; write JSON Schemas without $ref/$defs)"
                )
            yield from _key_problems(value, _join(path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _key_problems(item, f"{path}[{index}]")


# ── Pass 2: shape ───────────────────────────────────────────────────────────


def _pydantic_problems(exc: ValidationError, data: object) -> Iterator[str]:
    for err in exc.errors(include_url=False):
        path = json_path(err["loc"], data)
        message = err["msg"]
        if err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] in ("model_type", "dict_type"):
            message = f"expected a JSON object, got {type(err['input']).__name__}"
        elif err["type"] == "extra_forbidden":
            message = "unknown field (not part of the workflow schema)"
        elif err["type"] == "string_pattern_mismatch":
            pattern = (err.get("ctx") or {}).get("pattern", "")
            message = f"{err['input']!r} does not match the pattern {pattern}"
        elif err["type"] == "literal_error":
            message = f"{message}, got {err['input']!r}"
        yield f"{path}: {message}"


def json_path(loc: Sequence[int | str], data: object) -> str:
    """A JSON path for a pydantic error location, without the union tags pydantic inserts."""
    path = "$"
    node: object = data
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            continue
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue  # the discriminator tag of a tagged union (e.g. tools[0].ui)
        path = _join(path, part)
        node = node.get(part) if isinstance(node, dict) else None
    return path


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if _IDENTIFIER.match(key) else f"{path}[{json.dumps(key)}]"


# ── Pass 3: what only the whole document can tell ───────────────────────────


def _semantic_problems(wf: WorkflowDefinition, plugins: Collection[str] | None) -> Iterator[str]:
    agents = [a.name for a in wf.agents]
    names = ", ".join(dict.fromkeys(agents))
    targets_help = f"expected one of the agents ({names}), 'user' or 'terminate'"

    yield from _agent_name_problems(agents)
    yield from _duplicates("$.tools", "tool", [t.name for t in wf.tools])
    if wf.initial_agent is not None and wf.initial_agent not in agents:
        yield f"$.initial_agent: unknown agent {wf.initial_agent!r} (agents: {names})"
    yield from _context_key_problems(wf)
    yield from _mcp_problems(wf)
    for i, agent in enumerate(wf.agents):
        yield from _agent_problems(i, agent, wf, set(agents), targets_help)
    if wf.access is not None:
        yield from _access_problems(wf.access)
    yield from _tool_problems(wf, plugins)


def _duplicates(base: str, what: str, names: list[str]) -> Iterator[str]:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            yield f"{base}[{i}].name: duplicate {what} name {name!r}"
        seen.add(name)


def _agent_name_problems(agents: list[str]) -> Iterator[str]:
    seen: set[str] = set()
    for i, name in enumerate(agents):
        if name in seen:
            yield f"$.agents[{i}].name: duplicate agent name {name!r}"
        seen.add(name)
        if name.lower() in RESERVED_TARGETS:
            yield f"$.agents[{i}].name: {name!r} is reserved (a hand-off target), rename the agent"


def _context_key_problems(wf: WorkflowDefinition) -> Iterator[str]:
    for key in wf.context_variables:
        if not _CONTEXT_KEY.match(key):
            where = _join("$.context_variables", key)
            yield f"{where}: context variable names must match {IDENTIFIER_PATTERN}"


def _tool_problems(wf: WorkflowDefinition, plugins: Collection[str] | None) -> Iterator[str]:
    for i, tool in enumerate(wf.tools):
        if isinstance(tool, UITool):
            yield from _schema_problems(f"$.tools[{i}].parameters", tool.parameters)
        if isinstance(tool, PythonTool) and plugins is not None and tool.plugin_name not in plugins:
            field = "entry_point" if tool.entry_point else "name"
            known = ", ".join(sorted(plugins)) or "none"
            yield (
                f"$.tools[{i}].{field}: no tool plugin {tool.plugin_name!r} is installed under the "
                f"entry-point group {TOOL_ENTRY_POINT_GROUP!r} (installed: {known})"
            )


def _agent_problems(
    i: int, agent: AgentDefinition, wf: WorkflowDefinition, agents: set[str], targets_help: str
) -> Iterator[str]:
    base = f"$.agents[{i}]"
    declared = {t.name for t in wf.tools} | {n for s in wf.mcp_servers for n in s.tools}
    seen: set[str] = set()
    for j, name in enumerate(agent.tools):
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none declared"
            yield f"{base}.tools[{j}]: unknown tool {name!r} (workflow tools: {known})"
        if name in seen:
            yield f"{base}.tools[{j}]: tool {name!r} listed twice"
        seen.add(name)

    def bad_target(target: str) -> bool:
        return target not in agents and target not in RESERVED_TARGETS

    handoffs = agent.handoffs
    if bad_target(handoffs.after_work):
        yield f"{base}.handoffs.after_work: unknown target {handoffs.after_work!r} ({targets_help})"
    for k, rule in enumerate(handoffs.on_tool_call):
        where = f"{base}.handoffs.on_tool_call[{k}]"
        if rule.tool not in agent.tools:
            yield f"{where}.tool: {rule.tool!r} is not one of {agent.name}'s tools"
        if bad_target(rule.target):
            yield f"{where}.target: unknown target {rule.target!r} ({targets_help})"
    for k, cond in enumerate(handoffs.on_context):
        if bad_target(cond.target):
            where = f"{base}.handoffs.on_context[{k}].target"
            yield f"{where}: unknown target {cond.target!r} ({targets_help})"

    if agent.structured_output is not None:
        yield from _schema_problems(
            f"{base}.structured_output.schema", agent.structured_output.schema_
        )


def _mcp_problems(wf: WorkflowDefinition) -> Iterator[str]:
    """Server names unique; each tool name means one thing across the workflow."""
    owners: dict[str, str] = {t.name: "a workflow tool" for t in wf.tools}
    servers: set[str] = set()
    for i, server in enumerate(wf.mcp_servers):
        base = f"$.mcp_servers[{i}]"
        if server.name in servers:
            yield f"{base}.name: duplicate MCP server name {server.name!r}"
        servers.add(server.name)
        yield from _mcp_url_problems(base, server)
        for j, tool in enumerate(server.tools):
            if tool in owners:
                yield (
                    f"{base}.tools[{j}]: tool name {tool!r} is already {owners[tool]} "
                    "(each tool name may mean one tool only)"
                )
            owners.setdefault(tool, f"allowed on MCP server {server.name!r}")


def _mcp_url_problems(base: str, server: McpServer) -> Iterator[str]:
    if (server.url is None) == (server.url_env is None):
        yield f"{base}: set exactly one of url and url_env"
    if server.url is not None:
        parts = urlsplit(server.url)
        if not parts.hostname:
            yield f"{base}.url: {server.url!r} has no host"
        elif parts.username or parts.password:
            yield f"{base}.url: put credentials in auth (from the environment), not in the URL"


def _access_problems(access: AccessRules) -> Iterator[str]:
    if not access.any_of and not access.all_of:
        yield "$.access: give at least one rule in anyOf or allOf (omit `access` to open it to all)"
    for name, rules in (("anyOf", access.any_of), ("allOf", access.all_of)):
        for k, rule in enumerate(rules):
            if (rule.contains is None) == (rule.equals is None):
                yield f"$.access.{name}[{k}]: set exactly one of `contains` and `equals`"


def _schema_problems(path: str, schema: dict[str, Any]) -> Iterator[str]:
    if schema.get("type") != "object":
        yield f'{path}: must be a JSON Schema of an object ("type": "object")'
        return
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
        yield f"{path}{where}: not a valid JSON Schema: {exc.message}"


# ── The published schema ───────────────────────────────────────────────────


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a workflow document, generated from `WorkflowDefinition`."""
    schema = WorkflowDefinition.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": SCHEMA_DIALECT, **schema}


def render_schema() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mozaiks_runtime.workflows.schema",
        description="Export the workflow JSON Schema, or check that an exported copy is current.",
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--export", type=Path, metavar="FILE", help="write the schema to FILE")
    group.add_argument("--check", type=Path, metavar="FILE", help="fail if FILE is stale")
    args = parser.parse_args(argv)
    rendered = render_schema()
    if args.export is not None:
        args.export.write_text(rendered, encoding="utf-8")
        return 0
    current = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
    if current != rendered:
        sys.stderr.write(
            f"{args.check} is stale: run python -m mozaiks_runtime.workflows.schema "
            f"--export {args.check}\n"
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
