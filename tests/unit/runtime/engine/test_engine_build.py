"""build: hand-offs become an AG2 TransitionGraph that WorkflowAdapter folds; history projection."""

from __future__ import annotations

from typing import Any

import pytest
from ag2.events import ModelRequest, ModelResponse, TextInput
from ag2.network import TransitionGraph, WorkflowAdapter, WorkflowState

from mozaiks_runtime.engine import build
from mozaiks_runtime.engine.base import HistoryMessage
from mozaiks_runtime.engine.demo import example_value
from mozaiks_runtime.engine.example_tools import estimate_trip_cost
from mozaiks_runtime.workflows.model import PythonTool, WorkflowDefinition
from mozaiks_runtime.workflows.schema import validate_definition

pytestmark = pytest.mark.unit


def desk() -> WorkflowDefinition:
    return validate_definition(
        {
            "name": "desk",
            "max_turns": 5,
            "agents": [
                {
                    "name": "Triage",
                    "system_message": "Sort.",
                    "tools": ["to_billing", "classify"],
                    "handoffs": {
                        "on_tool_call": [{"tool": "to_billing", "target": "Billing"}],
                        "on_context": [
                            {"key": "topic", "field": "kind", "equals": "tech", "target": "Tech"},
                            {"key": "done", "equals": True, "target": "terminate"},
                        ],
                        "after_work": "user",
                    },
                },
                {
                    "name": "Billing",
                    "system_message": "Invoices.",
                    "handoffs": {"after_work": "Triage"},
                },
                {
                    "name": "Tech",
                    "system_message": "Fix.",
                    "tools": ["to_billing"],
                    "handoffs": {"after_work": "terminate"},
                },
            ],
            "tools": [
                {"kind": "human_input", "name": "to_billing"},
                {"kind": "human_input", "name": "classify"},
            ],
        },
        "desk.json",
    )


