"""Routes each validated client message to a ChatService call and replies on the same socket."""

from __future__ import annotations

from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.chats import events
from mozaiks_runtime.chats.service import ChatService
from mozaiks_runtime.errors import NotFound
from mozaiks_runtime.tracing.context import traceparent
from mozaiks_runtime.wire.events import (
    EmptyData,
    MessageQueuedData,
    UiToolAckData,
    WorkflowStartedData,
)
from mozaiks_runtime.ws.connection import Connection
from mozaiks_runtime.ws.messages import (
    CancelRun,
    ClientResume,
    Ping,
    Pong,
    StartWorkflow,
    UiToolResponse,
    UpgradeWorkflow,
    UserInputSubmit,
    parse_client,
)


class Dispatcher:
    def __init__(self, connection: Connection, service: ChatService, identity: Identity) -> None:
        self._conn = connection
        self._service = service
        self._identity = identity

    async def handle(self, text: str) -> None:
        """Parse and act on one frame; raises a MozaiksError the connection reports."""
        message = parse_client(text)
        conn = self._conn
        if message.traceparent is not None:  # from now on, the runs it starts continue it
            conn.trace_parent = traceparent(message.traceparent)
        match message:
            case UserInputSubmit():
                self._same_chat(message.chat_id)
                position = await self._service.submit_input(
                    self._identity,
                    conn.chat,
                    text=message.text,
                    request_id=message.input_request_id,
                    context=message.context,
                    trace_parent=conn.trace_parent,
                )
                if position is not None:
                    workflow = await self._service.workflow_of(conn.chat)
                    queued = MessageQueuedData(position=position, policy=workflow.on_new_message)
                    await conn.send(
                        events.transient(events.MESSAGE_QUEUED, queued, chat_id=conn.chat.chat_id)
                    )
            case UiToolResponse():
                await self._service.answer_ui_tool(
                    self._identity,
                    event_id=message.eventId,
                    response=message.response,
                    chat=conn.chat,
                    trace_parent=conn.trace_parent,
                )
                ack = UiToolAckData(eventId=message.eventId, status="accepted")
                await conn.send(
                    events.transient(events.ACK_UI_TOOL, ack, chat_id=conn.chat.chat_id)
                )
            case ClientResume():
                self._same_chat(message.chat_id)
                await conn.resume(message.after)
            case CancelRun():
                self._same_chat(message.chat_id)
                chat_id = conn.chat.chat_id
                await self._service.cancel(self._identity, chat_id, reason=message.reason or "")
            case UpgradeWorkflow():
                self._same_chat(message.chat_id)
                conn.chat, _ = await self._service.upgrade(self._identity, conn.chat.chat_id)
            case StartWorkflow():
                await self._start_workflow(message)
            case Ping():
                await conn.send(
                    events.transient(events.PONG, EmptyData(), chat_id=conn.chat.chat_id)
                )
            case Pong():
                pass

    def _same_chat(self, chat_id: str | None) -> None:
        """A socket acts on its own chat only; another id is treated as unknown."""
        if chat_id is not None and chat_id != self._conn.chat.chat_id:
            raise NotFound("chat not found")

    async def _start_workflow(self, message: StartWorkflow) -> None:
        chat, _ = await self._service.open_chat(
            self._identity, workflow_name=message.workflow_name, context=message.frontend_context
        )
        await self._conn.switch_chat(chat)
        started = WorkflowStartedData(
            chat_id=chat.chat_id,
            workflow_name=chat.workflow_name,
            app_id=chat.app_id,
            user_id=chat.user_id,
        )
        await self._conn.send(
            events.transient(events.WORKFLOW_STARTED, started, chat_id=chat.chat_id)
        )
        parent = self._conn.trace_parent
        if message.initial_message:
            await self._service.submit_input(
                self._identity, chat, text=message.initial_message, trace_parent=parent
            )
        else:
            await self._service.on_connect(chat, trace_parent=parent)
