"""The public workflow catalog on the wire (GET /api/workflows and the widget's
/api/workflows/{app_id}/available): what the ChatUI widget reads to list and open workflows.

The keys follow what the shipped widget reads (`name` is its display name; `visual_agents`,
`chat_pane_agents`, `ui_tools`, `human_in_the_loop`...). No system prompts, no tool internals,
no hidden agents: safe to serve without a token.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AgentEntry(BaseModel):
    name: str
    display_name: str
    description: str


class UiToolEntry(BaseModel):
    tool_name: str
    component_type: str
    display: Literal["inline", "artifact"]
    description: str


class ToolEntry(BaseModel):
    kind: Literal["ui", "human_input"]


class WorkflowEntry(BaseModel):
    name: str = Field(description="The display name (what the widget shows).")
    workflow_name: str
    display_name: str
    description: str
    version: str = Field(description="The author's label.")
    content_version: str = Field(description="The content hash served now.")
    startup_mode: Literal["agent_driven", "user_driven"]
    max_turns: int
    human_in_the_loop: bool
    orchestration_pattern: Literal["handoffs", "single_agent"]
    initial_agent: str | None = Field(description="None when the first agent is hidden.")
    visual_agents: dict[str, AgentEntry] = Field(description="The agents shown to the user.")
    chat_pane_agents: list[str]
    artifact_agents: list[str]
    ui_tools: dict[str, UiToolEntry]
    tools: dict[str, ToolEntry] = Field(description="The tools that involve the user.")
