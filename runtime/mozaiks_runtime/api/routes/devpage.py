"""The widget's static files at `/static/` and, in development only, the dev page at `/`.

The static files (mozaiks-chat.js and .css) are always served: that is how host apps embed the
chat with one script tag. The dev page (`settings.dev_page`, on in `make run`, off by default in
the image) lists the workflows and embeds the widget with a dev token. That token is minted here,
from the runtime's own HS256 secret, for the dev user (the same user and secret as the token
`mozaiks runtime --dev` prints); `/dev/token` hands the widget a fresh one on every (re)connect,
so a restarted runtime with a new random secret is picked up without a reload, and it answers
loopback clients only. Neither route exists unless the dev page is on.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from mozaiks_runtime.auth.mint import mint_token
from mozaiks_runtime.config import Settings

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
DEV_USER = "dev"
DEV_TOKEN_TTL = timedelta(hours=12)

# The dev page runs no inline script and loads nothing from elsewhere.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_NO_STORE = {"Cache-Control": "no-store"}
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def mount_static(app: FastAPI) -> None:
    """Serve the widget (and the dev page's own script) under /static/."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def dev_token(settings: Settings, *, user: str = DEV_USER) -> str:
    """A token for the dev user of this tenant; empty when the runtime checks no tokens."""
    if settings.jwt_secret is None:
        return ""
    return mint_token(
        settings.jwt_secret.get_secret_value(),
        user=user,
        app=settings.app_id,
        ttl=DEV_TOKEN_TTL,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def render_dev_page(*, app_id: str, user_id: str) -> str:
    """The page's HTML; every value is escaped, and the token arrives through /dev/token."""
    app = escape(app_id, quote=True)
    user = escape(user_id, quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mozaiks runtime · dev page</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/devpage.css">
</head>
<body>
<main class="dev">
  <header>
    <h1>Mozaiks runtime</h1>
    <p class="dev__note">Development page: the chat below uses a dev token for user
      <code>{user}</code> of app <code>{app}</code>. It is never served in production.</p>
  </header>
  <section aria-labelledby="wf-title">
    <h2 id="wf-title">Workflows</h2>
    <p id="workflows-status" role="status">Loading workflows…</p>
    <ul id="workflows" class="dev__workflows"></ul>
  </section>
  <section aria-labelledby="events-title">
    <h2 id="events-title">Widget events</h2>
    <ol id="events" class="dev__events"></ol>
  </section>
</main>
<script src="/static/devpage.js" defer></script>
<script src="/static/mozaiks-chat.js" data-app-id="{app}" data-user-id="{user}"
  data-token-endpoint="/dev/token" defer></script>
</body>
</html>
"""


def build_dev_router(settings: Settings) -> APIRouter:
    """`/` (the page) and `/dev/token`; include only when `settings.dev_page` is on."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def dev_page() -> HTMLResponse:
        html = render_dev_page(app_id=settings.app_id, user_id=DEV_USER)
        return HTMLResponse(html, headers={"Content-Security-Policy": _CSP, **_NO_STORE})

    @router.get("/dev/token")
    async def dev_page_token(request: Request) -> JSONResponse:
        # `mozaiks runtime --dev` binds 0.0.0.0 unless told otherwise: hand tokens to this
        # machine only.
        if request.client is None or request.client.host not in _LOOPBACK:
            detail = "the dev token is only served to this machine"
            return JSONResponse({"detail": detail}, status_code=403)
        body = {"token": dev_token(settings), "user_id": DEV_USER, "app_id": settings.app_id}
        return JSONResponse(body, headers=_NO_STORE)

    return router


def install_widget_routes(app: FastAPI, settings: Settings) -> None:
    """Static files always; the dev page and its token route only when the dev page is on."""
    if settings.dev_page:
        app.include_router(build_dev_router(settings))
    mount_static(app)
