"""Client message parsing and the server message schemas (ws/messages.py)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from mozaiks_runtime.chats.events import stored_frame, transient
from mozaiks_runtime.errors import SchemaValidationFailed
from mozaiks_runtime.storage.base import StoredEvent, utcnow
from mozaiks_runtime.wire.events import EmptyData
from mozaiks_runtime.ws import messages

pytestmark = pytest.mark.unit


def test_each_client_message_parses() -> None:
    submit = messages.parse_client(
        '{"type": "user.input.submit", "chat_id": "c", "text": "hi", "extra": 1}'
    )
    assert isinstance(submit, messages.UserInputSubmit) and submit.text == "hi"
    for kind in ("ui_tool_response", "ui.tool.response"):
        answer = messages.parse_client(json.dumps({"type": kind, "eventId": "e", "response": {}}))
        assert isinstance(answer, messages.UiToolResponse) and answer.eventId == "e"
    resume = messages.parse_client('{"type": "client.resume", "lastClientIndex": 4}')
    assert isinstance(resume, messages.ClientResume) and resume.after == 4
    both = messages.parse_client('{"type": "client.resume", "last_seq": 9, "lastClientIndex": 4}')
    assert isinstance(both, messages.ClientResume) and both.after == 9
    start = messages.parse_client('{"type": "chat.start_workflow", "workflow_name": "hello"}')
    assert isinstance(start, messages.StartWorkflow)
    assert isinstance(messages.parse_client('{"type": "ping"}'), messages.Ping)
    assert isinstance(messages.parse_client('{"type": "pong"}'), messages.Pong)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("", "not valid JSON"),
        ("null", "JSON object"),
        ('{"type": "nope"}', "unknown message type 'nope'"),
        ("{}", "type"),
        ('{"type": "user.input.submit"}', "text"),
        ('{"type": "user.input.submit", "text": "' + "x" * 20_001 + '"}', "text"),
        ('{"type": "ui_tool_response", "eventId": "e", "response": []}', "response"),
        ('{"type": "client.resume", "last_seq": "ten"}', "last_seq"),
    ],
)
def test_bad_client_messages(frame: str, reason: str) -> None:
    with pytest.raises(SchemaValidationFailed) as caught:
        messages.parse_client(frame)
    assert reason in caught.value.message
    assert caught.value.error_code == "SCHEMA_VALIDATION_FAILED"


def test_server_frames_match_their_schemas(tmp_path: Path) -> None:
    written = messages.export_schemas(tmp_path)
    assert tmp_path / "client.json" in written
    stored = StoredEvent(
        "app", "c1", 3, "chat.text", {"agent": "A", "content": "x", "role": "assistant"}, utcnow()
    )
    schema = messages.server_schema("chat.text")
    jsonschema.validate(json.loads(stored_frame(stored, replay=True).text), schema)
    ping = json.loads(transient("ping", EmptyData(), chat_id="c1").text)
    jsonschema.validate(ping, messages.server_schema("ping"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"type": "chat.text", "chat_id": "c", "timestamp": "t", "data": {}}, schema
        )