def fold(
    graph: TransitionGraph,
    agent: str,
    *,
    tools: tuple[str, ...] = (),
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> WorkflowState:
    state = WorkflowState(
        participant_order=["Triage", "Billing", "Tech"],
        expected_next_speaker=agent,
        creator_id=build.USER_ID,
        graph_data=graph.to_dict(),
        context_vars=dict(before or {}),
    )
    packet = build.round_packet(
        chat_id="c1",
        agent=agent,
        body="text",
        tools_called=tools,
        context_before=before or {},
        context_after=after if after is not None else dict(before or {}),
    )
    return WorkflowAdapter().fold(packet, state)


def test_the_graph_is_json_and_survives_a_round_trip() -> None:
    graph = build.transition_graph(desk())
    restored = TransitionGraph.loads(graph.dumps())
    assert restored.initial_speaker == "Triage"
    assert restored.max_turns == 5
    assert restored.to_dict() == graph.to_dict()
    names = [t["when"]["name"] for t in graph.to_dict()["transitions"]]
    assert names[:4] == [
        "mozaiks_speaker_called_tool",
        "mozaiks_speaker_context_equals",
        "mozaiks_speaker_context_equals",
        "from_speaker",
    ]


def test_after_work_goes_to_the_named_agent_or_ends_the_run() -> None:
    graph = build.transition_graph(desk())
    assert fold(graph, "Billing").expected_next_speaker == "Triage"
    to_user = fold(graph, "Triage")
    assert (
        to_user.expected_next_speaker is None and to_user.pending_close_reason == build.CLOSE_USER
    )
    done = fold(graph, "Tech")
    assert done.expected_next_speaker is None and done.pending_close_reason == build.CLOSE_TERMINATE


def test_a_tool_call_hands_off_but_only_for_the_agent_that_declared_it() -> None:
    graph = build.transition_graph(desk())
    assert (
        fold(graph, "Triage", tools=("classify", "to_billing")).expected_next_speaker == "Billing"
    )
    # Tech calls the same tool but has no such hand-off: its after_work applies
    tech = fold(graph, "Tech", tools=("to_billing",))
    assert tech.expected_next_speaker is None and tech.pending_close_reason == build.CLOSE_TERMINATE


def test_context_conditions_see_the_values_set_during_the_turn() -> None:
    graph = build.transition_graph(desk())
    state = fold(graph, "Triage", after={"topic": {"kind": "tech"}})
    assert state.expected_next_speaker == "Tech"
    assert state.context_vars == {"topic": {"kind": "tech"}}
    done = fold(graph, "Triage", before={"done": False}, after={"done": True})
    assert done.expected_next_speaker is None and done.pending_close_reason == build.CLOSE_TERMINATE
    # a tool hand-off outranks a context one
    both = fold(graph, "Triage", tools=("to_billing",), after={"topic": {"kind": "tech"}})
    assert both.expected_next_speaker == "Billing"
    # not a mapping: the field cannot match
    assert fold(graph, "Triage", after={"topic": "tech"}).expected_next_speaker is None


def test_round_packet_carries_context_changes() -> None:
    packet = build.round_packet(
        chat_id="c1",
        agent="Triage",
        body="b",
        tools_called=["a", "b", "a"],
        context_before={"keep": 1, "change": 1, "drop": 1},
        context_after={"keep": 1, "change": 2, "new": 3},
    )
    assert packet.event_data["routing"] == {"kind": "text", "tools": ["a", "b"]}
    assert packet.event_data["context_updates"] == {
        "set": {"change": 2, "new": 3},
        "delete": ["drop"],
    }


def test_history_as_one_agent_sees_it() -> None:
    transcript = [
        HistoryMessage("user", "My invoice is wrong", "user"),
        HistoryMessage("Triage", "Sending you to billing.", "assistant"),
        HistoryMessage("Billing", "Which invoice?", "assistant"),
    ]
    prior, turn = build.project_history(transcript, "Triage")
    assert prior == [
        ModelRequest([TextInput("My invoice is wrong")]),
        ModelResponse(_message("Sending you to billing.")),
    ]
    assert turn == [TextInput("[Billing] Which invoice?")]
    prior, turn = build.project_history(transcript[:2], "Triage")
    assert len(prior) == 2 and turn == [TextInput(build.CONTINUE)]
    assert build.project_history([], "Triage") == ([], [TextInput(build.CONTINUE)])


def _message(text: str) -> Any:
    from ag2.events import ModelMessage

    return ModelMessage(text)


def test_plugins_load_from_entry_points_and_take_the_workflow_name() -> None:
    plugins = build.ToolPlugins()
    assert "estimate_trip_cost" in plugins.names()
    tool = plugins.build(PythonTool(kind="python", name="price", entry_point="estimate_trip_cost"))
    fn = tool.schema.function
    assert fn.name == "price"
    assert fn.description.startswith("Estimate the cost of a trip")
    assert set(fn.parameters["properties"]) == {"destination", "days", "travellers"}
    assert plugins.load("estimate_trip_cost") is estimate_trip_cost
    with pytest.raises(LookupError, match="no tool plugin 'missing'"):
        plugins.load("missing")


def test_extra_plugins_and_bad_plugins() -> None:
    plugins = build.ToolPlugins({"answer": lambda: 42, "nonsense": 42})  # type: ignore[dict-item]
    assert plugins.build(PythonTool(kind="python", name="answer")).name == "answer"
    with pytest.raises(TypeError, match="neither a function nor an ag2 tool"):
        plugins.load("nonsense")


def test_demo_values_follow_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "default": "d"},
            "b": {"type": "integer", "examples": [7]},
            "c": {"enum": ["x", "y"]},
            "d": {"type": ["null", "number"], "minimum": 2},
            "e": {"type": "array", "items": {"type": "boolean"}, "minItems": 1},
            "f": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "g": {"type": "string", "description": "what to ask"},
            "h": {"const": 1},
        },
    }
    assert example_value(schema) == {
        "a": "d",
        "b": 7,
        "c": "x",
        "d": 2.0,
        "e": [True],
        "f": 3,
        "g": "[demo model] what to ask",
        "h": 1,
    }
