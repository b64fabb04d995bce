"""Tools from MCP servers (the official `mcp` SDK), for one run.

- `discover(servers, env)` runs once at run start: it connects to every server the workflow
  declares (concurrently, each within its `connect_timeout_seconds`), lists its tools and keeps
  those on the server's allow-list, with their JSON Schemas. A server that cannot be reached or
  refuses us, an allowed tool it does not offer, or an allowed tool whose input schema is not a
  JSON Schema of an object fails the run before any agent speaks (`McpServerFailed`): a clear
  error beats a model that improvises without its tools.
- `call(tool, arguments, env)` calls one tool within the server's `timeout_seconds`. Each call
  opens its own short session. A session held for the whole run would outlive a human's wait and
  the replica that opened it, and the SDK's task group would tie a server's failure to the run's
  own task. Everything that goes wrong in a call (the server's `isError`, a transport error, the
  timeout) raises `McpToolError`, which the agent sees as a tool error; the run goes on.
- Results become text: text blocks joined; other blocks named by kind; structured content as
  JSON when there is no text; cut to `max_result_chars` with a marker that says so.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from mcp import Client, MCPError
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, ListToolsResult, TextContent, Tool

from mozaiks_runtime.errors import McpServerFailed
from mozaiks_runtime.workflows.model import McpServer

logger = logging.getLogger(__name__)

MAX_PAGES = 20  # tools/list pages read at most (a server whose cursor never ends cannot hang us)
TRUNCATED = "\n[truncated by mozaiks: {shown} of {total} characters shown]"


class McpToolError(Exception):
    """A call that did not produce a result; the message is what the agent reads."""


@dataclass(frozen=True, slots=True)
class McpTool:
    """An allowed tool as the server described it at run start."""

    server: McpServer
    name: str
    description: str
    parameters: dict[str, Any]


async def discover(servers: Sequence[McpServer], env: Mapping[str, str]) -> dict[str, McpTool]:
    """The allowed tools of every server, by name; raises `McpServerFailed` naming the server."""
    found = await asyncio.gather(*(_discover_one(s, env) for s in servers), return_exceptions=True)
    tools: dict[str, McpTool] = {}
    for result in found:
        if isinstance(result, BaseException):
            raise result  # the first server (in the workflow's order) that failed
        tools.update((tool.name, tool) for tool in result)
    return tools


async def call(tool: McpTool, arguments: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """The tool's result as text (bounded), or `McpToolError`."""
    server = tool.server
    try:
        async with asyncio.timeout(server.timeout_seconds):
            async with _session(server, env) as client:
                result = await client.call_tool(tool.name, dict(arguments))
    except TimeoutError:
        raise McpToolError(
            f"MCP tool {tool.name} (server {server.name}) took longer than "
            f"{server.timeout_seconds:g}s"
        ) from None
    except McpServerFailed as exc:
        raise McpToolError(exc.message) from None
    except Exception as exc:  # the SDK raises transport and protocol errors in exception groups
        raise McpToolError(
            f"MCP tool {tool.name} (server {server.name}) failed: {describe(exc, server.name)}"
        ) from None
    if not isinstance(result, CallToolResult):
        raise McpToolError(f"MCP tool {tool.name} answered with an unexpected {type(result)}")
    text = bound(result_text(result), server.max_result_chars)
    if result.is_error:
        raise McpToolError(f"MCP tool {tool.name} reported an error: {text or 'no details'}")
    return text


# ── connecting ──────────────────────────────────────────────────────────────


async def _discover_one(server: McpServer, env: Mapping[str, str]) -> list[McpTool]:
    try:
        async with asyncio.timeout(server.connect_timeout_seconds):
            async with _session(server, env) as client:
                listed = await _list_all(client)
    except TimeoutError:
        raise McpServerFailed(
            f"MCP server {server.name}: no answer within {server.connect_timeout_seconds:g}s"
        ) from None
    except McpServerFailed:
        raise
    except Exception as exc:
        raise McpServerFailed(f"MCP server {server.name}: {describe(exc, server.name)}") from None
    return allowed_tools(server, listed)


