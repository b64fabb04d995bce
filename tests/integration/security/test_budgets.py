"""Token budgets on a real server. The stop-at-the-boundary case runs the real AG2 engine against
the fake OpenAI-compatible server, so the engine's own before-model-call hook is what stops it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mozaiks_runtime.lifespan import default_runner
from tests.integration.runtime.conftest import Runtime, base_settings, serve
from tests.support.fake_llm import FakeLLM, Reply

pytestmark = pytest.mark.integration

WORKFLOWS = Path(__file__).parent / "workflows"


async def new_chat(rt: Runtime, user: str, workflow: str) -> tuple[int, dict[str, str]]:
    response = await rt.http.post(
        "/api/sessions", json={"workflow_name": workflow}, headers=rt.auth(user)
    )
    return response.status_code, response.json()


async def test_user_budget_stops_a_run_at_the_next_model_call_then_refuses_new_runs(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply.say("first answer", usage=(100, 50)), Reply.say("never sent"))
    settings = base_settings(
        tmp_path,
        workflows_dir=WORKFLOWS,
        llm_base_url=fake_llm.url,
        llm_api_key="test-key",
        llm_model=fake_llm.model,
        budget_user_daily_tokens=100,
        price_table={"fake": {"prompt": 1.0, "completion": 2.0}},  # per 1,000; prefix match
    )
    async with serve(settings, runner_factory=default_runner) as rt:
        status, body = await new_chat(rt, "alice", "relay")
        assert status == 201
        chat_id = body["chat_id"]
        sock = await rt.socket("relay", chat_id)
        await sock.until("chat_meta")
        await sock.send({"type": "user.input.submit", "chat_id": chat_id, "text": "go"})

        # The first agent's call is under budget (0 used) and spends 150 tokens; the second
        # agent's call is the next boundary, where the run stops and says why.
        error = await sock.until("chat.error", wait=30)
        assert error["data"]["error_code"] == "BUDGET_EXCEEDED"
        assert "daily token budget (100 tokens)" in error["data"]["message"]
        complete = await sock.until("chat.run_complete")
        assert complete["data"]["status"] == "stopped"
        assert complete["data"]["total_tokens"] == 150
        assert len(fake_llm.requests) == 1
        spoken = [
            f["data"]["agent"] for f in sock.of_type("chat.text") if f["data"]["role"] != "user"
        ]
        assert spoken == ["First"]
        (delta,) = sock.of_type("chat.usage_delta")
        assert delta["data"]["cost"] == pytest.approx(0.2)  # (100 * 1 + 50 * 2) / 1000
        (summary,) = sock.of_type("chat.usage_summary")
        assert summary["data"]["by_model"][fake_llm.model]["total_tokens"] == 150
        assert summary["data"]["cost"] == pytest.approx(0.2)
        await rt.wait_idle(chat_id)

        # A new run in the same chat is refused up front: an error, no run, no model call.
        seen = len(sock.frames)
        await sock.send({"type": "user.input.submit", "chat_id": chat_id, "text": "again"})
        refused = await sock.until("chat.error")
        assert refused["data"]["error_code"] == "BUDGET_EXCEEDED"
        assert [f["type"] for f in sock.frames[seen:]] == ["chat.error"]
        assert len(fake_llm.requests) == 1

        # Over HTTP: a new chat is a 429 with the reason; eligibility says so too.
        status, body = await new_chat(rt, "alice", "relay")
        assert status == 429 and body["error_code"] == "BUDGET_EXCEEDED"
        eligible = await rt.http.get("/api/workflows/relay/eligible", headers=rt.auth("alice"))
        assert eligible.json()["eligible"] is False
        # Another user's daily budget is untouched.
        status, _ = await new_chat(rt, "bob", "relay")
        assert status == 201
        usage = await rt.http.get("/api/usage?group_by=model", headers=rt.auth("alice"))
        assert [(g["key"], g["total_tokens"], g["cost"]) for g in usage.json()["groups"]] == [
            (fake_llm.model, 150, pytest.approx(0.2))
        ]
        await sock.close()


async def test_tenant_budget_refuses_every_user_once_spent(tmp_path: Path) -> None:
    async with serve(base_settings(tmp_path, budget_tenant_monthly_tokens=15)) as rt:
        status, body = await new_chat(rt, "alice", "scripted")
        chat_id = body["chat_id"]
        sock = await rt.socket("scripted", chat_id)
        await sock.send({"type": "user.input.submit", "chat_id": chat_id, "text": "hi"})
        await sock.until("chat.input_request")  # the scripted run spent its 15 tokens
        for user in ("alice", "bob"):
            status, body = await new_chat(rt, user, "scripted")
            assert (status, body["error_code"]) == (429, "BUDGET_EXCEEDED"), user
            assert "monthly token budget" in body["detail"]
        await sock.close()
