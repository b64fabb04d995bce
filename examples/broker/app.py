"""A reference session broker: the app's own backend, between the browser and the Mozaiks runtime.

It signs its users in (here trivially: see `login`, which stands in for your app's real login),
decides what they are entitled to (the `USERS` table stands in for your user database), and
starts chats for them with its own service credential, never a user's. The browser receives
`{chat_id, workflow_name, runtime_ws_url, runtime_token}` (the seed's StartWorkflowResponse) and
talks to the runtime directly with a token that opens that one chat.

    MOZAIKS_RUNTIME_URL=http://127.0.0.1:8080 MOZAIKS_APP_ID=demo \\
    MOZAIKS_BROKER_JWT_SECRET=... uvicorn --factory examples.broker.app:create_app --port 8090

Then open http://127.0.0.1:8090/login?user=alice and chat. Needs fastapi, httpx and PyJWT.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Cookie, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

# The app's users and what each may do: the claims it passes on for the runtime's access rules.
USERS: dict[str, dict[str, Any]] = {
    "alice": {"roles": ["member", "pro"]},
    "bob": {"roles": ["member"]},
}
COOKIE = "broker_session"


@dataclass(frozen=True)
class Config:
    runtime_url: str  # how this backend reaches the runtime (in-cluster: its Service)
    app_id: str
    broker_secret: str  # MOZAIKS_BROKER_JWT_SECRET, shared with the runtime
    service: str = "reference-broker"  # `sub` of the service tokens, for the runtime's logs
    workflow: str = "hello"  # what the page opens
    cookie_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @classmethod
    def from_env(cls) -> Config:
        return cls(
            runtime_url=os.environ.get("MOZAIKS_RUNTIME_URL", "http://127.0.0.1:8080"),
            app_id=os.environ.get("MOZAIKS_APP_ID", "demo"),
            broker_secret=os.environ["MOZAIKS_BROKER_JWT_SECRET"],
            workflow=os.environ.get("BROKER_WORKFLOW", "hello"),
        )


class StartWorkflowRequest(BaseModel):
    """The seed's request: a workflow, and a chat to resume (none: a new chat)."""

    workflow_name: str = Field(..., min_length=1, max_length=64)
    chat_id: str | None = Field(None, max_length=128)


class StartWorkflowResponse(BaseModel):
    chat_id: str
    workflow_name: str
    runtime_ws_url: str
    runtime_token: str  # short-lived, for this chat only


def _sign(config: Config, user: str) -> str:
    mac = hmac.new(config.cookie_key, user.encode(), hashlib.sha256).hexdigest()
    return f"{user}.{mac}"


def _signed_in(config: Config, cookie: str | None) -> str | None:
    user, _, _mac = (cookie or "").rpartition(".")
    return user if user and hmac.compare_digest(_sign(config, user), cookie or "") else None


def service_token(config: Config) -> str:
    """The broker's own credential: short, for this tenant, audience and scope mozaiks:broker."""
    now = int(time.time())
    claims = {
        "sub": config.service,
        "app_id": config.app_id,
        "aud": "mozaiks:broker",
        "scope": "mozaiks:broker",
        "iat": now,
        "exp": now + 60,
    }
    return jwt.encode(claims, config.broker_secret, algorithm="HS256")


def current_user(request: Request, broker_session: Annotated[str | None, Cookie()] = None) -> str:
    """The signed-in user of this app (from its own session cookie), else 401."""
    user = _signed_in(request.app.state.config, broker_session)
    if user is None:
        raise HTTPException(401, "sign in first: /login?user=alice")
    return user


UserDep = Annotated[str, Depends(current_user)]


def create_app(config: Config | None = None) -> FastAPI:
    cfg = config or Config.from_env()
    app = FastAPI(title="Mozaiks reference session broker")
    app.state.config = cfg

    @app.get("/login")
    async def login(user: str) -> RedirectResponse:
        """Stands in for the app's real login: whoever names a known user is that user."""
        if user not in USERS:
            raise HTTPException(404, "no such user")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, _sign(cfg, user), httponly=True, samesite="strict")
        return response

    @app.post("/api/workflows/start", response_model=StartWorkflowResponse)
    async def start_workflow(body: StartWorkflowRequest, user: UserDep) -> Any:
        """Create (or resume) the user's chat in the runtime and hand its session to the page."""
        request = {
            "user_id": user,
            "workflow_name": body.workflow_name,
            "chat_id": body.chat_id,
            "claims": USERS[user],
        }
        async with httpx.AsyncClient(base_url=cfg.runtime_url, timeout=10) as client:
            answer = await client.post(
                "/api/broker/sessions",
                json=request,
                headers={"Authorization": f"Bearer {service_token(cfg)}"},
            )
        if answer.status_code >= 400:  # e.g. 403 NOT_ENTITLED: the runtime's JSON, as it is
            return JSONResponse(answer.json(), status_code=answer.status_code)
        session = answer.json()
        return StartWorkflowResponse(
            chat_id=session["chat_id"],
            workflow_name=session["workflow_name"],
            runtime_ws_url=session["ws_url"],
            runtime_token=session["token"],
        )

    @app.get("/", response_class=HTMLResponse)
    async def page(user: UserDep) -> str:
        """A page of the app with the chat widget, fed by this broker."""
        runtime = cfg.runtime_url.rstrip("/")
        setup = json.dumps({"appId": cfg.app_id, "userId": user, "runtimeUrl": runtime + "/"})
        workflow = json.dumps(cfg.workflow)
        return PAGE.format(
            user=html.escape(user),
            widget=html.escape(runtime + "/static/mozaiks-chat.js"),
            setup=setup,
            workflow=workflow,
        )

    return app


# The widget asks for a token before every (re)connect; each time the broker starts (resumes)
# the same chat, so the token is fresh and still opens that one chat only.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Acme</title></head>
<body>
<h1>Hello, <span id="user">{user}</span></h1>
<p id="status">starting…</p>
<script src="{widget}" data-auto-init="false"></script>
<script>
(async () => {{
  let chatId = null;
  async function session() {{
    const res = await fetch("/api/workflows/start", {{
      method: "POST",
      headers: {{"Content-Type": "application/json"}},
      body: JSON.stringify({{workflow_name: {workflow}, chat_id: chatId}}),
    }});
    const body = await res.json();
    if (!res.ok) throw new Error(body.error_code || res.status);
    chatId = body.chat_id;
    return body;
  }}
  try {{
    const first = await session();
    window.mozaiksChat.init({{...{setup}, getToken: async () => (await session()).runtime_token}});
    await window.mozaiksChat.open({{workflow_name: first.workflow_name, chat_id: first.chat_id}});
    document.getElementById("status").textContent = "chat " + first.chat_id;
  }} catch (err) {{
    document.getElementById("status").textContent = "refused: " + err.message;
  }}
}})();
</script>
</body></html>
"""
