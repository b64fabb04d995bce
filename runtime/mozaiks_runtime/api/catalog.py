"""The public catalog: each served workflow as the widget sees it (wire/catalog.py), for the
callers allowed to run it."""

from __future__ import annotations

from mozaiks_runtime.auth.entitlements import entitled
from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.wire.catalog import AgentEntry, ToolEntry, UiToolEntry, WorkflowEntry
from mozaiks_runtime.workflows.model import (
    AgentDefinition,
    HumanInputTool,
    UITool,
    WorkflowDefinition,
)
from mozaiks_runtime.workflows.registry import LoadedWorkflow, WorkflowRegistry


def visible_catalog(
    registry: WorkflowRegistry, identity: Identity | None
) -> dict[str, WorkflowEntry]:
    """The catalog entries the caller may run. Without a token (the widget's tokenless load)
    only open workflows: one with `access` rules is never shown to an anonymous caller."""
    shown: dict[str, WorkflowEntry] = {}
    for loaded in registry.all():
        access = loaded.definition.access
        if access is None or (identity is not None and entitled(identity, access)):
            shown[loaded.name] = catalog_entry(loaded)
    return shown


def catalog_entry(workflow: LoadedWorkflow) -> WorkflowEntry:
    """One workflow as the widget sees it."""
    wf = workflow.definition
    shown = [a for a in wf.agents if a.show_to_user]
    ui_tools = _ui_tools(wf)
    asks_user = any(isinstance(t, HumanInputTool) for t in wf.tools)
    return WorkflowEntry(
        name=wf.title,
        workflow_name=wf.name,
        display_name=wf.title,
        description=wf.description,
        version=wf.version,
        content_version=workflow.version,
        startup_mode=wf.startup_mode,
        max_turns=wf.max_turns,
        human_in_the_loop=asks_user or bool(ui_tools),
        orchestration_pattern="handoffs" if len(wf.agents) > 1 else "single_agent",
        initial_agent=wf.start_agent if wf.agent(wf.start_agent) in shown else None,
        visual_agents={a.name: _agent(a) for a in shown},
        chat_pane_agents=[a.name for a in shown],
        artifact_agents=[],
        ui_tools=ui_tools,
        tools=_user_tools(wf),
    )


def _user_tools(wf: WorkflowDefinition) -> dict[str, ToolEntry]:
    """The tools that involve the user."""
    return {
        t.name: ToolEntry(kind=t.kind) for t in wf.tools if isinstance(t, UITool | HumanInputTool)
    }


def _agent(agent: AgentDefinition) -> AgentEntry:
    return AgentEntry(
        name=agent.name,
        display_name=agent.display_name or agent.name,
        description=agent.description,
    )


def _ui_tools(wf: WorkflowDefinition) -> dict[str, UiToolEntry]:
    return {
        t.name: UiToolEntry(
            tool_name=t.name,
            component_type=t.component_type,
            display=t.display,
            description=t.description,
        )
        for t in wf.tools
        if isinstance(t, UITool)
    }
