"""A host app on another origin adds the chat with one script tag, as production does: its
backend mints the user's token and creates the chat (`POST /api/sessions`), its page passes
both to the widget. The host site is a real HTTP server on its own port (its own origin)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from functools import partial
from html import escape
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from mozaiks_runtime.auth.mint import mint_token
from tests.browser.harness import RUNTIME_SECRET, BrowserSession, RuntimeProcess, new_session
from tests.browser.widget import (
    ROOT,
    answer_input,
    renderable_seqs,
    rendered_seqs,
    stored_events,
    wait_connected,
    wait_run_complete,
    widget_state,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

USER = "host-user-7"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def host_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static site on 127.0.0.1:<own port>: (its URL, the folder it serves)."""
    root = tmp_path / "site"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="host-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def host_page(runtime: RuntimeProcess, *, token: str, chat_id: str) -> str:
    """The host app's page: one script tag (data- attributes) and one call to open the chat."""
    attrs = {
        "src": f"{runtime.url}/static/mozaiks-chat.js",
        "data-app-id": "demo",
        "data-user-id": USER,
        "data-token": token,
        "data-title": "Support",
    }
    tag = " ".join(f'{k}="{escape(v, quote=True)}"' for k, v in attrs.items())
    return f"""<!doctype html><html><head><title>Host app</title></head><body>
<h1>Acme shop</h1>
<button id="help">Need help?</button>
<script {tag}></script>
<script>
  document.getElementById("help").addEventListener("click", () =>
    window.mozaiksChat.open({{workflow_name: "hello", chat_id: "{escape(chat_id)}"}}));
</script>
</body></html>"""


async def create_session(runtime: RuntimeProcess, token: str) -> str:
    """What the host app's backend (the session broker) does for its user."""
    async with httpx.AsyncClient(base_url=runtime.url, timeout=10) as client:
        res = await client.post(
            "/api/sessions",
            json={"workflow_name": "hello"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert res.status_code == 201, res.text
        return str(res.json()["chat_id"])


async def test_a_host_page_on_another_origin_embeds_the_chat_with_one_script_tag(
    session: BrowserSession, runtime: RuntimeProcess, host_site: tuple[str, Path]
) -> None:
    site_url, site_root = host_site
    token = mint_token(RUNTIME_SECRET, user=USER, app="demo")
    chat_id = await create_session(runtime, token)
    (site_root / "index.html").write_text(host_page(runtime, token=token, chat_id=chat_id))

    page = session.page
    await page.goto(site_url + "/index.html")
    await page.wait_for_selector(ROOT, state="attached")
    await expect(page.locator(".mzk-bubble")).to_be_visible()
    await page.click("#help")
    await wait_connected(page)
    state = await widget_state(page)
    assert (state["chat_id"], state["surface"]) == (chat_id, "compact")
    await expect(page.locator(".mzk-title")).to_have_text("Support")  # the host's data-title
    await expect(page.locator(".mzk-input-request")).to_contain_text("What is your name?")
    await answer_input(page, "Linus")
    await wait_run_complete(page)
    await session.screenshot("12-embedded-on-host-page")

    events = await stored_events(runtime, chat_id, token=token)
    assert await rendered_seqs(page) == renderable_seqs(events)
    # The widget's styles stay in its shadow root: the host page's own text is untouched.
    font = await page.eval_on_selector("h1", "h => getComputedStyle(h).fontFamily")
    assert "system-ui" not in font
    assert session.probe.page_errors == []


def scripted_host_page(runtime: RuntimeProcess, *, token: str, chat_id: str) -> str:
    """A host page that configures the widget from code: init() with a token function."""
    return f"""<!doctype html><html><head><title>Host app</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<h1>Acme mobile</h1>
<script src="{runtime.url}/static/mozaiks-chat.js"></script>
<script>
  window.tokenCalls = 0;
  window.mozaiksChat.init({{
    appId: "demo",
    userId: "{USER}",
    runtimeUrl: "{runtime.url}",
    getToken: async () => {{ window.tokenCalls += 1; return "{token}"; }},
  }});
  window.mozaiksChat.open({{workflow_name: "hello", chat_id: "{chat_id}", surface: "overlay"}});
</script>
</body></html>"""


@pytest_asyncio.fixture(loop_scope="session")
async def phone(browser: Browser) -> AsyncIterator[BrowserSession]:
    current = await new_session(browser, width=390, height=780)
    try:
        yield current
    finally:
        await current.context.close()


async def test_a_host_page_configures_the_widget_from_code_with_a_token_function(
    phone: BrowserSession, runtime: RuntimeProcess, host_site: tuple[str, Path]
) -> None:
    site_url, site_root = host_site
    token = mint_token(RUNTIME_SECRET, user=USER, app="demo")
    chat_id = await create_session(runtime, token)
    page_html = scripted_host_page(runtime, token=token, chat_id=chat_id)
    (site_root / "scripted.html").write_text(page_html)

    page = phone.page
    await page.goto(site_url + "/scripted.html")
    await wait_connected(page)
    assert (await widget_state(page))["surface"] == "overlay"
    panel = await page.locator(".mzk-panel").bounding_box()
    assert panel is not None and (panel["width"], panel["height"]) == (390, 780)
    await answer_input(page, "Margaret")
    await wait_run_complete(page)
    await phone.screenshot("13-phone-overlay")
    assert await page.evaluate("window.tokenCalls") >= 1

    await page.click(".mzk-expand")  # back to the compact panel, which fits the small screen
    compact = await page.locator(".mzk-panel").bounding_box()
    assert compact is not None and (compact["x"], compact["width"]) == (12, 390 - 24)
    await phone.screenshot("14-phone-compact")
    assert phone.probe.page_errors == []
