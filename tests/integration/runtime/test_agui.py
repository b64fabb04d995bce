"""AG-UI over a real server: a client built from the published protocol package
(tests/support/agui.py) runs threads against the scripted workflow and, with the real AG2 engine
and the demo model, the multi-agent trip planner; answers questions as tool results; resumes
chats across transports; and gets a clear JSON error for every kind of bad input."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from ag_ui.core import EventType, UserMessage

from mozaiks_runtime.config import Settings
from mozaiks_runtime.lifespan import default_runner
from mozaiks_runtime.refs import ChatRef
from tests.integration.runtime.conftest import APP, WORKFLOWS, Runtime, base_settings, serve
from tests.support.agui import Thread, of_type, parse_sse, pending, tool_call
from tests.support.fake_llm import FakeLLM, Reply

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[3] / "workflows"


def thread(rt: Runtime, workflow: str = "scripted", user: str = "alice", **kw: str) -> Thread:
    chat = kw.get("chat_id")
    path = f"/api/agui/{workflow}" + (f"/{chat}" if chat else "")
    return Thread(rt.http, path, rt.auth(user))


async def events_of(rt: Runtime, chat_id: str, user: str = "alice") -> list[dict[str, object]]:
    page = await rt.http.get(f"/api/sessions/{chat_id}/events?limit=1000", headers=rt.auth(user))
    assert page.status_code == 200, page.text
    found: list[dict[str, object]] = page.json()["events"]
    return found


async def open_questions(rt: Runtime, chat_id: str) -> list[dict[str, object]]:
    state = await rt.http.get(f"/api/sessions/{chat_id}", headers=rt.auth())
    found: list[dict[str, object]] = state.json()["pending"]
    return found


async def test_a_scripted_thread_round_trip(runtime: Runtime) -> None:
    rt = runtime  # on SQLite and on FerretDB
    t = thread(rt)
    first = await t.say("hi")
    assert of_type(first, EventType.RUN_STARTED)[0]["thread_id"] == t.thread_id
    assert of_type(first, EventType.STEP_STARTED)[0]["step_name"] == "Planner"
    assert [m.content for m in t.messages[1:2]] == ["Hello! You said: hi"]
    (ask,) = pending(first)
    name, args, meta = tool_call(first, ask)
    assert name == "human_input" and args == {"prompt": "What is your name?", "password": False}
    assert meta == {"mozaiks": {"agent": "Planner", "kind": "human_input"}}

    second = await t.answer(ask, "Ada")
    result = of_type(second, EventType.TOOL_CALL_RESULT)[0]
    assert result["tool_call_id"] == "call_1" and result["content"] == '{"found": "ADA"}'
    (ui,) = pending(second)
    name, args, meta = tool_call(second, ui)
    assert (name, args) == ("confirm", {"question": "Book it for Ada?"})
    assert meta["mozaiks"]["kind"] == "ui_tool"

    third = await t.answer(ui, {"ok": True})
    assert t.messages[-1].content == 'Done, Ada: {"ok": true}'
    end = of_type(third, EventType.RUN_FINISHED)[0]
    assert end["outcome"] == {"type": "success"} and "usage" not in end
    # Each AG-UI run reports the model calls it streamed (here: one, in the first).
    assert of_type(first, EventType.RUN_FINISHED)[0]["usage"] == [
        {"model": "scripted-model", "input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    ]

    # The thread is a chat like any other: the same log, the answers recorded in it.
    await rt.wait_idle(t.thread_id)
    state = (await rt.http.get(f"/api/sessions/{t.thread_id}", headers=rt.auth())).json()
    assert state["status"] == "completed" and state["workflow_name"] == "scripted"
    log = await events_of(rt, t.thread_id)
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    kinds = [e["type"] for e in log]
    assert kinds.count("chat.input_ack") == 1 and kinds.count("chat.ui_tool_complete") == 1
    assert kinds[-1] == "chat.run_complete"
    said = [e["data"]["content"] for e in log if e["type"] == "chat.text"]
    assert said[:3] == ["hi", "Hello! You said: hi", "Ada"]

    # The client's next run sends the whole history again: nothing in it is new.
    again = await t.run()
    assert [e.type for e in again] == [
        EventType.RUN_STARTED,
        EventType.STATE_SNAPSHOT,
        EventType.RUN_FINISHED,
    ]
    assert len(await events_of(rt, t.thread_id)) == len(log)


async def test_the_trip_planner_over_agui_with_the_real_engine(tmp_path: Path) -> None:
    settings = base_settings(tmp_path, workflows_dir=EXAMPLES)
    async with serve(settings, runner_factory=default_runner) as rt:
        t = thread(rt, "trip_planner")
        first = await t.say("A long weekend somewhere sunny")
        assert of_type(first, EventType.STATE_SNAPSHOT)[0]["snapshot"] == {"currency": "EUR"}
        (form,) = pending(first)
        name, args, meta = tool_call(first, form)
        assert name == "collect_trip_details" and args["title"] == "Your trip"
        assert meta["mozaiks"]["component_type"] == "form"

        second = await t.answer(form, {"destination": "Lisbon", "days": 3, "travellers": 2})
        assert [s["step_name"] for s in of_type(first, EventType.STEP_STARTED)] == ["Concierge"]
        # Each agent's turn is a step; the Concierge's goes on after the form's answer.
        steps = [s["step_name"] for s in of_type(second, EventType.STEP_STARTED)]
        assert steps[:3] == ["Concierge", "Planner", "Booker"]
        results = of_type(second, EventType.TOOL_CALL_RESULT)
        starts = {s["tool_call_id"]: s for s in of_type(second, EventType.TOOL_CALL_START)}
        estimate = [
            r
            for r in results
            if starts[r["tool_call_id"]]["tool_call_name"] == "estimate_trip_cost"
        ]
        assert estimate and "Lisbon" in estimate[0]["content"]
        (approval,) = pending(second)
        name, args, _ = tool_call(second, approval)
        assert (name, args["prompt"]) == ("human_input", "Shall I book this trip? (yes/no)")

        third = await t.answer(approval, "yes")
        (booking,) = pending(third)
        assert tool_call(third, booking)[0] == "confirm_booking"

        last = await t.answer(booking, {"ok": True})
        assert of_type(last, EventType.RUN_FINISHED)[0]["outcome"] == {"type": "success"}
        delta = {op["path"]: op for op in of_type(last, EventType.STATE_DELTA)[0]["delta"]}
        assert delta["/trip"]["value"]["destination"] == "Lisbon"
        assert delta["/approval"]["value"] == "yes"
        texts = [m for run in t.runs for m in of_type(run, EventType.TEXT_MESSAGE_CONTENT)]
        assert texts and all("[demo model]" in m["delta"] for m in texts)
        await rt.wait_idle(t.thread_id)
        state = (await rt.http.get(f"/api/sessions/{t.thread_id}", headers=rt.auth())).json()
        assert state["status"] == "completed" and state["total_tokens"] > 0


async def test_a_chat_started_over_agui_goes_on_over_the_websocket(runtime: Runtime) -> None:
    rt = runtime  # on SQLite and on FerretDB
    t = thread(rt)
    (ask,) = pending(await t.say("hi"))
    sock = await rt.socket("scripted", t.thread_id)
    request = await sock.until("chat.input_request")  # the replay shows the open question
    assert request["data"]["request_id"] == ask
    await sock.send({"type": "user.input.submit", "text": "Bob", "input_request_id": ask})
    ui = await sock.until("chat.tool_call", awaiting_response=True)
    await sock.send({"type": "ui_tool_response", "eventId": ui["data"]["corr"], "response": {}})
    done = await sock.until("chat.run_complete")
    assert done["data"]["status"] == "completed"
    assert sock.seqs() == list(range(1, len(sock.seqs()) + 1))
    assert [f["data"]["content"] for f in sock.of_type("chat.text")][:2] == [
        "hi",
        "Hello! You said: hi",
    ]
    await sock.close()


async def test_a_chat_started_over_the_websocket_goes_on_over_agui(runtime: Runtime) -> None:
    rt = runtime  # on SQLite and on FerretDB
    sock = await rt.socket("scripted", "c_ws")
    await sock.send({"type": "user.input.submit", "text": "hello"})
    asked = await sock.until("chat.input_request")
    await sock.close()

    # The per-chat route: the client's own thread id, the chat's id in the path. A client
    # with no messages gets the chat's as a snapshot, and what the chat waits for.
    t = thread(rt, chat_id="c_ws")
    first = await t.run()
    rid = asked["data"]["request_id"]
    assert pending(first) == [rid]
    assert of_type(first, EventType.RUN_FINISHED)[0]["thread_id"] == t.thread_id
    assert not of_type(first, EventType.TOOL_CALL_START)  # the snapshot holds the question
    (snapshot,) = of_type(first, EventType.MESSAGES_SNAPSHOT)
    shown = [(m["role"], m.get("content"), m.get("tool_calls")) for m in snapshot["messages"]]
    assert shown[:2] == [("user", "hello", None), ("assistant", "Hello! You said: hello", None)]
    role, _, calls = shown[2]
    assert role == "assistant" and calls[0]["id"] == rid
    assert calls[0]["function"]["name"] == "human_input"
    (ui,) = pending(await t.answer(rid, "Cy"))
    last = await t.answer(ui, "sure")  # a plain-text result: the UI tool gets {"value": ...}
    assert t.messages[-1].content == 'Done, Cy: {"value": "sure"}'
    assert of_type(last, EventType.RUN_FINISHED)[0]["outcome"] == {"type": "success"}
    # Both transports wrote one log.
    log = await events_of(rt, "c_ws")
    said = [e["data"]["content"] for e in log if e["type"] == "chat.text"]
    assert said == ["hello", "Hello! You said: hello", "Cy", 'Done, Cy: {"value": "sure"}']


async def test_a_run_goes_on_when_the_agui_client_disconnects(sqlite_runtime: Runtime) -> None:
    rt = sqlite_runtime
    t = thread(rt, "stream")  # agent-driven: an input with nothing new starts it
    async with rt.http.stream("POST", t.path, json=t.body(), headers=t.headers) as response:
        assert response.status_code == 200
        seen = ""
        async for chunk in response.aiter_text():
            seen += chunk
            if "message 3" in seen:
                break  # and the connection closes
    await rt.wait_idle(t.thread_id)
    log = await events_of(rt, t.thread_id)
    said = [e["data"]["content"] for e in log if e["type"] == "chat.text"]
    assert said == [f"message {n}" for n in range(1, 31)]
    assert log[-1]["type"] == "chat.run_complete"
    # Coming back with no messages: the chat's as a snapshot, and no run.
    again = await t.run()
    assert [e.type for e in again] == [
        EventType.RUN_STARTED,
        EventType.STATE_SNAPSHOT,
        EventType.MESSAGES_SNAPSHOT,
        EventType.RUN_FINISHED,
    ]
    assert [m.content for m in t.messages] == [f"message {n}" for n in range(1, 31)]


async def test_an_agui_client_attaches_to_a_run_in_progress(sqlite_runtime: Runtime) -> None:
    rt = sqlite_runtime
    sock = await rt.socket("stream", "c_live")  # agent-driven: the socket starts the run
    await sock.until("chat.text")
    t = thread(rt, "stream", chat_id="c_live")
    events = await t.run()
    said = [e["delta"] for e in of_type(events, EventType.TEXT_MESSAGE_CONTENT)]
    assert said and said[-1] == "message 30"  # followed to the end of the run
    (snapshot,) = of_type(events, EventType.MESSAGES_SNAPSHOT)
    before = [m["content"] for m in snapshot["messages"]]
    # What the chat said before the client came, then what it said since: each once.
    assert before + said == [f"message {n}" for n in range(1, 31)]
    await sock.until("chat.run_complete")
    await sock.close()


async def test_the_budget_refuses_new_agui_threads_and_runs(tmp_path: Path) -> None:
    async with serve(base_settings(tmp_path, budget_tenant_monthly_tokens=15)) as rt:
        t = thread(rt)
        (ask,) = pending(await t.say("hi"))  # spends the 15 tokens, then asks
        other = thread(rt, user="bob")
        other.messages.append(UserMessage(id="u_1", content="hello"))
        refused = await other.post(other.body())
        assert (refused.status_code, refused.json()["error_code"]) == (429, "BUDGET_EXCEEDED")
        # Answers to a waiting run pass (as on the socket); the next run does not.
        (ui,) = pending(await t.answer(ask, "Ada"))
        await t.answer(ui, {"ok": True})
        t.messages.append(UserMessage(id="u_2", content="once more"))
        refused = await t.post(t.body())
        assert (refused.status_code, refused.json()["error_code"]) == (429, "BUDGET_EXCEEDED")
        assert "monthly token budget" in refused.json()["detail"]


BAD_BODIES = {
    "not JSON": "{",
    "no threadId": {"runId": "r", "messages": []},
    "messages not a list": {"threadId": "t", "runId": "r", "messages": {"role": "user"}},
    "unknown role": {
        "threadId": "t",
        "runId": "r",
        "messages": [{"id": "m", "role": "wizard", "content": "x"}],
    },
    "tool message without toolCallId": {
        "threadId": "t",
        "runId": "r",
        "messages": [{"id": "m", "role": "tool", "content": "x"}],
    },
    "state not an object": {"threadId": "t", "runId": "r", "messages": [], "state": [1]},
    "empty user message": {
        "threadId": "t",
        "runId": "r",
        "messages": [{"id": "m", "role": "user", "content": ""}],
    },
    "thread id too long": {"threadId": "t" * 129, "runId": "r", "messages": []},
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_a_body_that_is_not_a_run_agent_input_is_422(
    sqlite_runtime: Runtime, case: str
) -> None:
    rt = sqlite_runtime
    bad = BAD_BODIES[case]
    headers = {**rt.auth(), "Content-Type": "application/json"}
    content = bad if isinstance(bad, str) else json.dumps(bad)
    response = await rt.http.post("/api/agui/scripted", content=content, headers=headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_code"] == "SCHEMA_VALIDATION_FAILED"
    assert isinstance(body["detail"], str) and body["detail"]
    listed = (await rt.http.get("/api/sessions", headers=rt.auth())).json()["sessions"]
    assert listed == []  # nothing was created


async def test_refusals_are_clear_json_errors(sqlite_runtime: Runtime) -> None:
    rt = sqlite_runtime
    alice = thread(rt)
    (ask,) = pending(await alice.say("hi"))
    bob = thread(rt, user="bob")
    (bobs_ask,) = pending(await bob.say("hi"))
    before = len(await events_of(rt, alice.thread_id))

    async def refused(t: Thread, body: dict[str, object], status: int, code: str) -> None:
        response = await t.post(body)
        assert (response.status_code, response.json().get("error_code")) == (status, code), (
            response.text
        )
        assert response.headers["content-type"] == "application/json"

    # No token, or a token of another tenant.
    for headers in ({}, rt.auth(app="other-app")):
        await refused(
            Thread(rt.http, "/api/agui/scripted", headers), alice.body(), 401, "UNAUTHORIZED"
        )
    # An unknown workflow, on either route.
    await refused(thread(rt, "nope"), thread(rt, "nope").body(), 404, "WORKFLOW_NOT_FOUND")
    await refused(thread(rt, "nope", chat_id=alice.thread_id), alice.body(), 404, "NOT_FOUND")
    # Someone else's thread, or chat: as if it did not exist.
    intruder = thread(rt, user="bob")
    intruder.thread_id = alice.thread_id
    await refused(intruder, intruder.body(), 404, "NOT_FOUND")
    await refused(thread(rt, user="bob", chat_id=alice.thread_id), alice.body(), 404, "NOT_FOUND")
    await refused(thread(rt, chat_id="c_missing"), alice.body(), 404, "NOT_FOUND")
    # A thread of another workflow.
    await refused(thread(rt, "stream", chat_id=alice.thread_id), alice.body(), 404, "NOT_FOUND")
    # A token bound to another chat.
    bound = Thread(rt.http, alice.path, rt.auth(chat_id="c_other"))
    await refused(bound, alice.body(), 404, "NOT_FOUND")
    # Tool results for calls the thread never made: made up, or another user's question.
    for call_id in ("call_made_up", bobs_ask):
        body = alice.body()
        body["messages"].append({"id": "m", "role": "tool", "toolCallId": call_id, "content": "x"})
        await refused(alice, body, 404, "TOOL_CALL_NOT_FOUND")
    # ... also as the first input of a new thread, which is then not created.
    fresh = thread(rt)
    body = fresh.body()
    body["messages"] = [{"id": "m", "role": "tool", "toolCallId": "call_x", "content": "x"}]
    await refused(fresh, body, 404, "TOOL_CALL_NOT_FOUND")
    gone = await rt.http.get(f"/api/sessions/{fresh.thread_id}", headers=rt.auth())
    assert gone.status_code == 404
    # A message while a run goes on (the workflow rejects double-texting).
    sock = await rt.socket("stream", "c_busy")
    await sock.until("chat.text")
    busy = thread(rt, "stream", chat_id="c_busy")
    busy.messages.append(UserMessage(id="u", content="stop"))
    await refused(busy, busy.body(), 409, "CONFLICT")
    await sock.close()
    # Nothing was applied: alice's question is still open, bob's too.
    assert len(await events_of(rt, alice.thread_id)) == before
    state = (await rt.http.get(f"/api/sessions/{alice.thread_id}", headers=rt.auth())).json()
    assert [p["request_id"] for p in state["pending"]] == [ask]
    bobs = (await rt.http.get(f"/api/sessions/{bob.thread_id}", headers=rt.auth("bob"))).json()
    assert [p["request_id"] for p in bobs["pending"]] == [bobs_ask]


RELAY = Path(__file__).resolve().parents[1] / "security" / "workflows"


def fake_llm_settings(tmp_path: Path, fake_llm: FakeLLM, **overrides: object) -> Settings:
    return base_settings(
        tmp_path,
        workflows_dir=RELAY,
        llm_base_url=fake_llm.url,
        llm_api_key="test-key",
        llm_model=fake_llm.model,
        **overrides,
    )


async def test_two_agents_on_the_fake_llm_stream_as_steps(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply.say("first answer", usage=(7, 3)), Reply.say("second answer"))
    async with serve(fake_llm_settings(tmp_path, fake_llm), runner_factory=default_runner) as rt:
        t = thread(rt, "relay")
        events = await t.say("go")
        steps = [s["step_name"] for s in of_type(events, EventType.STEP_STARTED)]
        assert steps == ["First", "Second"]
        said = [(m.name, m.content) for m in t.messages if m.role == "assistant"]
        assert said == [("First", "first answer"), ("Second", "second answer")]
        end = of_type(events, EventType.RUN_FINISHED)[0]
        assert end["usage"] == [
            {"model": fake_llm.model, "input_tokens": 17, "output_tokens": 8, "total_tokens": 25}
        ]
        # The model saw the user's message from the AG-UI input.
        assert fake_llm.requests[0]["body"]["messages"][-1]["content"] == "go"


async def test_a_run_stopped_by_the_budget_ends_with_run_error(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply.say("first answer", usage=(100, 50)), Reply.say("never sent"))
    settings = fake_llm_settings(tmp_path, fake_llm, budget_user_daily_tokens=100)
    async with serve(settings, runner_factory=default_runner) as rt:
        t = thread(rt, "relay")
        events = await t.say("go")
        assert events[-1].type == EventType.RUN_ERROR
        error = of_type(events, EventType.RUN_ERROR)[0]
        assert error["code"] == "BUDGET_EXCEEDED"
        assert "daily token budget (100 tokens)" in error["message"]
        assert len(fake_llm.requests) == 1


async def test_streams_count_against_the_connection_limit(tmp_path: Path) -> None:
    async with serve(base_settings(tmp_path, max_connections=1)) as rt:
        sock = await rt.socket("stream", "c_full")  # the one connection the runtime takes
        await sock.until("chat.text")
        t = thread(rt)
        t.messages.append(UserMessage(id="u", content="hi"))
        response = await t.post(t.body())
        assert (response.status_code, response.json()["error_code"]) == (503, "OVERLOADED")
        await sock.until("chat.run_complete")
        await sock.close()
        async with asyncio.timeout(10):
            while rt.services.traffic.sockets:  # noqa: ASYNC110  (a counter, no event to wait on)
                await asyncio.sleep(0.05)
        assert pending(await t.run())  # room again: the run asks its question
        assert rt.services.traffic.sockets == 0  # and the finished stream let go of its slot


async def test_a_thread_served_by_two_replicas(
    tmp_path: Path, ferretdb: str, mongo_database: str
) -> None:
    store = {"mongo_uri": ferretdb, "mongo_database": mongo_database}
    async with (
        serve(base_settings(tmp_path, replica_id="replica-a", **store)) as a,
        serve(base_settings(tmp_path, replica_id="replica-b", **store)) as b,
    ):
        t = thread(a)
        (ask,) = pending(await t.say("hi"))  # the run starts on A and asks
        t.http = b.http  # the client's next request lands on B
        second = await t.answer(ask, "Ada")  # A's waiting run finds the answer in the store
        (ui,) = pending(second)  # B streamed A's events, read from the store
        assert of_type(second, EventType.TOOL_CALL_RESULT)[0]["content"] == '{"found": "ADA"}'
        t.http = a.http
        await t.answer(ui, {"ok": True})
        assert t.messages[-1].content == 'Done, Ada: {"ok": true}'
        await a.wait_idle(t.thread_id)
        assert not b.services.runs.holds(ChatRef(APP, t.thread_id))  # B never ran it
        log = await events_of(a, t.thread_id)
        assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
        assert [e["type"] for e in log].count("chat.run_complete") == 1


async def test_a_queued_message_behind_a_waiting_run_gets_the_open_question(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "wf"
    shutil.copytree(WORKFLOWS, directory)
    path = directory / "scripted.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "on_new_message": "enqueue"}))
    async with serve(base_settings(tmp_path, workflows_dir=directory)) as rt:
        t = thread(rt)
        (ask,) = pending(await t.say("hi"))
        (ui,) = pending(await t.answer(ask, "Ada"))
        # A message instead of the UI tool's answer: queued behind the run, which still waits
        # for the UI tool; the stream says so at once.
        again = await t.say("one more thing")
        assert pending(again) == [ui]
        assert not of_type(again, EventType.TOOL_CALL_START)  # the client holds that call
        assert len([m for m in t.messages if m.id == ui]) == 1
        await t.answer(ui, {"ok": True})  # the run ends, then the queued message runs
        async with asyncio.timeout(10):
            while not await open_questions(rt, t.thread_id):  # noqa: ASYNC110  (no event)
                await asyncio.sleep(0.05)
        # The client missed what the queued run said: its next run brings it up to date (a
        # messages snapshot, in which the new question is the last call).
        last = await t.run()
        (ask_again,) = pending(last)
        assert of_type(last, EventType.MESSAGES_SNAPSHOT)
        assert t.messages[-1].tool_calls[0].id == ask_again
        assert t.messages[-1].tool_calls[0].function.name == "human_input"
        said = [m.content for m in t.messages if m.role in ("user", "assistant") and m.content]
        assert said[-2:] == ["one more thing", "Hello! You said: one more thing"]
        assert len({m.id for m in t.messages}) == len(t.messages)  # nothing twice


async def test_a_quiet_stream_carries_keepalive_comments(tmp_path: Path) -> None:
    async with serve(base_settings(tmp_path, heartbeat_seconds=0.5)) as rt:
        assert rt.runner is not None
        rt.runner.stream_count, rt.runner.stream_delay = 2, 1.3  # quiet for over a second
        t = thread(rt, "stream")
        response = await t.post(t.body())
        assert ": keepalive\n\n" in response.text
        said = [
            e["delta"] for e in of_type(parse_sse(response.text), EventType.TEXT_MESSAGE_CONTENT)
        ]
        assert said == ["message 1", "message 2"]
