"""Text from the wire is shown as text: markup in a user's answer (echoed back by the runtime) and
in the agent's reply that repeats it never becomes DOM, and no script runs. The page's CSP is
bypassed here, so what is tested is the widget's own rendering, not the dev page's policy.
Errors reach the user in plain words."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.browser.harness import BrowserSession, RuntimeProcess, new_session, serve
from tests.browser.widget import (
    ROOT,
    answer_input,
    open_dev_page,
    send_message,
    start_chat,
    wait_run_complete,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PAYLOAD = (
    "<img src=x onerror=\"window.__pwned='img';alert('img')\">"
    "<script>window.__pwned='script';alert('script')</script>"
    "<b id=injected>bold</b>"
)


@pytest_asyncio.fixture(loop_scope="session")
async def no_csp_session(browser: Browser) -> AsyncIterator[BrowserSession]:
    current = await new_session(browser, bypass_csp=True)
    try:
        yield current
    finally:
        await current.context.close()


async def test_markup_in_messages_is_shown_literally_and_never_runs(
    no_csp_session: BrowserSession, runtime: RuntimeProcess
) -> None:
    session = no_csp_session
    page = session.page
    await open_dev_page(page, runtime)
    await start_chat(page, "hello")
    await answer_input(page, PAYLOAD)
    await wait_run_complete(page)

    # The user's message (the runtime's echo) and the agent's reply both carry the markup.
    await expect(page.locator(".mzk-msg--user .mzk-msg__body")).to_have_text(PAYLOAD)
    agent = page.locator(".mzk-msg--agent .mzk-msg__body").last
    await expect(agent).to_contain_text(PAYLOAD)

    # ...as text: no element was created from it, nothing ran, no dialog opened.
    created = page.locator(".mzk-messages img, .mzk-messages script, .mzk-messages #injected")
    await expect(created).to_have_count(0)
    assert await page.evaluate("window.__pwned") is None
    assert session.probe.dialogs == []
    await session.screenshot("09-markup-as-text")
    assert session.probe.page_errors == []


async def test_errors_are_shown_in_plain_words(
    session: BrowserSession, runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, runtime)

    # A workflow this runtime does not serve: the start request fails, the widget says so.
    await page.evaluate("window.mozaiksChat.open({workflow_name: 'no_such_workflow'})")
    error = page.locator(".mzk-note--error")
    await expect(error).to_have_count(1)
    await expect(error).to_have_text("This assistant is not available.")


@pytest.fixture
def impatient_runtime(tmp_path: Path, workflows_dir: Path) -> Iterator[RuntimeProcess]:
    """A runtime whose questions expire after two seconds."""
    yield from serve(tmp_path, workflows_dir, {"MOZAIKS_INPUT_TIMEOUT_SECONDS": "2"})


async def test_an_unanswered_question_expires_visibly(
    session: BrowserSession, impatient_runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, impatient_runtime)
    await start_chat(page, "hello")
    question = page.locator(".mzk-input-request")
    await expect(question).to_have_attribute("data-state", "expired", timeout=30_000)
    await expect(question.locator(".mzk-card__state")).to_have_text(
        "Expired: nobody answered in time"
    )
    await expect(page.locator(".mzk-input")).to_have_attribute("placeholder", "Type a message…")
    await session.screenshot("10-question-expired")
    await expect(page.locator('.mzk-note--error[data-error-code="INPUT_TIMEOUT"]')).to_have_text(
        "The question expired because nobody answered in time."
    )
    await expect(page.locator(".mzk-note[data-run-status]")).to_have_text(
        "The run stopped because nobody answered in time."
    )


async def test_a_message_the_runtime_refuses_is_marked_and_explained(
    session: BrowserSession, runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, runtime)
    await start_chat(page, "trip_planner")
    await send_message(page, "Somewhere sunny")
    await expect(page.locator(".mzk-ui-tool--form")).to_be_visible()

    # The run waits for the form, not for text: the runtime answers with a chat.error.
    await send_message(page, "hello? anyone?")
    refused = page.locator(".mzk-msg--failed")
    await expect(refused).to_have_text("hello? anyone?")
    await expect(page.locator('.mzk-note--error[data-error-code="CONFLICT"]')).to_have_text(
        "The assistant is busy right now. Please wait for its question or reply."
    )
    await expect(page.locator(".mzk-msg--user:not(.mzk-msg--failed)")).to_have_text(
        ["Somewhere sunny"]
    )


async def test_a_refused_socket_stops_retrying_and_says_why(
    session: BrowserSession, runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, runtime)
    chat_id = await start_chat(page, "hello")

    # That chat belongs to another workflow: the runtime closes the socket with 1008. The widget
    # tries once more with a fresh token, then stops and tells the user. The token travels in the
    # `bearer` subprotocol (the default): the refusal must echo it, or Chromium fails the
    # handshake and never sees the 1008.
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    await page.evaluate(
        "(id) => window.mozaiksChat.open({workflow_name: 'trip_planner', chat_id: id})", chat_id
    )
    await page.wait_for_selector(f'{ROOT}[data-connection="failed"]', state="attached")
    banner = page.locator(".mzk-banner")
    await expect(banner).to_contain_text("This chat could not be found, or it is not yours.")
    await expect(page.locator(".mzk-status")).to_have_text("Disconnected")
    await session.screenshot("11-socket-refused")
    assert len(sockets) == 2, sockets
    assert not any("access_token=" in url for url in sockets)
