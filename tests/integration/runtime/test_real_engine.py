"""The example workflows on the real AG2 engine with the built-in demo model, over a real server
and real sockets: hand-offs, a Python tool, a UI tool and a human approval, through to the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mozaiks_runtime.lifespan import default_runner
from tests.integration.runtime.conftest import Runtime, base_settings, serve

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[3] / "workflows"


@pytest.fixture
async def engine_runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = base_settings(tmp_path, workflows_dir=EXAMPLES)
    async with serve(settings, runner_factory=default_runner) as rt:
        yield rt


async def test_trip_planner_end_to_end(engine_runtime: Runtime) -> None:
    rt = engine_runtime
    sock = await rt.socket("trip_planner", "c_trip")
    assert (await sock.recv())["type"] == "chat_meta"
    await sock.send({"type": "user.input.submit", "text": "A long weekend somewhere sunny"})

    form = await sock.until("chat.tool_call", awaiting_response=True, wait=30)
    assert form["data"]["component_type"] == "form"
    assert form["data"]["agent"] == "Concierge"
    assert form["data"]["payload"]["title"] == "Your trip"
    answer = {"destination": "Lisbon", "days": 3, "travellers": 2}
    await sock.send(
        {"type": "ui_tool_response", "eventId": form["data"]["corr"], "response": answer}
    )
    await sock.until("chat.ui_tool_complete", wait=30)

    estimate = await sock.until("chat.tool_response", name="estimate_trip_cost", wait=30)
    assert estimate["data"]["agent"] == "Planner" and estimate["data"]["status"] == "ok"
    approval = await sock.until("chat.input_request", agent="Booker", wait=30)
    assert approval["data"]["prompt"] == "Shall I book this trip? (yes/no)"
    await sock.send(
        {
            "type": "user.input.submit",
            "text": "yes",
            "input_request_id": approval["data"]["request_id"],
        }
    )
    booking = await sock.until("chat.tool_call", tool_name="confirm_booking", wait=30)
    assert booking["data"]["component_type"] == "confirmation"
    await sock.send(
        {"type": "ui_tool_response", "eventId": booking["data"]["corr"], "response": {"ok": True}}
    )
    complete = await sock.until("chat.run_complete", wait=30)
    assert complete["data"]["status"] == "completed"
    speakers = [f["data"]["agent"] for f in sock.of_type("chat.select_speaker")]
    assert speakers[:3] == ["Concierge", "Planner", "Booker"]
    assert all(
        "[demo model]" in f["data"]["content"]
        for f in sock.of_type("chat.text")
        if f["data"]["role"] == "assistant"
    )
    assert sock.seqs() == list(range(1, len(sock.seqs()) + 1))
    usage = sock.of_type("chat.usage_delta")
    assert usage and all(u["data"]["model_name"] == "demo" for u in usage)
    await sock.close()
    await rt.wait_idle("c_trip")
    state = (await rt.http.get("/api/sessions/c_trip", headers=rt.auth())).json()
    assert state["status"] == "completed"
    assert state["total_tokens"] == sum(u["data"]["total_tokens"] for u in usage)


async def test_hello_is_agent_driven(engine_runtime: Runtime) -> None:
    rt = engine_runtime
    sock = await rt.socket("hello", "c_hi")
    request = await sock.until("chat.input_request", wait=30)
    await sock.send(
        {
            "type": "user.input.submit",
            "text": "Ada",
            "input_request_id": request["data"]["request_id"],
        }
    )
    await sock.until("chat.run_complete", wait=30)
    greeting = [f for f in sock.of_type("chat.text") if f["data"]["agent"] == "Greeter"]
    assert greeting and "Ada" in greeting[-1]["data"]["content"]
    await sock.close()
