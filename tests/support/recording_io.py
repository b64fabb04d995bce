"""A test double of our own `RunIO`: records what a run emits and asks, answers from a script."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from mozaiks_runtime.engine.base import EngineEvent, TextChunk, TextMessage
from mozaiks_runtime.errors import BudgetExceeded, InputTimeout

E = TypeVar("E")


@dataclass
class RecordingIO:
    answers: list[str] = field(default_factory=list)  # for request_input, in order
    ui_answers: list[Mapping[str, Any]] = field(default_factory=list)  # for request_ui_tool
    model_budget: int | None = None  # BudgetExceeded once this many model calls were allowed
    answer_delay: float = 0.0  # seconds before each answer (a slow human)

    events: list[EngineEvent] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    ui_requests: list[dict[str, Any]] = field(default_factory=list)
    model_calls: list[str] = field(default_factory=list)

    async def emit(self, event: EngineEvent) -> None:
        self.events.append(event)

    async def request_input(self, *, agent: str, prompt: str, password: bool = False) -> str:
        self.inputs.append({"agent": agent, "prompt": prompt, "password": password})
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        if not self.answers:
            raise InputTimeout("nobody answered (no scripted answer left)")
        return self.answers.pop(0)

    async def request_ui_tool(
        self,
        *,
        agent: str,
        tool_name: str,
        component_type: str,
        payload: Mapping[str, Any],
        display: Literal["inline", "artifact"] = "inline",
    ) -> Mapping[str, Any]:
        self.ui_requests.append(
            {
                "agent": agent,
                "tool_name": tool_name,
                "component_type": component_type,
                "payload": dict(payload),
                "display": display,
            }
        )
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        if not self.ui_answers:
            raise InputTimeout("nobody answered the UI tool (no scripted answer left)")
        return self.ui_answers.pop(0)

    async def before_model_call(self, *, agent: str) -> None:
        if self.model_budget is not None and len(self.model_calls) >= self.model_budget:
            raise BudgetExceeded("no tokens left for this chat")
        self.model_calls.append(agent)

    # ── reading ─────────────────────────────────────────────────────────────

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def kinds(self, *, chunks: bool = False) -> list[str]:
        return [e.kind for e in self.events if chunks or not isinstance(e, TextChunk)]

    def texts(self, agent: str | None = None) -> list[str]:
        return [m.content for m in self.of(TextMessage) if agent is None or m.agent == agent]

    def speakers(self) -> list[str]:
        return [e.agent for e in self.events if e.kind == "chat.select_speaker"]
