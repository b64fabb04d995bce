"""The model gate: an AG2 middleware that asks the chat before every model call whether it may
call the model (`RunIO.before_model_call`; raising stops the run) and times the call into the
turn's record (see run.py, step 3)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ag2.events import BaseEvent
from ag2.middleware import BaseMiddleware
from ag2.middleware.base import LLMCall

if TYPE_CHECKING:
    from ag2 import Context
    from ag2.events import ModelResponse

    from mozaiks_runtime.engine.base import RunIO


@dataclass(slots=True)
class TurnRecord:
    """What one agent turn did: its texts, the tools it called, its last model call's time."""

    texts: list[str] = field(default_factory=list)
    tools_called: list[str] = field(default_factory=list)
    model_seconds: float = 0.0


class ModelGate(BaseMiddleware):
    """Before every model call: ask the chat whether it may call the model; time the call."""

    def __init__(
        self, event: BaseEvent, context: Context, *, io: RunIO, agent: str, record: TurnRecord
    ) -> None:
        super().__init__(event, context)
        self._io = io
        self._agent = agent
        self._record = record

    async def on_llm_call(self, call_next: LLMCall, events: Any, context: Context) -> ModelResponse:
        await self._io.before_model_call(agent=self._agent)
        started = time.perf_counter()
        try:
            return await call_next(events, context)
        finally:
            self._record.model_seconds = time.perf_counter() - started
