"""Record the AG2 stream events of real agent turns, for the translate tests.

    python -m tests.support.record_ag2_events   # rewrites tests/fixtures/ag2_events/*.json

Each scenario runs one `ag2.Agent` turn against the fake OpenAI-compatible server (so the events
come from AG2's real OpenAI client) and saves every event the stream carried, in order, in AG2's
own serialised form. Re-record after upgrading ag2; the translate tests then show what changed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ag2 import Agent
from ag2.config.openai import OpenAIConfig
from ag2.events import BaseEvent
from ag2.events._serialization import deserialize_value, serialize_value
from ag2.stream import MemoryStream
from ag2.tools import tool

from mozaiks_runtime.engine.example_tools import estimate_trip_cost
from tests.support.fake_llm import FakeLLM, Reply

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ag2_events"


def broken_lookup(city: str) -> str:
    """A tool that always fails."""
    raise ValueError(f"no data for {city}")


SCENARIOS: dict[str, tuple[bool, list[Reply]]] = {
    # streaming, replies
    "streamed_tool_turn": (
        True,
        [
            Reply.tool("estimate_trip_cost", {"destination": "Lisbon", "days": 2}, usage=(50, 12)),
            Reply.tool("broken_lookup", {"city": "Atlantis"}, usage=(70, 9)),
            Reply.say("Two days in Lisbon cost 400 EUR.", usage=(90, 11), chunks=4),
        ],
    ),
    "plain_text_turn": (False, [Reply.say("Hello there!", usage=(21, 4))]),
}


async def record(fake: FakeLLM, streaming: bool, replies: list[Reply]) -> list[dict[str, Any]]:
    fake.reset()
    fake.script(*replies)
    config = OpenAIConfig(
        model="fake-model", api_key="k", base_url=fake.url, streaming=streaming, max_retries=0
    )
    agent: Agent[Any] = Agent("Planner", prompt="You plan trips.", config=config)
    stream = MemoryStream()
    seen: list[BaseEvent] = []

    async def keep(event: BaseEvent) -> None:
        seen.append(event)

    stream.subscribe(keep)
    tools = [tool(estimate_trip_cost), tool(broken_lookup)]
    async with agent.run("Plan two days in Lisbon.", stream=stream, tools=tools) as turn:
        await turn.result()
    return [_scrub(serialize_value(e)) for e in seen]


def _scrub(value: Any) -> Any:
    """Tracebacks name this machine's paths: keep only their last line."""
    if isinstance(value, str) and value.startswith("Traceback"):
        return "Traceback (most recent call last): ...\n" + value.strip().splitlines()[-1]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def load(name: str) -> list[BaseEvent]:
    """The recorded events of one scenario, as AG2 event objects."""
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return [deserialize_value(item) for item in data]


async def _main(write: Callable[[str, list[dict[str, Any]]], None]) -> None:
    fake = FakeLLM()
    fake.start()
    try:
        for name, (streaming, replies) in SCENARIOS.items():
            write(name, await record(fake, streaming, replies))
    finally:
        fake.stop()


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)

    def write(name: str, events: list[dict[str, Any]]) -> None:
        path = FIXTURES / f"{name}.json"
        path.write_text(json.dumps(events, indent=1) + "\n", encoding="utf-8")

    asyncio.run(_main(write))


if __name__ == "__main__":
    main()
