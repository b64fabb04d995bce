"""A password answer (an input request with `password: true`) is kept in the store only until
the run that takes it has recorded its ack: never in the chat's log, never in the user's export,
whether the run that asked took it or a run started by the answer after a restart did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.runtime.client import ChatSocket
from tests.integration.runtime.conftest import APP, Runtime, base_settings, serve

pytestmark = pytest.mark.integration
PIN = "4711-secret"


async def asked(rt: Runtime, chat_id: str) -> tuple[ChatSocket, dict[str, Any]]:
    sock = await rt.socket("vault", chat_id)
    await sock.send({"type": "user.input.submit", "text": "open up"})
    request = await sock.until("chat.input_request")
    assert request["data"]["password"] is True
    return sock, request


async def assert_forgotten(rt: Runtime, request_id: str) -> None:
    stored = await rt.services.store.get_pending(APP, request_id)
    assert stored is not None and stored.status == "answered" and stored.answer is None
    export = await rt.http.get("/api/users/alice/export", headers=rt.auth())
    assert export.status_code == 200
    assert PIN not in export.text
    assert f'"request_id":"{request_id}"' in export.text  # the question itself is exported


async def test_the_run_that_asked_takes_the_password_and_the_store_forgets_it(
    runtime: Runtime,
) -> None:
    rt = runtime
    sock, request = await asked(rt, "c_pin")
    rid = request["data"]["request_id"]
    answer = {"type": "user.input.submit", "text": PIN, "input_request_id": rid}
    await sock.send(answer)
    await sock.until("chat.input_ack", request_id=rid)
    done = await sock.until("chat.text", agent="Vault")
    assert done["data"]["content"] == f"Unlocked with {len(PIN)} digits."
    await sock.until("chat.run_complete")
    await sock.close()
    await rt.wait_idle("c_pin")
    assert all(PIN not in str(f) for f in sock.frames)
    await assert_forgotten(rt, rid)


async def test_an_answer_after_a_restart_starts_a_run_and_the_store_forgets_it(
    tmp_path: Path, store_settings: dict[str, Any]
) -> None:
    settings = base_settings(tmp_path, **store_settings)
    async with serve(settings) as rt:
        sock, request = await asked(rt, "c_pin_later")
        await sock.close()
    rid = request["data"]["request_id"]
    async with serve(settings) as again:
        answered = await again.http.post(
            "/api/user-input/submit",
            json={"input_request_id": rid, "user_input": PIN},
            headers=again.auth(),
        )
        assert answered.status_code == 200, answered.text
        watch = await again.socket("vault", "c_pin_later", last_seq=request["seq"])
        await watch.until("chat.input_ack", request_id=rid)
        # The scripted vault starts over in the new run: it asks again.
        second = await watch.until("chat.input_request")
        await assert_forgotten(again, rid)
        reply = {"type": "user.input.submit", "text": PIN}
        await watch.send({**reply, "input_request_id": second["data"]["request_id"]})
        await watch.until("chat.run_complete")
        await watch.close()
        await again.wait_idle("c_pin_later")
        await assert_forgotten(again, second["data"]["request_id"])
        assert all(PIN not in str(f) for f in watch.frames)
