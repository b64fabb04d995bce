"""Context variables: a Python plugin sets one through `ag2.Context`, a hand-off follows it."""

from __future__ import annotations

import pytest
from ag2 import Context, tool
from tests.support.recording_io import RecordingIO

from mozaiks_runtime.engine.base import RunRequest
from mozaiks_runtime.engine.build import ToolPlugins
from mozaiks_runtime.engine.llm import LLMSettings, ModelConfigs
from mozaiks_runtime.engine.run import AG2Runner
from mozaiks_runtime.workflows.model import PythonTool
from mozaiks_runtime.workflows.schema import validate_definition

pytestmark = pytest.mark.integration


def classify(topic: str, context: Context) -> str:
    """Record the topic of the request."""
    context.variables["topic"] = topic
    return f"topic set to {topic}"


WORKFLOW = {
    "name": "desk",
    "context_variables": {"tier": "gold"},
    "agents": [
        {
            "name": "Triage",
            "system_message": "Classify the request.",
            "tools": ["classify"],
            "handoffs": {
                "on_context": [{"key": "topic", "equals": "demo topic", "target": "Tech"}],
                "after_work": "user",
            },
        },
        {"name": "Tech", "system_message": "Fix it.", "handoffs": {"after_work": "terminate"}},
    ],
    "tools": [{"kind": "python", "name": "classify"}],
}


async def test_a_plugin_sets_context_and_the_hand_off_follows() -> None:
    runner = AG2Runner(ModelConfigs(LLMSettings()), plugins=ToolPlugins({"classify": classify}))
    wf = validate_definition(WORKFLOW, "desk.json")
    io = RecordingIO()
    request = RunRequest(
        "c", "a", "u", wf, user_message="printer on fire", context={"page": "/help"}
    )
    outcome = await runner.run(request, io)
    assert io.speakers() == ["Triage", "Tech"]
    # the demo fills `topic` with a placeholder; the Context parameter is not in the schema
    assert outcome.context == {"tier": "gold", "page": "/help", "topic": "demo topic"}
    assert not outcome.awaiting_user


def test_a_plugin_may_be_an_ag2_tool_already() -> None:
    plugins = ToolPlugins({"classify": tool(classify)})
    built = plugins.build(PythonTool(kind="python", name="sort_request", entry_point="classify"))
    assert built.name == "sort_request"
    assert built.schema.function.name == "sort_request"
    assert list(built.schema.function.parameters["properties"]) == ["topic"]
