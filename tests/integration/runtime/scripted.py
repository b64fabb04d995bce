"""A scripted Runner (a double of OUR engine protocol, engine/base.py) for tests whose subject
is the chat service and its edges, not AG2. It speaks only through RunIO, like the real one.

Workflow `scripted`: a greeting with usage, an input request, a tool call and result, a UI tool,
then a closing message that quotes both answers. Workflow `vault`: a password question, then
an end that never repeats it. Workflow `flood`: large messages with no pause. Workflow
`stream`: numbered messages, slowly; a run continues after the last number already in its
history (so a restarted run neither repeats nor skips one).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random

from mozaiks_runtime.config import Settings
from mozaiks_runtime.engine.base import (
    ModelUsage,
    RunIO,
    RunOutcome,
    RunRequest,
    SpeakerSelected,
    TextChunk,
    TextMessage,
    ToolCall,
    ToolResult,
)

STREAM_COUNT = 30
STREAM_DELAY = 0.05
FLOOD_COUNT = 300
FLOOD_SIZE = 20_000


class ScriptedRunner:
    def __init__(self, *, stream_count: int = STREAM_COUNT, stream_delay: float = STREAM_DELAY):
        self.stream_count = stream_count
        self.stream_delay = stream_delay
        self.requests: list[RunRequest] = []

    async def run(self, request: RunRequest, io: RunIO) -> RunOutcome:
        self.requests.append(request)
        if request.workflow.name == "stream":
            return await self._stream(request, io)
        if request.workflow.name == "flood":
            return await self._flood(io)
        if request.workflow.name == "vault":
            return await self._vault(io)
        return await self._scripted(request, io)

    async def _scripted(self, request: RunRequest, io: RunIO) -> RunOutcome:
        agent = "Planner"
        await io.emit(SpeakerSelected(agent))
        await io.before_model_call(agent=agent)
        await io.emit(ModelUsage(agent, "scripted-model", 10, 5, 0.01))
        await io.emit(TextChunk(agent, "Hel"))
        await io.emit(TextMessage(agent, f"Hello! You said: {request.user_message}"))
        name = await io.request_input(agent=agent, prompt="What is your name?")
        await io.emit(ToolCall("call_1", "lookup", agent, {"name": name}))
        await io.emit(ToolResult("call_1", "lookup", agent, {"found": name.upper()}))
        answer = await io.request_ui_tool(
            agent=agent,
            tool_name="confirm",
            component_type="confirmation",
            payload={"question": f"Book it for {name}?"},
        )
        await io.emit(TextMessage(agent, f"Done, {name}: {json.dumps(dict(answer))}"))
        return RunOutcome("completed", summary="scripted done", last_agent=agent)

    async def _vault(self, io: RunIO) -> RunOutcome:
        agent = "Vault"
        await io.emit(SpeakerSelected(agent))
        pin = await io.request_input(agent=agent, prompt="Your PIN?", password=True)
        await io.emit(TextMessage(agent, f"Unlocked with {len(pin)} digits."))
        return RunOutcome("completed", summary="unlocked", last_agent=agent)

    async def _stream(self, request: RunRequest, io: RunIO) -> RunOutcome:
        agent = "Streamer"
        done = sum(1 for m in request.history if m.agent == agent)
        for n in range(done + 1, self.stream_count + 1):
            await asyncio.sleep(self.stream_delay)
            await io.emit(TextMessage(agent, f"message {n}"))
        return RunOutcome("completed", summary="streamed", last_agent=agent)

    async def _flood(self, io: RunIO) -> RunOutcome:
        """Large messages as fast as they persist: faster than a client that does not read."""
        for n in range(1, FLOOD_COUNT + 1):
            # Incompressible, or permessage-deflate would shrink it to nothing on the wire.
            noise = base64.b64encode(random.Random(n).randbytes(FLOOD_SIZE * 3 // 4)).decode()
            await io.emit(TextMessage("Flooder", f"{n}:{noise}"))
        return RunOutcome("completed", summary="flooded", last_agent="Flooder")


def build_runner(settings: Settings) -> ScriptedRunner:
    # Process tests slow the stream down to kill a replica mid-run (test-only variable).
    return ScriptedRunner(stream_delay=float(os.environ.get("SCRIPTED_STREAM_DELAY", STREAM_DELAY)))
