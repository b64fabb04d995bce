"""The pure parts of engine/mcp.py: which listed tools are kept, results as bounded text."""

from __future__ import annotations

from typing import Any

import pytest
from mcp_types import CallToolResult, ImageContent, TextContent, Tool

from mozaiks_runtime.engine.mcp import (
    TRUNCATED,
    allowed_tools,
    bound,
    describe,
    result_text,
    schema_problem,
)
from mozaiks_runtime.errors import McpServerFailed
from mozaiks_runtime.workflows.model import McpServer

pytestmark = pytest.mark.unit

OBJECT = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def server(**extra: Any) -> McpServer:
    return McpServer.model_validate(
        {"name": "weather", "url": "http://127.0.0.1:1/mcp", "tools": ["forecast"], **extra}
    )


def tool(name: str, schema: dict[str, Any] | None = None, description: str = "d") -> Tool:
    return Tool(name=name, description=description, input_schema=schema or OBJECT)


def test_only_allowed_tools_are_kept_with_the_servers_schema() -> None:
    (kept,) = allowed_tools(server(), [tool("forecast"), tool("wipe_disk")])
    assert (kept.name, kept.description, kept.parameters) == ("forecast", "d", OBJECT)


def test_an_allowed_tool_the_server_lacks_names_what_it_offers() -> None:
    with pytest.raises(McpServerFailed, match=r"offers no tool 'forecast' \(it offers: other\)"):
        allowed_tools(server(), [tool("other")])


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ({"type": "string"}, 'not a JSON Schema of an object ("type": "object")'),
        ({"type": "object", "properties": {"city": 7}}, ".properties.city: 7 is not of type"),
        ({"type": "object", "required": "city"}, ".required: 'city' is not of type 'array'"),
    ],
)
def test_a_malformed_schema_of_an_allowed_tool_fails_with_the_reason(
    schema: dict[str, Any], why: str
) -> None:
    assert why in (schema_problem(schema) or "")
    with pytest.raises(McpServerFailed, match="tool 'forecast' has an invalid input schema"):
        allowed_tools(server(), [tool("forecast", schema)])


def test_a_malformed_schema_of_a_tool_off_the_list_does_not_matter() -> None:
    listed = [tool("forecast"), tool("wipe_disk", {"type": 3})]
    assert [t.name for t in allowed_tools(server(), listed)] == ["forecast"]


def test_results_become_text() -> None:
    mixed = CallToolResult(
        content=[
            TextContent(type="text", text="one"),
            ImageContent(type="image", data="AAAA", mime_type="image/png"),
            TextContent(type="text", text="two"),
        ]
    )
    assert result_text(mixed) == "one\n[image content omitted]\ntwo"
    structured = CallToolResult(content=[], structured_content={"temp": 21})
    assert result_text(structured) == '{"temp": 21}'


def test_bound_cuts_and_says_so() -> None:
    assert bound("short", 10) == "short"
    assert bound("x" * 25, 10) == "x" * 10 + TRUNCATED.format(shown=10, total=25)
    assert "[truncated by mozaiks: 10 of 25 characters shown]" in bound("x" * 25, 10)


def test_describe_names_error_kinds_not_addresses() -> None:
    group = ExceptionGroup("tg", [ExceptionGroup("inner", [OSError("10.0.0.7:443 refused")])])
    assert describe(group, "weather") == "OSError"
