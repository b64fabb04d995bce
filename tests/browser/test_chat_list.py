"""The widget lists the user's chats and deletes them (a running one is stopped first); a chat
deleted elsewhere closes its socket with 4410 and the widget forgets it rather than reconnect
(which would start an empty chat under the same id). Real runtime, headless Chromium."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.harness import BrowserSession, RuntimeProcess
from tests.browser.widget import ROOT, dev_token, open_dev_page, start_chat, widget_state

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def _status(runtime: RuntimeProcess, chat_id: str) -> int:
    async with httpx.AsyncClient(base_url=runtime.url, timeout=10) as client:
        headers = {"Authorization": f"Bearer {await dev_token(client)}"}
        return (await client.get(f"/api/sessions/{chat_id}", headers=headers)).status_code


async def _delete(page: Page, chat_id: str) -> None:
    button = page.locator(f'.mzk-chats__item[data-chat-id="{chat_id}"] .mzk-chats__delete')
    await button.click()
    await expect(button).to_have_text("Delete for good?")  # the first click only asks
    await button.click()
    await expect(page.locator(f'.mzk-chats__item[data-chat-id="{chat_id}"]')).to_have_count(0)


async def _forgotten(page: Page, runtime: RuntimeProcess, chat_id: str) -> None:
    """The widget shows the chat as deleted and does not reconnect to it."""
    await expect(page.locator(".mzk-banner__text")).to_have_text("This chat was deleted.")
    await expect(page.locator(f'{ROOT}[data-chat-status="deleted"]')).to_have_count(1)
    state = await widget_state(page)
    assert state["chat_id"] is None and state["connection"] == "idle"
    await asyncio.sleep(1.5)  # longer than the first reconnect backoff
    assert (await widget_state(page))["connection"] == "idle"
    assert await _status(runtime, chat_id) == 404  # not re-created by a reconnect


async def test_the_user_lists_and_deletes_their_chats(
    session: BrowserSession, runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, runtime)
    await page.evaluate(
        "window.deleted = []; document.addEventListener('mozaiks:chat:deleted',"
        " (ev) => window.deleted.push(ev.detail.chat_id))"
    )
    first = await start_chat(page, "hello")
    await expect(page.locator(".mzk-input-request")).to_contain_text("What is your name?")
    second = await start_chat(page, "trip_planner")  # the first one's run waits for its user

    await page.click(".mzk-chats-toggle")
    items = page.locator(".mzk-chats__item")
    await expect(items.first).to_be_visible()
    listed = await items.evaluate_all("nodes => nodes.map(n => n.dataset.chatId)")
    assert listed[:2] == [second, first]  # newest first
    await expect(page.locator(f'[data-chat-id="{second}"][data-current="true"]')).to_have_count(1)
    await session.screenshot("chat-list")

    await _delete(page, first)  # not the open chat; its waiting run is stopped first
    assert await _status(runtime, first) == 404
    assert (await widget_state(page))["chat_id"] == second

    await _delete(page, second)  # the open chat
    await _forgotten(page, runtime, second)
    assert await page.evaluate("window.deleted") == [second]

    # Deleted elsewhere (the host app's backend, say): the socket closes with 4410.
    await page.click(".mzk-chats-toggle")  # back to the conversation
    third = await start_chat(page, "hello")
    await expect(page.locator(".mzk-input-request")).to_contain_text("What is your name?")
    async with httpx.AsyncClient(base_url=runtime.url, timeout=10) as client:
        headers = {"Authorization": f"Bearer {await dev_token(client)}"}
        gone = await client.delete(f"/api/sessions/{third}?force=true", headers=headers)
        assert gone.status_code == 200
    await expect(page.locator('.mzk-note[data-error-code="CHAT_DELETED"]')).to_have_count(1)
    await _forgotten(page, runtime, third)
    assert await page.evaluate("window.deleted") == [second, third]
    await session.screenshot("chat-deleted")
    assert session.probe.page_errors == []