async def _list_all(client: Client) -> list[Tool]:
    tools: list[Tool] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page: ListToolsResult = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


def allowed_tools(server: McpServer, listed: Sequence[Tool]) -> list[McpTool]:
    """The allow-listed tools from a listing; `McpServerFailed` when one is missing or broken."""
    by_name = {t.name: t for t in listed}
    tools: list[McpTool] = []
    for name in server.tools:
        found = by_name.get(name)
        if found is None:
            offered = ", ".join(sorted(by_name)) or "none"
            raise McpServerFailed(
                f"MCP server {server.name} offers no tool {name!r} (it offers: {offered})"
            )
        problem = schema_problem(found.input_schema)
        if problem:
            raise McpServerFailed(
                f"MCP server {server.name}: tool {name!r} has an invalid input schema: {problem}"
            )
        tools.append(McpTool(server, name, found.description or "", dict(found.input_schema)))
    return tools


def schema_problem(schema: object) -> str | None:
    """Why `schema` is not a JSON Schema of an object (None when it is)."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return 'not a JSON Schema of an object ("type": "object")'
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
        return f"{where or '$'}: {exc.message}"
    return None


def _session(server: McpServer, env: Mapping[str, str]) -> AbstractAsyncContextManager[Client]:
    url = server.url or _env(server, server.url_env, env, "url_env")
    headers: dict[str, str] = {}
    if server.auth is not None:
        value = _env(server, server.auth.value_env, env, "auth.value_env")
        headers[server.auth.header] = server.auth.prefix + value
    return _open(server, url, headers)


@asynccontextmanager
async def _open(server: McpServer, url: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    # The SDK's own read timeout stays above ours: our asyncio timeouts decide, with our message.
    read = max(server.timeout_seconds, server.connect_timeout_seconds) + 5
    if server.transport == "sse":
        transport: Any = sse_client(
            url, headers=headers, timeout=server.connect_timeout_seconds, sse_read_timeout=read
        )
        async with Client(transport, cache=None) as client:
            yield client
        return
    timeout = httpx2.Timeout(server.connect_timeout_seconds, read=read)
    http = httpx2.AsyncClient(headers=headers, timeout=timeout)
    async with http, Client(streamable_http_client(url, http_client=http), cache=None) as client:
        yield client


def _env(server: McpServer, name: str | None, env: Mapping[str, str], field: str) -> str:
    value = env.get(name or "")
    if not value:
        raise McpServerFailed(
            f"MCP server {server.name}: {field} names {name}, which is not set in the runtime's "
            "environment"
        )
    return value


# ── results ─────────────────────────────────────────────────────────────────


def result_text(result: CallToolResult) -> str:
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        else:
            parts.append(f"[{block.type} content omitted]")
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(parts)


def bound(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters with a marker naming how much was kept."""
    if len(text) <= limit:
        return text
    return text[:limit] + TRUNCATED.format(shown=limit, total=len(text))


def describe(exc: BaseException, server: str) -> str:
    """What went wrong, for the chat: the kinds of the innermost errors (and the server's own
    JSON-RPC message), never addresses or response bodies. The details go to the log."""
    leaves: list[BaseException] = []

    def walk(e: BaseException) -> None:
        if isinstance(e, BaseExceptionGroup):
            for inner in e.exceptions:
                walk(inner)
        else:
            leaves.append(e)

    walk(exc)
    details = "; ".join(f"{type(e).__name__}: {e}" for e in leaves)
    logger.warning("MCP server %s: request failed: %s", server, details)
    kinds = [
        f"{type(e).__name__}: {e}"[:200] if isinstance(e, MCPError) else type(e).__name__
        for e in leaves[:3]
    ]
    return "; ".join(kinds) or type(exc).__name__
