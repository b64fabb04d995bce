"""The widget's files are always served; the dev page and its token route only when asked for.
In-process (ASGI, no lifespan needed for these routes), so this runs in the fast tier."""

from __future__ import annotations

import httpx
import jwt
import pytest

from mozaiks_runtime.api.routes.devpage import DEV_USER, render_dev_page
from mozaiks_runtime.app import create_app
from mozaiks_runtime.config import Settings

pytestmark = pytest.mark.unit

SECRET = "browser-suite-secret-0123456789abcdef"


def client(*, dev_page: bool, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    settings = Settings.load(jwt_secret=SECRET, dev_page=dev_page, app_id="acme")
    transport = httpx.ASGITransport(app=create_app(settings), client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://runtime.test")


async def test_widget_files_are_served_and_the_dev_page_is_off_by_default() -> None:
    assert Settings.load(jwt_secret=SECRET).dev_page is False
    async with client(dev_page=False) as http:
        script = await http.get("/static/mozaiks-chat.js")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        assert "window.mozaiksChat" in script.text
        assert (await http.get("/static/mozaiks-chat.css")).status_code == 200
        assert (await http.get("/")).status_code == 404
        assert (await http.get("/dev/token")).status_code == 404


async def test_dev_page_embeds_the_widget_under_a_strict_policy() -> None:
    async with client(dev_page=True) as http:
        page = await http.get("/")
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert page.headers["cache-control"] == "no-store"
        assert 'src="/static/mozaiks-chat.js"' in page.text
        assert 'data-app-id="acme"' in page.text
        assert 'data-token-endpoint="/dev/token"' in page.text
        assert "<script>" not in page.text  # no inline script at all

        body = (await http.get("/dev/token")).json()
        claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"])
        assert claims["sub"] == body["user_id"] == DEV_USER
        assert claims["app_id"] == body["app_id"] == "acme"


async def test_dev_token_is_served_to_this_machine_only() -> None:
    async with client(dev_page=True, peer="10.1.2.3") as http:
        assert (await http.get("/")).status_code == 200
        refused = await http.get("/dev/token")
        assert refused.status_code == 403
        assert "token" not in refused.json()


def test_dev_page_escapes_what_it_embeds() -> None:
    html = render_dev_page(app_id='a"><script>x()</script>', user_id="<u>")
    assert "<script>x()" not in html and "<u>" not in html
    assert "&quot;&gt;&lt;script&gt;" in html
