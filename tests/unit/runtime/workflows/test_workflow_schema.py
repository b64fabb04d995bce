"""validate_definition: good documents pass; every bad one names the file, the JSON path and why."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mozaiks_runtime.workflows import schema
from mozaiks_runtime.workflows.model import HumanInputTool, PythonTool, UITool, dump_definition
from mozaiks_runtime.workflows.schema import WorkflowInvalid, validate_definition, validate_text

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[4]
EXAMPLES = sorted(p for p in (ROOT / "workflows").glob("*.json") if p.name != "schema.json")


def minimal() -> dict[str, Any]:
    return {
        "name": "support",
        "agents": [
            {"name": "Triage", "system_message": "Sort the request.", "tools": ["ask"]},
            {"name": "Billing", "system_message": "Help with invoices."},
        ],
        "tools": [{"kind": "human_input", "name": "ask"}],
    }


def problems(data: object, *, plugins: set[str] | None = None) -> list[str]:
    with pytest.raises(WorkflowInvalid) as info:
        validate_definition(data, "wf/support.json", plugins=plugins)
    assert info.value.source == "wf/support.json"
    assert all(p.startswith("wf/support.json: $") for p in info.value.errors), info.value.errors
    return info.value.errors


def test_a_minimal_definition_gets_its_defaults() -> None:
    wf = validate_definition(minimal(), "support.json")
    assert wf.startup_mode == "user_driven"
    assert wf.start_agent == "Triage"
    assert wf.agents[0].handoffs.after_work == "user"
    assert wf.agents[0].show_to_user is True
    assert isinstance(wf.tool("ask"), HumanInputTool)
    assert dump_definition(wf) == minimal()  # nothing invented on the way back out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_examples_are_valid_with_the_installed_plugins(path: Path) -> None:
    wf = schema.load_definition_file(path, plugins={"estimate_trip_cost"})
    assert wf.name == path.stem


def test_the_examples_have_a_hand_off_a_python_tool_a_ui_tool_and_an_approval() -> None:
    trip = schema.load_definition_file(ROOT / "workflows" / "trip_planner.json")
    assert len(trip.agents) > 1
    assert any(a.handoffs.on_tool_call for a in trip.agents)
    assert any(a.handoffs.on_context for a in trip.agents)
    kinds = {type(t) for t in trip.tools}
    assert {PythonTool, UITool, HumanInputTool} <= kinds
    hello = schema.load_definition_file(ROOT / "workflows" / "hello.json")
    assert [type(t) for t in hello.tools] == [HumanInputTool]


def test_missing_and_unknown_fields_name_their_path() -> None:
    data = minimal()
    del data["agents"][1]["system_message"]
    data["agents"][0]["colour"] = "red"
    errors = problems(data)
    assert "wf/support.json: $.agents[1].system_message: required field is missing" in errors
    assert any(e.startswith("wf/support.json: $.agents[0].colour: unknown field") for e in errors)


def test_bad_values_say_what_is_allowed() -> None:
    data = minimal()
    data["name"] = "Support Desk"
    data["startup_mode"] = "whenever"
    data["tools"].append(
        {"kind": "ui", "name": "card", "component_type": "form", "display": "modal"}
    )
    errors = problems(data)
    assert any(
        e.startswith("wf/support.json: $.name: 'Support Desk' does not match") for e in errors
    )
    assert any(
        "$.startup_mode: Input should be 'agent_driven' or 'user_driven'" in e for e in errors
    )
    # the discriminator ('ui') is not part of the path
    assert any(e.startswith("wf/support.json: $.tools[1].display: ") for e in errors)


def test_an_unknown_tool_kind_is_named() -> None:
    data = minimal()
    data["tools"][0]["kind"] = "shell"
    (error,) = problems(data)
    assert error.startswith("wf/support.json: $.tools[0]: Input tag 'shell'")
    assert "'python', 'ui', 'human_input'" in error


def test_references_must_resolve() -> None:
    data = minimal()
    data["initial_agent"] = "Sales"
    data["agents"][0]["tools"] = ["ask", "refund"]
    data["agents"][0]["handoffs"] = {
        "after_work": "Biling",
        "on_tool_call": [{"tool": "lookup", "target": "Billing"}],
        "on_context": [{"key": "topic", "equals": "invoice", "target": "Accounts"}],
    }
    errors = problems(data)
    assert any(
        e.startswith("wf/support.json: $.initial_agent: unknown agent 'Sales'") for e in errors
    )
    assert any(
        e.startswith("wf/support.json: $.agents[0].tools[1]: unknown tool 'refund'") for e in errors
    )
    assert any(
        e.startswith("wf/support.json: $.agents[0].handoffs.after_work: unknown target 'Biling'")
        and "'user' or 'terminate'" in e
        for e in errors
    )
    assert any(
        "$.agents[0].handoffs.on_tool_call[0].tool: 'lookup' is not one of" in e for e in errors
    )
    assert any(
        "$.agents[0].handoffs.on_context[0].target: unknown target 'Accounts'" in e for e in errors
    )


def test_names_are_unique_and_not_reserved() -> None:
    data = minimal()
    data["agents"].append({"name": "Triage", "system_message": "again"})
    data["agents"].append({"name": "User", "system_message": "x"})
    data["tools"].append({"kind": "human_input", "name": "ask"})
    errors = problems(data)
    assert "wf/support.json: $.agents[2].name: duplicate agent name 'Triage'" in errors
    assert any(
        e.startswith("wf/support.json: $.agents[3].name: 'User' is reserved") for e in errors
    )
    assert "wf/support.json: $.tools[1].name: duplicate tool name 'ask'" in errors


def test_python_tools_must_name_an_installed_plugin_when_plugins_are_known() -> None:
    data = minimal()
    data["tools"].append({"kind": "python", "name": "lookup_invoice"})
    data["tools"].append({"kind": "python", "name": "refund", "entry_point": "acme.refund"})
    errors = problems(data, plugins={"estimate_trip_cost"})
    assert any(
        e.startswith("wf/support.json: $.tools[1].name: no tool plugin 'lookup_invoice'")
        and "mozaiks.tools" in e
        for e in errors
    )
    assert any(
        e.startswith("wf/support.json: $.tools[2].entry_point: no tool plugin 'acme.refund'")
        for e in errors
    )
    # the operator does not know the runtime image's plugins: it passes None and is not stopped
    validate_definition(data, "support.json", plugins=None)


def test_keys_mongodb_cannot_store_are_refused_anywhere() -> None:
    data = minimal()
    data["context_variables"] = {"plan.tier": "gold"}
    data["tools"].append(
        {
            "kind": "ui",
            "name": "card",
            "component_type": "form",
            "payload": {"$where": "1"},
            "parameters": {"type": "object", "$defs": {}},
        }
    )
    errors = problems(data)
    assert any(
        e.startswith('wf/support.json: $.context_variables["plan.tier"]: key') for e in errors
    )
    assert any(e.startswith('wf/support.json: $.tools[1].payload["$where"]: key') for e in errors)
    assert any(e.startswith('wf/support.json: $.tools[1].parameters["$defs"]: key') for e in errors)


def test_embedded_json_schemas_must_be_object_schemas() -> None:
    data = minimal()
    data["agents"][1]["structured_output"] = {"schema": {"type": "array"}}
    data["tools"].append(
        {
            "kind": "ui",
            "name": "card",
            "component_type": "form",
            "parameters": {"type": "object", "required": 3},
        }
    )
    errors = problems(data)
    assert any(
        e.startswith("wf/support.json: $.agents[1].structured_output.schema: must be")
        for e in errors
    )
    assert any(
        e.startswith("wf/support.json: $.tools[1].parameters.required: not a valid JSON Schema")
        for e in errors
    )


def test_not_an_object_and_not_json() -> None:
    assert problems([]) == ["wf/support.json: $: expected a JSON object, got list"]
    with pytest.raises(WorkflowInvalid) as info:
        validate_text('{"name": "x",', "broken.json")
    (error,) = info.value.errors
    assert error.startswith("broken.json: $: not JSON (") and "line 1" in error


def test_the_error_is_a_bad_request_with_every_problem_in_its_message() -> None:
    data = minimal()
    data["name"] = "X"
    data["agents"][0]["tools"] = ["nope"]
    with pytest.raises(WorkflowInvalid) as info:
        validate_definition(data, "a.json")
    assert info.value.error_code == "WORKFLOW_INVALID"
    for problem in info.value.errors:
        assert problem in str(info.value)


def test_the_published_schema_is_current() -> None:
    published = (ROOT / "workflows" / "schema.json").read_text(encoding="utf-8")
    assert published == schema.render_schema(), (
        "workflows/schema.json is stale: run "
        "python -m mozaiks_runtime.workflows.schema --export workflows/schema.json"
    )
    assert schema.main(["--check", str(ROOT / "workflows" / "schema.json")]) == 0


def test_the_published_schema_agrees_with_the_models(tmp_path: Path) -> None:
    published = json.loads((ROOT / "workflows" / "schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(published)
    validator = Draft202012Validator(published)
    for path in EXAMPLES:
        assert not list(validator.iter_errors(json.loads(path.read_text(encoding="utf-8")))), path
    bad = copy.deepcopy(minimal())
    bad["tools"][0]["kind"] = "shell"
    assert list(validator.iter_errors(bad))
    stale = tmp_path / "schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert schema.main(["--check", str(stale)]) == 1
    assert schema.main(["--export", str(stale)]) == 0
    assert schema.main(["--check", str(stale)]) == 0


# ── MCP servers ─────────────────────────────────────────────────────────────


def with_mcp(**server: Any) -> dict[str, Any]:
    data = minimal()
    data["agents"][1]["tools"] = ["forecast"]
    data["mcp_servers"] = [
        {"name": "weather", "url": "https://mcp.example.com/mcp", "tools": ["forecast"], **server}
    ]
    return data


def test_an_mcp_server_gets_its_defaults_and_lends_its_tools_to_agents() -> None:
    wf = validate_definition(with_mcp(), "support.json")
    (server,) = wf.mcp_servers
    assert (server.transport, server.timeout_seconds, server.max_result_chars) == (
        "streamable_http",
        30.0,
        20_000,
    )
    assert wf.mcp_server_of("forecast") is server and wf.mcp_server_of("ask") is None
    assert [t.name for t in wf.agent_tools(wf.agents[1])] == []  # MCP tools are not declared
    assert dump_definition(wf) == with_mcp()


def test_the_shipped_mcp_example_is_valid() -> None:
    wf = schema.load_definition_file(ROOT / "workflows" / "mcp" / "weather.json")
    (server,) = wf.mcp_servers
    assert server.url_env == "MOZAIKS_MCP_WEATHER_URL" and server.tools == ["forecast"]


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ({"transport": "stdio"}, "$.mcp_servers[0].transport: Input should be"),
        ({"url": "ftp://x/mcp"}, "$.mcp_servers[0].url: 'ftp://x/mcp' does not match"),
        ({"url": None}, "$.mcp_servers[0]: set exactly one of url and url_env"),
        (
            {"url_env": "MOZAIKS_MCP_WEATHER_URL"},
            "$.mcp_servers[0]: set exactly one of url and url_env",
        ),
        ({"url": "https://u:p@mcp.example.com/"}, "put credentials in auth"),
        ({"url": "http:///mcp"}, "has no host"),
        ({"tools": []}, "$.mcp_servers[0].tools: List should have at least 1 item"),
        ({"tools": ["forecast", "forecast"]}, "'forecast' is already allowed on MCP server"),
        ({"timeout_seconds": 0}, "$.mcp_servers[0].timeout_seconds: Input should be greater"),
        ({"max_result_chars": 10}, "$.mcp_servers[0].max_result_chars: Input should be greater"),
        ({"headers": {"x": "y"}}, "$.mcp_servers[0].headers: unknown field"),
        # the secret itself may never be inline, and only MOZAIKS_MCP_* may be read
        ({"auth": {"value": "sk-123"}}, "$.mcp_servers[0].auth.value: unknown field"),
        (
            {"auth": {"value_env": "MOZAIKS_LLM_API_KEY"}},
            "$.mcp_servers[0].auth.value_env: 'MOZAIKS_LLM_API_KEY' does not match",
        ),
        ({"auth": {"value_env": "MOZAIKS_MCP_T", "header": "X Y"}}, "auth.header: 'X Y'"),
    ],
)
def test_bad_mcp_declarations_are_refused_with_their_path(
    server: dict[str, Any], expected: str
) -> None:
    found = problems(with_mcp(**server))
    assert any(expected in p for p in found), found


def test_mcp_tool_names_may_not_clash_and_agents_may_only_name_allowed_ones() -> None:
    data = with_mcp(tools=["forecast", "ask"])  # `ask` is already a workflow tool
    data["mcp_servers"].append(
        {"name": "weather", "url": "http://other:8000/mcp", "tools": ["forecast"]}
    )
    data["agents"][0]["tools"] = ["ask", "wipe_disk"]
    found = problems(data)
    assert any(
        "$.mcp_servers[0].tools[1]: tool name 'ask' is already a workflow tool" in p for p in found
    )
    assert any("$.mcp_servers[1].name: duplicate MCP server name 'weather'" in p for p in found)
    assert any(
        "$.mcp_servers[1].tools[0]: tool name 'forecast' is already allowed" in p for p in found
    )
    assert any("$.agents[0].tools[1]: unknown tool 'wipe_disk'" in p for p in found)
