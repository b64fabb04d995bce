"""A fake OpenAI-compatible server for tests: real HTTP on 127.0.0.1, scripted answers.

`POST /v1/chat/completions` answers each request with the next scripted `Reply`: text, tool
calls, or an HTTP error; as one JSON completion, or as server-sent events (chunked text and tool
calls, then a usage chunk) when the request asks for `"stream": true`. Every request body is kept,
so a test can check what the provider was sent (messages, tools, response_format, the key).

    def test_x(fake_llm):
        fake_llm.script(Reply.tool("lookup", {"q": "x"}), Reply.say("done", usage=(12, 3)))
        settings = LLMSettings(base_url=fake_llm.url, api_key="k", model="fake-model")
        ...
        assert fake_llm.requests[0]["body"]["tools"][0]["function"]["name"] == "lookup"

The server runs uvicorn in a thread for the whole session; `fake_llm` resets it for each test.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Usage = tuple[int, int]  # prompt tokens, completion tokens


@dataclass(frozen=True, slots=True)
class ToolCallSpec:
    name: str
    arguments: Mapping[str, Any]
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer. Build with `Reply.say`, `Reply.tool` / `Reply.tools`, `Reply.fail`."""

    text: str | None = None
    tool_calls: tuple[ToolCallSpec, ...] = ()
    usage: tuple[int, int] = (10, 5)  # prompt, completion tokens
    chunks: int = 3  # how many pieces streamed text is cut into
    status: int = 200
    error: str = ""
    delay: float = 0.0  # seconds before answering

    @classmethod
    def say(cls, text: str, *, usage: tuple[int, int] = (10, 5), chunks: int = 3) -> Reply:
        return cls(text=text, usage=usage, chunks=chunks)

    @classmethod
    def tool(
        cls,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        usage: tuple[int, int] = (10, 5),
    ) -> Reply:
        return cls(tool_calls=(ToolCallSpec(name, dict(arguments or {})),), usage=usage)

    @classmethod
    def tools(
        cls, *calls: tuple[str, Mapping[str, Any]], usage: tuple[int, int] = (10, 5)
    ) -> Reply:
        return cls(tool_calls=tuple(ToolCallSpec(n, dict(a)) for n, a in calls), usage=usage)

    @classmethod
    def fail(cls, status: int = 500, error: str = "scripted failure") -> Reply:
        return cls(status=status, error=error)


@dataclass(slots=True)
class _State:
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeLLM:
    """The handle tests use: `url` (the OpenAI base URL), `script(...)`, `requests`."""

    model = "fake-model"

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._state = _State()
        self._ids = itertools.count(1)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}/v1"
        app = Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="fake-llm", daemon=True)

    # ── test-facing ─────────────────────────────────────────────────────────

    def script(self, *replies: Reply | str) -> None:
        """Queue answers, in order; a plain string is `Reply.say(string)`."""
        with self._state.lock:
            for reply in replies:
                self._state.replies.append(Reply.say(reply) if isinstance(reply, str) else reply)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Each request received: {"body": the JSON body, "headers": lower-cased headers}."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def pending(self) -> int:
        with self._state.lock:
            return len(self._state.replies)

    def reset(self) -> None:
        with self._state.lock:
            self._state.replies.clear()
            self._state.requests.clear()

    # ── lifecycle ───────────────────────────────────────────────────────────

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake LLM server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def _serve(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    # ── the endpoint ────────────────────────────────────────────────────────

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        with self._state.lock:
            self._state.requests.append(
                {"body": body, "headers": {k.lower(): v for k, v in request.headers.items()}}
            )
            reply = self._state.replies.popleft() if self._state.replies else None
        if reply is None:
            return JSONResponse(
                {"error": {"message": "fake LLM: no scripted reply left", "type": "fake"}},
                status_code=500,
            )
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 200:
            return JSONResponse(
                {"error": {"message": reply.error, "type": "fake", "code": reply.status}},
                status_code=reply.status,
            )
        model = str(body.get("model") or self.model)
        cid = f"chatcmpl-fake-{next(self._ids)}"
        calls = [
            {
                "id": spec.id or f"call_fake_{next(self._ids)}",
                "type": "function",
                "function": {"name": spec.name, "arguments": json.dumps(spec.arguments)},
            }
            for spec in reply.tool_calls
        ]
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                _sse(reply, calls, cid, model, include_usage), media_type="text/event-stream"
            )
        prompt, completion = reply.usage
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if calls:
            message["tool_calls"] = calls
        return JSONResponse(
            {
                "id": cid,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if calls else "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )


async def _sse(
    reply: Reply, calls: list[dict[str, Any]], cid: str, model: str, include_usage: bool
) -> AsyncIterator[bytes]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        data = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(data)}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    if reply.text:
        for piece in _pieces(reply.text, reply.chunks):
            yield chunk({"content": piece})
            await asyncio.sleep(0)
    for index, call in enumerate(calls):
        head = {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        yield chunk({"tool_calls": [{"index": index, **head}]})
        for piece in _pieces(call["function"]["arguments"], 2):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, "tool_calls" if calls else "stop")
    if include_usage:
        prompt, completion = reply.usage
        usage = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }
        yield f"data: {json.dumps(usage)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def _pieces(text: str, count: int) -> list[str]:
    count = max(1, min(count, len(text)))
    size = -(-len(text) // count)
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLM]:
    server = FakeLLM()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLM) -> Iterator[FakeLLM]:
    """The session's fake LLM, emptied for this test (no replies queued, no requests seen)."""
    fake_llm_server.reset()
    yield fake_llm_server
    fake_llm_server.reset()
