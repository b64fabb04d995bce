"""A chat's log as AG-UI messages, for a MESSAGES_SNAPSHOT to a client that holds none of it
(a thread opened in a new tab, a chat started in the widget). Pure.

The ids are the ones the live stream uses (`{chat_id}:{seq}` for messages, the call or request
id for tool calls), so a client that later receives events of the same chat does not duplicate
anything. An answered question becomes the tool message that answered it: a human-input answer
with the user's text (empty for a password), a UI tool's with its status (the log keeps a UI
tool's answer out of the conversation).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ag_ui.core import (
    AssistantMessage,
    FunctionCall,
    Message,
    ToolCall,
    ToolMessage,
    UserMessage,
)

from mozaiks_runtime.agui.translate import HUMAN_INPUT_TOOL, message_id
from mozaiks_runtime.chats import events
from mozaiks_runtime.storage.base import StoredEvent


def _call(call_id: str, name: str, arguments: Any) -> AssistantMessage:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    call = ToolCall(id=call_id, function=FunctionCall(name=name, arguments=text))
    return AssistantMessage(id=call_id, tool_calls=[call])


def _result(
    event: StoredEvent, call_id: str, content: Any, error: str | None = None
) -> ToolMessage:
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return ToolMessage(id=message_id(event), tool_call_id=call_id, content=text, error=error)


def history_messages(log: Iterable[StoredEvent]) -> list[Message]:
    out: list[Message] = []
    ack: ToolMessage | None = None  # an input answer, whose text is the next event
    for event in log:
        data = event.data
        answered, ack = ack, None
        match event.type:
            case events.TEXT if data.get("role") == "user":
                if answered is not None:
                    answered.content = str(data.get("content", ""))
                else:
                    out.append(UserMessage(id=message_id(event), content=data.get("content", "")))
            case events.TEXT if data.get("visible", True):
                name = str(data.get("agent", "")) or None
                content = str(data.get("content", ""))
                out.append(AssistantMessage(id=message_id(event), content=content, name=name))
            case events.TOOL_CALL if data.get("awaiting_response"):
                out.append(_call(str(data["corr"]), str(data["tool_name"]), data.get("payload")))
            case events.TOOL_CALL:
                out.append(_call(str(data["call_id"]), str(data["name"]), data.get("arguments")))
            case events.TOOL_RESPONSE:
                out.append(_result(event, str(data["call_id"]), data.get("result")))
            case events.INPUT_REQUEST:
                args = {"prompt": data.get("prompt", ""), "password": bool(data.get("password"))}
                out.append(_call(str(data["request_id"]), HUMAN_INPUT_TOOL, args))
            case events.INPUT_ACK:
                ack = _result(event, str(data.get("request_id")), "")
                out.append(ack)
            case events.INPUT_TIMEOUT:
                rid = str(data.get("request_id"))
                out.append(_result(event, rid, "", error="nobody answered in time"))
            case events.UI_TOOL_COMPLETE | events.UI_TOOL_DISMISS:
                status = {"status": data.get("status")}
                out.append(_result(event, str(data.get("eventId")), status))
    return out
