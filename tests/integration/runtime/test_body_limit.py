"""HTTP request bodies over MOZAIKS_MAX_BODY_BYTES are refused with 413 `BODY_TOO_LARGE`, with a
declared length or chunked, on every route, before the route acts: an AG-UI thread whose history
outgrew the limit gets a clear error and its chat loses nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ag_ui.core import UserMessage

from tests.integration.runtime.conftest import Runtime, base_settings, serve
from tests.support.agui import Thread, pending

pytestmark = pytest.mark.integration
LIMIT = 64 * 1024


async def chunked(data: bytes, piece: int = 8 * 1024) -> AsyncIterator[bytes]:
    """A body without Content-Length (Transfer-Encoding: chunked), as a streaming client sends."""
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


def assert_refused(status: int, body: dict[str, object]) -> None:
    assert status == 413
    assert body["error_code"] == "BODY_TOO_LARGE"
    assert body["detail"] == f"the request body is over {LIMIT} bytes"


async def log_of(rt: Runtime, chat_id: str) -> list[object]:
    page = await rt.http.get(f"/api/sessions/{chat_id}/events?limit=1000", headers=rt.auth())
    assert page.status_code == 200, page.text
    events: list[object] = page.json()["events"]
    return events


async def test_a_thread_that_outgrew_the_limit_is_refused_and_loses_nothing(
    tmp_path: Path,
) -> None:
    async with serve(base_settings(tmp_path, max_body_bytes=LIMIT)) as rt:
        thread = Thread(rt.http, "/api/agui/scripted", rt.auth())
        (question,) = pending(await thread.say("hi"))
        before = await log_of(rt, thread.thread_id)

        # Earlier messages the client keeps (a long paste): under the limit, the run goes on.
        thread.messages.insert(0, UserMessage(id="u_old", content="x" * (LIMIT // 2)))
        assert len(json.dumps(thread.body()).encode()) < LIMIT
        # Over it: refused, whether the length is declared or the body is streamed.
        thread.messages.insert(0, UserMessage(id="u_older", content="y" * LIMIT))
        thread.messages.append(UserMessage(id="u_new", content="and now?"))
        body = json.dumps(thread.body()).encode()
        headers = {**thread.headers, "Content-Type": "application/json"}
        declared = await rt.http.post(thread.path, content=body, headers=headers)
        assert_refused(declared.status_code, declared.json())
        streamed = await rt.http.post(thread.path, content=chunked(body), headers=headers)
        assert "content-length" not in streamed.request.headers
        assert_refused(streamed.status_code, streamed.json())
        assert await log_of(rt, thread.thread_id) == before  # nothing reached the chat

        # The client trims its history: the same thread goes on where it was.
        del thread.messages[:2]
        thread.messages.pop()
        events = await thread.answer(question, "Ada")
        assert events and len(await log_of(rt, thread.thread_id)) > len(before)


@pytest.mark.parametrize("streamed", [False, True], ids=["declared", "chunked"])
async def test_every_route_has_the_limit(tmp_path: Path, streamed: bool) -> None:
    async with serve(base_settings(tmp_path, max_body_bytes=LIMIT)) as rt:
        body = json.dumps({"workflow_name": "scripted", "pad": "z" * LIMIT}).encode()
        headers = {**rt.auth(), "Content-Type": "application/json"}
        content = chunked(body) if streamed else body
        response = await rt.http.post("/api/sessions", content=content, headers=headers)
        assert_refused(response.status_code, response.json())
        assert response.headers["x-request-id"]  # answered through the app's middleware
        listed = await rt.http.get("/api/sessions", headers=rt.auth())
        assert listed.json()["sessions"] == []
        # The rest of the body was read and dropped: the client's next request is served.
        small = {"workflow_name": "scripted"}
        created = await rt.http.post("/api/sessions", json=small, headers=rt.auth())
        assert created.status_code == 201, created.text


async def test_a_huge_declared_body_is_refused_without_being_read(tmp_path: Path) -> None:
    """A gigabyte announced and never sent: the answer comes at once, and the connection ends."""
    async with serve(base_settings(tmp_path, max_body_bytes=LIMIT)) as rt:
        reader, writer = await asyncio.open_connection("127.0.0.1", rt.port)
        head = (
            "POST /api/agui/scripted HTTP/1.1\r\nHost: runtime\r\n"
            f"Authorization: {rt.auth()['Authorization']}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n"
        )
        writer.write(head.encode())
        await writer.drain()
        async with asyncio.timeout(5):
            answer = await reader.read()  # to the end: the server closes the connection
        writer.close()
        status, _, rest = answer.partition(b"\r\n")
        assert status == b"HTTP/1.1 413 Request Entity Too Large"
        headers, _, body = rest.partition(b"\r\n\r\n")
        assert b"connection: close" in headers.lower()
        assert_refused(413, json.loads(body))
