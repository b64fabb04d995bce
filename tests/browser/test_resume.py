"""The runtime process dies in the middle of a run and comes back on the same port and SQLite
file: the widget shows that it lost the connection, reconnects by itself (fresh token, `last_seq`),
receives what happened while it was away, shows nothing twice and misses nothing."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest
from playwright.async_api import WebSocket, expect

from tests.browser.harness import BrowserSession, RuntimeProcess
from tests.browser.widget import (
    ROOT,
    answer_input,
    dev_token,
    finish_run,
    open_dev_page,
    renderable_seqs,
    rendered_seqs,
    send_message,
    start_chat,
    stored_events,
    wait_connected,
    wait_run_complete,
    widget_state,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def answer_over_http(runtime: RuntimeProcess, request_id: str, text: str) -> None:
    """Answer an input request the way a second tab of the same user would (HTTP route)."""
    async with httpx.AsyncClient(base_url=runtime.url, timeout=10) as client:
        headers = {"Authorization": f"Bearer {await dev_token(client)}"}
        body = {"input_request_id": request_id, "user_input": text}
        res = await client.post("/api/user-input/submit", json=body, headers=headers)
        assert res.status_code < 300, res.text


@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGTERM], ids=["crash", "shutdown"])
async def test_widget_resumes_after_the_runtime_is_killed_and_restarted(
    session: BrowserSession, own_runtime: RuntimeProcess, stop_signal: signal.Signals
) -> None:
    page = session.page
    socket_urls: list[str] = []

    def on_socket(ws: WebSocket) -> None:
        socket_urls.append(ws.url)

    page.on("websocket", on_socket)
    await open_dev_page(page, own_runtime)
    chat_id = await start_chat(page, "trip_planner")

    # Run until the Booker waits for the approval: the middle of the run.
    await send_message(page, "A weekend somewhere warm")
    form = page.locator(".mzk-ui-tool--form")
    await form.locator('input[name="travellers"]').fill("2")
    await form.locator(".mzk-submit").click()
    question = page.locator(".mzk-input-request")
    await expect(question).to_contain_text("Shall I book this trip?")
    before = await rendered_seqs(page)
    seen = (await widget_state(page))["last_seq"]
    request_id = await question.get_attribute("data-request-id")
    assert request_id

    # A crash (SIGKILL) or a rolling update (SIGTERM): every socket drops; the widget says so
    # and keeps trying.
    await asyncio.to_thread(own_runtime.stop, sig=stop_signal)
    await page.wait_for_selector(f'{ROOT}[data-connection="reconnecting"]', state="attached")
    banner = page.locator(".mzk-banner")
    await expect(banner).to_be_visible()
    # A crash just cuts the connection; a shutdown says it is a restart (close code 1012).
    why = {signal.SIGKILL: "Connection lost.", signal.SIGTERM: "is restarting."}[stop_signal]
    await expect(banner).to_contain_text(why)
    await expect(banner).to_contain_text("Reconnecting in")
    await expect(page.locator(".mzk-status")).to_contain_text("Reconnecting")
    await expect(page.locator(".mzk-send")).to_be_disabled()
    await session.screenshot(f"07-connection-lost-{stop_signal.name}")

    # Back on the same port and database (with a new signing secret: the widget asks its token
    # endpoint again). The question is answered elsewhere while the widget is still away.
    await asyncio.to_thread(own_runtime.start)
    await answer_over_http(own_runtime, request_id, "yes")

    await expect(banner).to_be_hidden(timeout=30_000)
    answered = page.locator(f'.mzk-input-request[data-request-id="{request_id}"]')
    await expect(answered).to_have_attribute("data-state", "answered")
    await expect(page.locator(".mzk-msg--user").last).to_have_text("yes")
    await session.screenshot(f"08-resumed-{stop_signal.name}")

    # Reconnected with the last seq it held; what it held before is still there, once.
    assert any(f"last_seq={seen}" in url for url in socket_urls[1:]), socket_urls
    after = await rendered_seqs(page)
    assert after[: len(before)] == before

    # The run goes on from the answer (what it asks next is the runtime's business) to its end.
    await finish_run(page)
    await wait_run_complete(page)
    events = await stored_events(own_runtime, chat_id)
    final = await rendered_seqs(page)
    assert final == renderable_seqs(events)  # each drawn once, in order, none missing
    assert len(final) == len(set(final))
    users = await page.locator(".mzk-msg--user").all_text_contents()
    assert users[:2] == ["A weekend somewhere warm", "yes"]
    assert (await widget_state(page))["last_seq"] == events[-1]["seq"]
    await expect(page.locator(".mzk-note--error")).to_have_count(0)  # client.resume was accepted
    assert session.probe.page_errors == []


async def test_reopening_a_closed_widget_catches_up_without_duplicates(
    session: BrowserSession, runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, runtime)
    chat_id = await start_chat(page, "hello")
    question = page.locator(".mzk-input-request")
    request_id = await question.get_attribute("data-request-id", timeout=30_000)
    assert request_id
    before = await rendered_seqs(page)

    await page.evaluate("window.mozaiksChat.close()")
    await answer_over_http(runtime, request_id, "Grace")
    await page.evaluate("window.mozaiksChat.open()")
    await wait_run_complete(page)

    events = await stored_events(runtime, chat_id)
    final = await rendered_seqs(page)
    assert final[: len(before)] == before
    assert final == renderable_seqs(events)
    await expect(page.locator(".mzk-msg--user")).to_have_text(["Grace"])


async def test_a_page_reload_replays_the_chat_into_the_empty_widget(
    session: BrowserSession, runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, runtime)
    chat_id = await start_chat(page, "hello")
    await expect(page.locator(".mzk-input-request")).to_have_count(1)
    before = await rendered_seqs(page)

    await page.reload()
    await wait_connected(page)
    state = await widget_state(page)
    assert (state["chat_id"], state["surface"]) == (chat_id, "compact")
    await expect(page.locator(".mzk-input-request")).to_have_count(1)
    assert await rendered_seqs(page) == before

    await answer_input(page, "Lin")
    await wait_run_complete(page)
    events = await stored_events(runtime, chat_id)
    assert await rendered_seqs(page) == renderable_seqs(events)
    assert session.probe.page_errors == []
