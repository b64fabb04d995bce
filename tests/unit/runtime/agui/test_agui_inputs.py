"""new_input(): the new part of a RunAgentInput is its tail (tool results, the user's message)."""

from __future__ import annotations

from typing import Any

import pytest
from ag_ui.core import RunAgentInput

from mozaiks_runtime.agui.inputs import ToolAnswer, new_input
from mozaiks_runtime.errors import UnprocessableBody

pytestmark = pytest.mark.unit


def body(*messages: dict[str, Any], **extra: Any) -> RunAgentInput:
    return RunAgentInput.model_validate(
        {"threadId": "t_1", "runId": "r_1", "messages": list(messages), **extra}
    )


USER = {"id": "u1", "role": "user", "content": "first"}
ASSISTANT_CALL = {
    "id": "a1",
    "role": "assistant",
    "toolCalls": [
        {"id": "in_1", "type": "function", "function": {"name": "human_input", "arguments": "{}"}}
    ],
}
TOOL = {"id": "t1", "role": "tool", "toolCallId": "in_1", "content": "Ada"}


def test_the_tail_after_the_last_assistant_message_is_new() -> None:
    new = new_input(body(USER, ASSISTANT_CALL, TOOL))
    assert new.text is None and new.answers == (ToolAnswer("in_1", "Ada"),)
    later = {"id": "u2", "role": "user", "content": [{"type": "text", "text": "next"}]}
    assistant = {"id": "a2", "role": "assistant", "content": "Hi Ada"}
    new = new_input(body(USER, ASSISTANT_CALL, TOOL, assistant, later))
    assert new.text == "next" and new.answers == ()


def test_no_new_messages_is_an_empty_input() -> None:
    assert new_input(body()).empty
    assert new_input(body(USER, {"id": "a", "role": "assistant", "content": "x"})).empty


def test_state_must_be_an_object() -> None:
    assert new_input(body(USER, state={"k": 1})).state == {"k": 1}
    with pytest.raises(UnprocessableBody, match="state"):
        new_input(body(USER, state=[1, 2]))


@pytest.mark.parametrize(
    ("messages", "extra", "reason"),
    [
        ([{"id": "u", "role": "user", "content": ""}], {}, "1 to 20000"),
        ([{"id": "u", "role": "user", "content": "x" * 20_001}], {}, "1 to 20000"),
        (
            [
                {
                    "id": "u",
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "url", "value": "http://x/y.png"}}
                    ],
                }
            ],
            {},
            "only text",
        ),
        ([USER], {"threadId": "t" * 129}, "threadId"),
    ],
)
def test_inputs_beyond_our_limits_are_unprocessable(
    messages: list[dict[str, Any]], extra: dict[str, Any], reason: str
) -> None:
    with pytest.raises(UnprocessableBody, match=reason):
        new_input(body(*messages, **extra))
