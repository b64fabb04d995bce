"""What a run sees of its chat (engine.base.RunIO): events go to the journal, questions become
pending requests that the chat's user answers over the socket or HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from mozaiks_runtime.chats import events
from mozaiks_runtime.chats.events import Frame, RunScope
from mozaiks_runtime.chats.journal import Journal
from mozaiks_runtime.chats.pending import PendingRequests
from mozaiks_runtime.engine.base import EngineEvent, ModelUsage
from mozaiks_runtime.errors import InputTimeout
from mozaiks_runtime.refs import ChatRef
from mozaiks_runtime.storage.base import ChatStatus, NewEvent, UsageRecord
from mozaiks_runtime.usage.accounting import RunUsage, usage_delta_data
from mozaiks_runtime.wire import events as wire


class UsageSink(Protocol):
    """usage/accounting.py's Accountant: prices, stores and counts (metrics) one model call."""

    async def record(
        self, *, chat_id: str, app_id: str, user_id: str, workflow_name: str, usage: ModelUsage
    ) -> UsageRecord: ...


class BudgetCheck(Protocol):
    """usage/budgets.py's BudgetGuard: raises BudgetExceeded when no tokens are left."""

    async def check(self, *, app_id: str, user_id: str) -> None: ...


@dataclass(slots=True)
class RunPorts:
    """The collaborators of a run, wired once in the lifespan."""

    journal: Journal
    pending: PendingRequests
    usage: UsageSink
    budget: BudgetCheck | None
    input_timeout_seconds: float
    ui_tool_timeout_seconds: float


@dataclass(slots=True)
class ChatRunIO:
    scope: RunScope
    ports: RunPorts
    set_status: Callable[[ChatStatus], Awaitable[None]]
    add_tokens: Callable[[int], Awaitable[None]]
    tally: RunUsage = field(default_factory=RunUsage)  # this run's calls, for usage_summary
    ref: ChatRef = field(init=False)  # built once: the journal's key for every event of the run

    def __post_init__(self) -> None:
        self.ref = ChatRef(self.scope.app_id, self.scope.chat_id)

    async def _append(self, *new: NewEvent) -> None:
        await self.ports.journal.append(self.ref, new)

    async def emit(self, event: EngineEvent) -> None:
        if isinstance(event, ModelUsage):
            await self.ports.journal.emit(self.ref, await self._account(event))
            return
        out = events.from_engine(event, self.scope)
        if isinstance(out, Frame):
            self.ports.journal.publish(self.ref, out)
        else:
            # Queued, not awaited: the run goes on while the journal stores and sends in order.
            await self.ports.journal.emit(self.ref, out)

    async def _account(self, usage: ModelUsage) -> NewEvent:
        """Record the call (the accountant also counts it in the metrics) and describe it."""
        scope = self.scope
        record = await self.ports.usage.record(
            chat_id=scope.chat_id,
            app_id=scope.app_id,
            user_id=scope.user_id,
            workflow_name=scope.workflow_name,
            usage=usage,
        )
        self.tally.add(record)
        await self.add_tokens(record.total_tokens)
        return events.event(events.USAGE_DELTA, usage_delta_data(record))

    async def request_input(self, *, agent: str, prompt: str, password: bool = False) -> str:
        scope = self.scope
        request = await self.ports.pending.open(
            app_id=scope.app_id,
            chat_id=scope.chat_id,
            user_id=scope.user_id,
            kind="input",
            agent=agent,
            payload={"prompt": prompt, "password": password},
            timeout_seconds=self.ports.input_timeout_seconds,
        )
        rid = request.request_id
        await self.set_status("waiting")  # stored before the user can see the question
        await self._append(
            events.event(
                events.INPUT_REQUEST,
                wire.InputRequestData(
                    request_id=rid, agent=agent, prompt=prompt, password=password
                ),
            )
        )
        try:
            answer = await self.ports.pending.wait(request)
        except InputTimeout:
            await self._append(
                events.event(events.INPUT_TIMEOUT, wire.RequestIdData(request_id=rid))
            )
            raise
        text = str(answer)
        await self.set_status("running")
        await self._append(*accepted_input(rid, text, password=password))
        if password:  # kept in the store only for the run to take (on any replica)
            await self.ports.pending.forget_answer(request)
        return text

    async def request_ui_tool(
        self,
        *,
        agent: str,
        tool_name: str,
        component_type: str,
        payload: Mapping[str, Any],
        display: Literal["inline", "artifact"] = "inline",
    ) -> Mapping[str, Any]:
        scope = self.scope
        request = await self.ports.pending.open(
            app_id=scope.app_id,
            chat_id=scope.chat_id,
            user_id=scope.user_id,
            kind="ui_tool",
            agent=agent,
            payload={"tool_name": tool_name, "component_type": component_type},
            timeout_seconds=self.ports.ui_tool_timeout_seconds,
        )
        eid = request.request_id
        await self.set_status("waiting")
        await self._append(
            events.event(
                events.TOOL_CALL,
                wire.ToolCallData(
                    agent=agent,
                    tool_name=tool_name,
                    component_type=component_type,
                    awaiting_response=True,
                    payload=dict(payload),
                    corr=eid,
                    display=display,
                ),
            )
        )
        try:
            answer = await self.ports.pending.wait(request)
        except InputTimeout:
            await self._append(ui_tool_done(eid, tool_name, status="timeout"))
            raise
        await self.set_status("running")
        await self._append(ui_tool_done(eid, tool_name, status="completed"))
        return answer if isinstance(answer, Mapping) else {"value": answer}

    async def before_model_call(self, *, agent: str) -> None:
        if self.ports.budget is not None:
            await self.ports.budget.check(app_id=self.scope.app_id, user_id=self.scope.user_id)


def accepted_input(request_id: str, text: str, *, password: bool) -> list[NewEvent]:
    """The ack of an answered input request and, unless it was a password, the user's message."""
    ack = events.event(
        events.INPUT_ACK,
        wire.InputAckData(request_id=request_id, input_request_id=request_id, status="accepted"),
    )
    if password:
        return [ack]
    return [
        ack,
        events.event(events.TEXT, events.text_data(agent="user", content=text, role="user")),
    ]


def ui_tool_done(event_id: str, tool_name: str, *, status: str) -> NewEvent:
    kind = events.UI_TOOL_COMPLETE if status == "completed" else events.UI_TOOL_DISMISS
    return events.event(
        kind, wire.UiToolDoneData(eventId=event_id, ui_tool_id=tool_name, status=status)
    )
