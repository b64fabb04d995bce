"""What is new in a RunAgentInput. Pure.

AG-UI clients send the whole conversation with every run. The new part is its tail: the messages
after the last one that is neither the user's nor a tool result. Tool messages there answer tool
calls (our open questions); the last user message there is the user's next message. Earlier
messages are the client's copy of the history, which the chat's own log already holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ag_ui.core import ContentPart, Message, RunAgentInput, TextPart, ToolMessage, UserMessage

from mozaiks_runtime.errors import UnprocessableBody
from mozaiks_runtime.ws.messages import MAX_TEXT

MAX_THREAD_ID = 128  # the longest chat id the runtime takes (the WebSocket path's limit too)


@dataclass(frozen=True, slots=True)
class ToolAnswer:
    call_id: str
    content: str


@dataclass(frozen=True, slots=True)
class NewInput:
    text: str | None  # the user's next message
    answers: tuple[ToolAnswer, ...]  # tool results, in the order they were sent
    state: dict[str, Any] | None  # the client's state, merged into the run's context

    @property
    def empty(self) -> bool:
        return self.text is None and not self.answers


def _plain(content: str | Sequence[ContentPart], where: str) -> str:
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if not isinstance(part, TextPart):
            raise UnprocessableBody(f"{where}: only text content is supported, not {part.type}")
        texts.append(part.text)
    return "".join(texts)


def tail(body: RunAgentInput) -> list[Message]:
    """The input's new messages (see the module's docstring)."""
    return _tail(body.messages)


def _tail(messages: Sequence[Message]) -> list[Message]:
    start = len(messages)
    while start > 0 and isinstance(messages[start - 1], UserMessage | ToolMessage):
        start -= 1
    return list(messages[start:])


def new_input(body: RunAgentInput) -> NewInput:
    """The new part of a run's input; UnprocessableBody when it breaks our limits."""
    if not 0 < len(body.thread_id) <= MAX_THREAD_ID:
        raise UnprocessableBody(f"threadId: 1 to {MAX_THREAD_ID} characters")
    if body.state is not None and not isinstance(body.state, dict):
        raise UnprocessableBody("state: must be an object (the chat's context variables)")
    text: str | None = None
    answers: dict[str, ToolAnswer] = {}
    tail = _tail(body.messages)
    first = len(body.messages) - len(tail)
    for n, message in enumerate(tail, start=first):
        where = f"messages[{n}]"
        if isinstance(message, ToolMessage):
            content = _plain(message.content, where)
            answers[message.tool_call_id] = ToolAnswer(message.tool_call_id, content)
        elif isinstance(message, UserMessage):
            text = _plain(message.content, where)
    if text is not None and not 0 < len(text) <= MAX_TEXT:
        raise UnprocessableBody(f"the user's message: 1 to {MAX_TEXT} characters")
    return NewInput(text=text, answers=tuple(answers.values()), state=body.state)
