"""The workflow definition: one JSON document per workflow, parsed into these frozen models.

`workflows/schema.json` is generated from `WorkflowDefinition` (see `schema.py`), so this module
is the single source of the format. Imports no ag2 and does no I/O: the operator uses it too.

The shape, in short:

- a workflow has agents; each agent has a system message, the names of the tools it may call and
  its hand-offs (who speaks after it, on a tool call, on a context value, or terminate);
- tools are declared once, at the workflow level, by `kind`: `python` (a plugin registered under
  the entry-point group `mozaiks.tools`), `ui` (the widget renders a component and the agent
  waits for the user's answer) or `human_input` (the agent asks the user a question);
- MCP servers (`mcp_servers`) lend tools too: each server names the tools it may offer (an
  allow-list); an agent lists them in `tools` by name, like the workflow's own;
- a hand-off target is an agent's name or one of the reserved words `user` (end the run and wait
  for the user's next message) and `terminate` (end the chat's workflow).

Every key we control is a plain identifier, so documents store as-is in MongoDB/FerretDB (no `$`,
no `.`); `schema.py` also rejects such keys inside free-form objects (payloads, schemas, context).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

# The hand-off targets that are not agents.
TARGET_USER = "user"
TARGET_TERMINATE = "terminate"
RESERVED_TARGETS = frozenset({TARGET_USER, TARGET_TERMINATE})

# A workflow name appears in URLs (/ws/{workflow}/...) and ConfigMap keys.
WORKFLOW_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
# Agent and tool names reach the model provider as `name` / function names.
AGENT_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
TOOL_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
# MCP servers also name tools with hyphens (`get-forecast`); model providers accept them.
TOOL_REF_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
# A UI component type the widget knows how to render (e.g. confirmation, form, card).
COMPONENT_TYPE_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
# The runtime reads only variables with this prefix for MCP URLs and auth headers, so a workflow
# can never send the runtime's own secrets (JWT key, LLM key, database URI) to a server it names.
MCP_ENV_PREFIX = "MOZAIKS_MCP_"
MCP_ENV_PATTERN = r"^MOZAIKS_MCP_[A-Z0-9_]{1,100}$"
# The group deployments register tool plugins under.
TOOL_ENTRY_POINT_GROUP = "mozaiks.tools"

AgentName = Annotated[str, Field(pattern=AGENT_NAME_PATTERN)]
ContextKey = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
ToolName = Annotated[str, Field(pattern=TOOL_NAME_PATTERN)]
ToolRef = Annotated[str, Field(pattern=TOOL_REF_PATTERN)]  # a declared tool or an MCP tool
TargetName = Annotated[
    str,
    Field(
        pattern=AGENT_NAME_PATTERN,
        description="An agent's name, or `user` (wait for the user) or `terminate` (end).",
    ),
]
JsonObject = dict[str, JsonValue]
Timeout = Annotated[float, Field(gt=0, le=86_400, description="Seconds before the wait fails.")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


# ── Tools ───────────────────────────────────────────────────────────────────


class PythonTool(_Model):
    """A Python function a deployment provides as a plugin (entry-point group `mozaiks.tools`)."""

    kind: Literal["python"]
    name: ToolName
    description: str = Field(
        "", max_length=2048, description="What the tool does (default: the plugin's docstring)."
    )
    entry_point: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]{1,128}$",
        description="The entry-point name under `mozaiks.tools` (default: the tool's name).",
    )
    timeout_seconds: Timeout | None = Field(None, description="Fail the call after this long.")

    @property
    def plugin_name(self) -> str:
        return self.entry_point or self.name


def _empty_object_schema() -> JsonObject:
    return {"type": "object", "properties": {}}


class UITool(_Model):
    """Asks the widget to render a component (a confirmation card, a form...) and waits.

    The agent fills in `parameters` (a JSON Schema of an object); the widget receives `payload`
    merged with the agent's arguments, and the user's answer (an object) is the tool's result.
    """

    kind: Literal["ui"]
    name: ToolName
    description: str = Field("", max_length=2048)
    component_type: str = Field(
        ..., pattern=COMPONENT_TYPE_PATTERN, description="e.g. `confirmation` or `form`."
    )
    display: Literal["inline", "artifact"] = "inline"
    payload: JsonObject = Field(
        default_factory=dict, description="Static payload sent to the widget with the arguments."
    )
    parameters: JsonObject = Field(
        default_factory=_empty_object_schema,
        description="JSON Schema (an object) of the arguments the agent passes.",
    )
    timeout_seconds: Timeout | None = None
    context_key: ContextKey | None = Field(
        None, description="Store the user's answer (an object) in this context variable."
    )


class HumanInputTool(_Model):
    """Asks the user a question (argument `question`) and returns the typed answer."""

    kind: Literal["human_input"]
    name: ToolName
    description: str = Field("Ask the user a question and wait for the answer.", max_length=2048)
    prompt: str | None = Field(
        None, max_length=4096, description="The question to show when the agent passes none."
    )
    password: bool = False
    timeout_seconds: Timeout | None = None
    context_key: ContextKey | None = Field(
        None, description="Store the answer (text, trimmed) in this context variable."
    )


ToolDefinition = Annotated[PythonTool | UITool | HumanInputTool, Field(discriminator="kind")]


# ── MCP servers ─────────────────────────────────────────────────────────────

EnvName = Annotated[
    str,
    Field(
        pattern=MCP_ENV_PATTERN,
        description="An environment variable of the runtime; only MOZAIKS_MCP_* may be named.",
    ),
]


class McpAuth(_Model):
    """An HTTP header sent on every request to the server; its value comes from the runtime's
    environment (in Kubernetes, a Secret the Tenant maps in), never from the workflow."""

    header: str = Field("Authorization", pattern=r"^[A-Za-z0-9-]{1,64}$")
    value_env: EnvName = Field(..., description="The variable that holds the header's value.")
    prefix: str = Field(
        "",
        max_length=32,
        pattern=r"^[\x21-\x7e ]*$",
        description='Put before the value, e.g. "Bearer ".',
    )


class McpServer(_Model):
    """A Model Context Protocol server whose tools the workflow's agents may call.

    The runtime lists its tools when a run starts; only those named in `tools` are ever offered
    to a model (with the server's JSON Schema) or called.
    """

    name: Annotated[str, Field(pattern=TOOL_NAME_PATTERN)]
    transport: Literal["streamable_http", "sse"] = "streamable_http"
    url: str | None = Field(
        None, max_length=2048, pattern=r"^https?://[^\s]+$", description="The endpoint."
    )
    url_env: EnvName | None = Field(
        None, description="Read the endpoint from this variable instead (set exactly one)."
    )
    auth: McpAuth | None = None
    tools: list[ToolRef] = Field(
        ..., min_length=1, description="The allow-list: the server's tools agents may call."
    )
    timeout_seconds: Timeout = Field(30.0, description="Each call fails after this long.")
    connect_timeout_seconds: Timeout = Field(
        10.0, description="Connecting and listing the tools at run start fail after this long."
    )
    max_result_chars: int = Field(
        20_000,
        ge=100,
        le=1_000_000,
        description="A longer result is cut to this many characters, with a marker saying so.",
    )


# ── Agents and hand-offs ────────────────────────────────────────────────────


class ToolHandoff(_Model):
    """After this agent calls `tool`, the next turn goes to `target`."""

    tool: ToolRef
    target: TargetName


class ContextHandoff(_Model):
    """When context variable `key` (or its `field`, for an object) equals `equals` at the end of
    this agent's turn, go to `target`."""

    key: ContextKey
    field: ContextKey | None = None
    equals: JsonValue
    target: TargetName


class Handoffs(_Model):
    """Who speaks after this agent. Checked in order: tool calls, context conditions, after_work."""

    on_tool_call: list[ToolHandoff] = Field(default_factory=list)
    on_context: list[ContextHandoff] = Field(default_factory=list)
    after_work: TargetName = Field(
        TARGET_USER, description="Where the turn goes when no other hand-off applies."
    )


class StructuredOutput(_Model):
    """The agent answers with a JSON object that matches `schema`."""

    name: Annotated[str, Field(pattern=TOOL_NAME_PATTERN)] = "output"
    description: str = Field("", max_length=2048)
    schema_: JsonObject = Field(..., alias="schema", description="JSON Schema of an object.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AgentDefinition(_Model):
    name: AgentName
    display_name: str | None = Field(None, max_length=128)
    description: str = Field("", max_length=2048)
    system_message: str = Field(..., min_length=1, max_length=100_000)
    model: str | None = Field(
        None, min_length=1, max_length=256, description="Override of the deployment's model."
    )
    temperature: float | None = Field(None, ge=0, le=2)
    tools: list[ToolRef] = Field(default_factory=list)
    structured_output: StructuredOutput | None = None
    show_to_user: bool = Field(True, description="Whether the widget shows this agent's messages.")
    handoffs: Handoffs = Field(default_factory=Handoffs)


# ── Access (entitlements) ───────────────────────────────────────────────────

# A JWT claim name: a plain name (`roles`), a namespaced one (`https://acme.com/plan`), or a dotted
# path into nested claims (`realm_access.roles`), tried as a whole name first.
CLAIM_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_:/.#-]{0,255}$"
ClaimValue = Annotated[str, Field(max_length=256)] | int | bool


class ClaimRule(_Model):
    """One test on the caller's token: set exactly one of `contains` and `equals`."""

    claim: str = Field(..., pattern=CLAIM_NAME_PATTERN, description="The JWT claim to test.")
    contains: ClaimValue | None = Field(
        None,
        description="The claim is a list holding this value, or a space-separated string "
        "(like `scope`) holding this word.",
    )
    equals: ClaimValue | None = Field(None, description="The claim is exactly this value.")

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"oneOf": [{"required": ["contains"]}, {"required": ["equals"]}]},
    )


