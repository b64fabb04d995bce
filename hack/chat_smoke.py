"""A scripted chat against a running Mozaiks runtime, the last step of hack/kind-up.

It mints a user token with the tenant's HS256 key, creates a chat over HTTP, opens the chat's
WebSocket and sends the scripted messages, printing what the agents answer. Exit status 0 when
an agent answered and nothing failed; 1 otherwise (with the reason on stderr).

    .venv/bin/python hack/chat_smoke.py --url http://demo.localtest.me --app demo \\
        --secret "$KEY" --workflow hello [--connect 127.0.0.1:8080] [--message hi]...

--connect sends the TCP connections elsewhere (e.g. the kind node's mapped ingress port)
while the URL's host stays the HTTP Host header, so the Ingress routes by host as usual.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from mozaiks_runtime.auth.mint import mint_token

# An agent-driven workflow speaks first; if the socket stays quiet this long after it opens,
# the workflow is user-driven and the script's first message starts it.
QUIET_SECONDS = 3.0


class ChatFailed(Exception):
    """The chat did not go as scripted."""


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--url", required=True, help="the tenant's public URL (http[s]://host[:port])")
    p.add_argument("--app", required=True, help="the tenant's appId")
    p.add_argument("--secret", required=True, help="the tenant's HS256 JWT key")
    p.add_argument("--workflow", required=True)
    p.add_argument("--user", default="smoke-user")
    p.add_argument("--message", action="append", help="what the user says (repeatable)")
    p.add_argument("--connect", help="HOST:PORT to open connections to instead of the URL's")
    p.add_argument("--query-token", action="store_true", help="?access_token= on the WebSocket")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds for the whole chat")
    return p.parse_args(argv)


def _target(url: str, connect_to: str | None) -> tuple[str, dict[str, str]]:
    """The URL to open and the extra headers, honouring --connect (Host header kept)."""
    if not connect_to:
        return url, {}
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=connect_to)), {"Host": parts.netloc}


async def _create_chat(a: argparse.Namespace, token: str) -> dict[str, Any]:
    base, headers = _target(a.url.rstrip("/"), a.connect)
    async with httpx.AsyncClient(timeout=30.0) as http:
        resp = await http.post(
            f"{base}/api/sessions",
            json={"workflow_name": a.workflow},
            headers={**headers, "Authorization": f"Bearer {token}"},
        )
    if resp.status_code >= 400:
        raise ChatFailed(f"POST /api/sessions: {resp.status_code} {resp.text}")
    body: dict[str, Any] = resp.json()
    return body


def _ws_url(a: argparse.Namespace, chat: dict[str, Any], token: str) -> str:
    url = chat.get("ws_url") or ""
    if not url:
        parts = urlsplit(a.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        path = f"/ws/{a.workflow}/{a.app}/{chat['chat_id']}/{a.user}"
        url = urlunsplit((scheme, parts.netloc, path, "", ""))
    if a.query_token:
        url += ("&" if "?" in url else "?") + f"access_token={token}"
    return url


async def _converse(a: argparse.Namespace, chat: dict[str, Any], token: str) -> int:
    url = _ws_url(a, chat, token)
    extra: dict[str, Any] = {}
    if a.connect:
        host, _, port = a.connect.rpartition(":")
        extra = {"host": host, "port": int(port)}
    script = list(a.message or ["Hello! Who are you?"])
    answers = 0
    protocols = None if a.query_token else [Subprotocol("bearer"), Subprotocol(token)]
    async with connect(url, subprotocols=protocols, open_timeout=30, **extra) as ws:
        started = False  # a user-driven workflow waits for the first message, silently
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), None if started else QUIET_SECONDS)
            except TimeoutError:
                started = True
                await _say(ws, chat["chat_id"], script.pop(0), None)
                continue
            frame = json.loads(raw)
            kind, data = frame.get("type"), frame.get("data") or {}
            if kind not in {"chat_meta", "ping"}:
                started = True
            if kind == "chat.text" and data.get("role") != "user":
                answers += 1
                print(f"{data.get('agent', 'agent')}: {data.get('content', '')}")
            elif kind == "chat.input_request":
                if not script:
                    break  # the workflow waits for a human and the script is done
                await _say(ws, chat["chat_id"], script.pop(0), data.get("request_id"))
            elif kind == "chat.error":
                raise ChatFailed(f"chat.error: {data.get('error_code')}: {data.get('message')}")
            elif kind == "chat.run_complete":
                break
    if not answers:
        raise ChatFailed("no agent answered")
    return answers


async def _say(ws: Any, chat_id: str, text: str, request_id: str | None) -> None:
    print(f"you: {text}")
    msg: dict[str, Any] = {"type": "user.input.submit", "chat_id": chat_id, "text": text}
    if request_id:
        msg["input_request_id"] = request_id
    await ws.send(json.dumps(msg))


async def run(argv: list[str] | None = None) -> int:
    a = _args(argv)
    token = mint_token(a.secret, user=a.user, app=a.app)
    try:
        async with asyncio.timeout(a.timeout):
            chat = await _create_chat(a, token)
            print(f"chat {chat['chat_id']} ({a.workflow})")
            answers = await _converse(a, chat, token)
    except (ChatFailed, TimeoutError, OSError) as exc:
        print(f"chat_smoke: FAILED: {exc or type(exc).__name__}", file=sys.stderr)
        return 1
    print(f"chat_smoke: OK ({answers} agent message(s))")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(run()))
