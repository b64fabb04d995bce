"""Every server message is built from its wire model (wire/events.py), in one place
(chats/events.py): a frame or event whose data is a dict built by hand fails here."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from mozaiks_runtime.chats import events
from mozaiks_runtime.wire import events as wire
from mozaiks_runtime.ws import messages

pytestmark = pytest.mark.unit
PACKAGE = Path(events.__file__).resolve().parents[1]
BUILDERS = PACKAGE / "chats" / "events.py"
# What turns data into a message; only chats/events.py may call these.
CONSTRUCTORS = {"NewEvent", "Frame", "envelope"}


def _kinds() -> dict[str, str]:
    """The message types chats/events.py names (its upper-case string constants)."""
    return {
        name: value
        for name, value in vars(events).items()
        if name.isupper() and isinstance(value, str) and name != "TYPE_CHECKING"
    }


def test_every_message_type_has_one_model_and_the_docs_export_the_same_table() -> None:
    assert set(_kinds().values()) == set(events.DATA)
    assert all(issubclass(model, wire.WireData) for model in events.DATA.values())
    assert messages.SERVER_DATA is events.DATA  # exported from the models the frames are built of


def test_data_built_by_hand_is_refused() -> None:
    with pytest.raises(TypeError, match="built as its model"):
        events.event(events.TEXT, {"agent": "A", "content": "hi"})  # type: ignore[arg-type]  # the point
    with pytest.raises(TypeError, match="built as its model"):
        events.transient(events.PING, {}, chat_id="c1")  # type: ignore[arg-type]  # the point
    with pytest.raises(TypeError, match="built as its model"):  # the model of another type
        events.event(events.RUN_START, wire.ErrorData(message="m", error_code="E"))
    with pytest.raises(TypeError, match="built as its model"):  # a type without a model
        events.transient("chat.unknown", wire.EmptyData(), chat_id="c1")


def test_the_data_sent_is_what_the_builder_set() -> None:
    """Defaults left out stay out (as before the models); what was set is sent, None included."""
    text = events.event(events.TEXT, events.text_data(agent="A", content="hi", role="assistant"))
    assert text.data == {"agent": "A", "content": "hi", "role": "assistant", "visible": True}
    cancelled = events.event(
        events.RUN_CANCELLED, events.cancelled_data(by="u", reason="", agent=None)
    )
    assert cancelled.data == {"by": "u", "reason": "", "agent": None}
    frame = events.transient(events.PONG, wire.EmptyData(), chat_id="c1")
    assert json.loads(frame.text)["data"] == {}


def test_no_module_builds_a_message_outside_chats_events() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == BUILDERS:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in CONSTRUCTORS:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}(...)")
    assert found == [], "build events and frames with chats/events.py's event/transient"


@pytest.mark.parametrize(
    "data",
    [
        wire.TextData(agent="A", content="hi", role="user", visible=False),
        wire.TextData(agent="A", content="hi", role="user", replay=True),
        wire.ToolCallData(agent="A", tool_name="form", awaiting_response=True, corr="e1"),
        wire.RunCancelledData(by="u", reason="r", agent=None),
        wire.AgentData(agent="A", extra_key={"n": 1}),
        wire.UsageSummaryData(
            chat_id="c",
            workflow_name="w",
            calls=1,
            prompt_tokens=1,
            completion_tokens=2,
            total_tokens=3,
            by_model={
                "m": wire.UsageTotalsData(
                    calls=1, prompt_tokens=1, completion_tokens=2, total_tokens=3
                )
            },
        ),
    ],
)
def test_the_fast_dump_is_pydantics_dump_of_the_fields_set(data: wire.WireData) -> None:
    assert data.as_dict() == data.model_dump(exclude_unset=True)
    assert list(data.as_dict()) == list(data.model_dump(exclude_unset=True))  # same key order


def test_every_trusted_build_names_its_models_fields() -> None:
    """`Model.trusted(...)` skips validation on the hot path, so its keywords are checked here:
    each is a field of the model, and every required field is given."""
    calls = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            func = node.func if isinstance(node, ast.Call) else None
            if not (isinstance(func, ast.Attribute) and func.attr == "trusted"):
                continue
            assert isinstance(node, ast.Call) and isinstance(func.value, ast.Attribute | ast.Name)
            name = func.value.attr if isinstance(func.value, ast.Attribute) else func.value.id
            model = getattr(wire, name)
            given = {k.arg for k in node.keywords}
            assert None not in given, f"{path.name}:{node.lineno}: name each field"
            required = {n for n, info in model.model_fields.items() if info.is_required()}
            assert given <= set(model.model_fields), f"{path.name}:{node.lineno}: unknown field"
            assert required <= given, f"{path.name}:{node.lineno}: missing {required - given}"
            calls += 1
    assert calls >= 5  # the engine events of chats/events.py's from_engine


def test_trusted_data_of_another_type_is_refused() -> None:
    with pytest.raises(TypeError, match="built as its model"):
        events.event(events.TEXT, wire.AgentData.trusted(agent="A"))
    chunk = events.transient(
        events.TEXT_CHUNK, wire.TextChunkData.trusted(agent="A", content="x"), chat_id="c1"
    )
    assert json.loads(chunk.text)["data"] == {"agent": "A", "content": "x"}
