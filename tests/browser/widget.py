"""What a person does with the widget on the dev page, as small steps the tests read like a story.

Playwright's CSS locators pierce the widget's open shadow root, so `.mzk-*` selectors reach into
it. Checks against the runtime's own record (`/api/sessions/{chat_id}/events`) use the same dev
token the page gets from `/dev/token`.
"""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.browser.harness import UI_TIMEOUT_MS, RuntimeProcess

# Persisted event types the widget draws as one element carrying the event's seq.
RENDERED_TYPES = frozenset({"chat.text", "chat.tool_call", "chat.input_request"})
ROOT = ".mzk-root"


async def open_dev_page(page: Page, runtime: RuntimeProcess) -> None:
    await page.goto(runtime.url + "/")
    await expect(page.locator(".dev__workflow").first).to_be_visible()
    await page.wait_for_selector(ROOT, state="attached")


async def start_chat(page: Page, workflow: str, *, overlay: bool = False) -> str:
    """Click the workflow's button on the dev page; returns the new chat's id once connected."""
    button = ".dev__start-overlay" if overlay else ".dev__start"
    await page.click(f'.dev__workflow[data-workflow="{workflow}"] {button}')
    await wait_connected(page)
    state = await widget_state(page)
    assert state["workflow_name"] == workflow
    return str(state["chat_id"])


async def wait_connected(page: Page) -> None:
    await page.wait_for_selector(f'{ROOT}[data-connection="open"]', state="attached")


async def widget_state(page: Page) -> dict[str, Any]:
    state = await page.evaluate("window.mozaiksChat.state()")
    assert isinstance(state, dict)
    return state


async def answer_input(page: Page, text: str) -> None:
    """Answer the open input request through the composer."""
    await page.wait_for_selector(f"{ROOT}[data-awaiting-input]", state="attached")
    await page.fill(".mzk-input", text)
    await page.click(".mzk-send")


async def send_message(page: Page, text: str) -> None:
    await page.fill(".mzk-input", text)
    await page.click(".mzk-send")


async def wait_run_complete(page: Page, *, status: str = "completed") -> None:
    done = page.locator(f'.mzk-note[data-run-status="{status}"]')
    await expect(done).to_have_count(1, timeout=UI_TIMEOUT_MS)


async def finish_run(page: Page, *, answer: str = "yes", max_steps: int = 6) -> None:
    """Answer whatever the workflow asks next (input: `answer`; a card: confirm) until it ends."""
    done = page.locator(".mzk-note[data-run-status]")
    card = page.locator('.mzk-ui-tool[data-state="open"] .mzk-confirm')
    awaiting = page.locator(f"{ROOT}[data-awaiting-input]")
    for _ in range(max_steps):
        await done.or_(card).or_(awaiting).first.wait_for(state="attached")
        if await done.count():
            return
        if await card.count():
            await card.first.click()
            await expect(card).to_have_count(0)
        else:
            await answer_input(page, answer)
            await expect(awaiting).to_have_count(0)
    raise AssertionError(f"the run did not end within {max_steps} answers")


async def rendered_seqs(page: Page) -> list[int]:
    """The seq of every element the widget drew for a persisted event, in document order."""
    raw = await page.locator(".mzk-messages [data-seq], .mzk-artifacts [data-seq]").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('data-seq'))"
    )
    return [int(value) for value in raw]


async def dev_token(client: httpx.AsyncClient) -> str:
    body = (await client.get("/dev/token")).json()
    return str(body["token"])


async def stored_events(
    runtime: RuntimeProcess, chat_id: str, *, token: str | None = None
) -> list[dict[str, Any]]:
    """Every persisted event of the chat, from the runtime's history route (as its owner:
    the dev user unless another user's token is given)."""
    async with httpx.AsyncClient(base_url=runtime.url, timeout=10) as client:
        headers = {"Authorization": f"Bearer {token or await dev_token(client)}"}
        return await _history(client, chat_id, headers)


async def _history(
    client: httpx.AsyncClient, chat_id: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        res = await client.get(
            f"/api/sessions/{chat_id}/events",
            params={"after_seq": after, "limit": 200},
            headers=headers,
        )
        res.raise_for_status()
        page = res.json()["events"]
        events.extend(page)
        if not page:
            return events
        after = page[-1]["seq"]


def renderable_seqs(events: list[dict[str, Any]]) -> list[int]:
    """The seqs the widget must draw exactly once: visible texts, tool calls, input requests."""
    return [
        e["seq"]
        for e in events
        if e["type"] in RENDERED_TYPES and e["data"].get("visible", True) is not False
    ]