class AccessRules(_Model):
    """Who may run the workflow: every `allOf` rule and, when `anyOf` is given, one of its rules
    must hold for the caller's token. A workflow without `access` is open to every user."""

    any_of: list[ClaimRule] = Field(default_factory=list, alias="anyOf", max_length=32)
    all_of: list[ClaimRule] = Field(default_factory=list, alias="allOf", max_length=32)


# ── The workflow ────────────────────────────────────────────────────────────


class WorkflowDefinition(_Model):
    """One workflow, as authored (a file in the workflows directory or a `Workflow` resource)."""

    name: Annotated[str, Field(pattern=WORKFLOW_NAME_PATTERN)]
    version: str = Field("1", min_length=1, max_length=64, description="The author's label.")
    display_name: str | None = Field(None, max_length=128)
    description: str = Field("", max_length=4096)
    startup_mode: Literal["agent_driven", "user_driven"] = "user_driven"
    on_new_message: Literal["reject", "enqueue", "interrupt"] = Field(
        "reject",
        description="A user message while a run goes on: `reject` it (CONFLICT), `enqueue` it "
        "(it starts the next run, in the order the messages arrived, whichever replica took "
        "them), or `interrupt` (cancel the run, then start the next with this message).",
    )
    initial_message: str | None = Field(
        None,
        max_length=20_000,
        description="agent_driven: the message that starts the run (not shown as the user's).",
    )
    initial_agent: AgentName | None = Field(None, description="Default: the first agent.")
    max_turns: int = Field(20, ge=1, le=1000, description="Agent turns per run, at most.")
    agents: list[AgentDefinition] = Field(..., min_length=1)
    tools: list[ToolDefinition] = Field(default_factory=list)
    context_variables: JsonObject = Field(default_factory=dict)
    mcp_servers: list[McpServer] = Field(default_factory=list)
    access: AccessRules | None = Field(
        None,
        description="Who may run it, by claims of the user's token (default: every user).",
    )

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Mozaiks workflow",
        json_schema_extra={"$id": "https://mozaiks.ai/schemas/workflow.json"},
    )

    @property
    def title(self) -> str:
        return self.display_name or self.name

    @property
    def start_agent(self) -> str:
        return self.initial_agent or self.agents[0].name

    def agent(self, name: str) -> AgentDefinition | None:
        return next((a for a in self.agents if a.name == name), None)

    def tool(self, name: str) -> PythonTool | UITool | HumanInputTool | None:
        return next((t for t in self.tools if t.name == name), None)

    def agent_tools(self, agent: AgentDefinition) -> list[PythonTool | UITool | HumanInputTool]:
        """The agent's tools declared in `tools` (its MCP tools: `mcp_server_of`)."""
        return [t for n in agent.tools if (t := self.tool(n)) is not None]

    def mcp_server_of(self, tool_name: str) -> McpServer | None:
        """The MCP server whose allow-list holds `tool_name`, if any."""
        return next((s for s in self.mcp_servers if tool_name in s.tools), None)


def dump_definition(definition: WorkflowDefinition) -> dict[str, Any]:
    """The JSON-ready form (aliases, no unset defaults), e.g. to store or to ship in a ConfigMap."""
    return definition.model_dump(mode="json", by_alias=True, exclude_unset=True)
