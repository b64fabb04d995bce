"""The dev page and the widget against the real runtime, in headless Chromium: the three surfaces,
the host-page API and events, and the example workflows run to completion."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.harness import BrowserSession, RuntimeProcess
from tests.browser.widget import (
    ROOT,
    answer_input,
    open_dev_page,
    renderable_seqs,
    rendered_seqs,
    send_message,
    start_chat,
    stored_events,
    wait_run_complete,
    widget_state,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def test_dev_page_lists_workflows_and_drives_the_surfaces(
    session: BrowserSession, runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, runtime)
    names = await page.locator(".dev__workflow").evaluate_all(
        "items => items.map(i => i.dataset.workflow)"
    )
    assert {"hello", "trip_planner"} <= set(names)
    await expect(page.locator(".mzk-panel")).to_be_hidden()
    await session.screenshot("01-dev-page-bubble")

    # The host page's API: open (compact), expand, collapse, close; each open/close is an event.
    await page.evaluate(
        """() => {
            window.__events = [];
            for (const name of ["mozaiks:chat:open", "mozaiks:chat:close"]) {
                window.addEventListener(name, (e) => window.__events.push([e.type, e.detail]));
            }
        }"""
    )
    opened = await page.evaluate("window.mozaiksChat.open({workflow_name: 'hello'})")
    assert opened["workflow_name"] == "hello" and opened["chat_id"]
    await expect(page.locator(f'{ROOT}[data-surface="compact"] .mzk-panel')).to_be_visible()
    await expect(page.locator(".mzk-title")).to_have_text("Hello")

    await page.click(".mzk-expand")
    panel = await page.locator(".mzk-panel").bounding_box()
    assert panel is not None and panel["width"] == 1180 and panel["height"] == 780
    await page.click(".mzk-expand")  # back to compact
    assert (await widget_state(page))["surface"] == "compact"

    await page.click(".mzk-close")
    await expect(page.locator(".mzk-panel")).to_be_hidden()
    await expect(page.locator(".mzk-bubble")).to_be_visible()
    events = await page.evaluate("window.__events")
    assert [e[0] for e in events] == ["mozaiks:chat:open", "mozaiks:chat:close"]
    assert events[0][1] == {"workflow_name": "hello", "chat_id": opened["chat_id"]}
    assert events[1][1]["chat_id"] == opened["chat_id"]

    # The bubble reopens the same chat, which resumes where it was.
    await page.click(".mzk-bubble")
    await expect(page.locator(".mzk-input-request")).to_have_count(1)
    assert (await widget_state(page))["chat_id"] == opened["chat_id"]
    assert session.probe.page_errors == []


async def test_hello_runs_through_its_question_to_completion(
    session: BrowserSession, runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, runtime)
    chat_id = await start_chat(page, "hello")

    request = page.locator(".mzk-input-request")
    await expect(request).to_contain_text("What is your name?")
    await expect(page.locator(".mzk-composer__prompt")).to_have_text("Hello! What is your name?")
    await answer_input(page, "Ada Lovelace")
    await wait_run_complete(page)

    await expect(request).to_have_attribute("data-state", "answered")
    await expect(page.locator(".mzk-msg--user")).to_have_text(["Ada Lovelace"])
    greeting = page.locator(".mzk-msg--agent").last
    await expect(greeting.locator(".mzk-msg__name")).to_have_text("Greeter")
    await expect(greeting.locator(".mzk-msg__body")).to_contain_text("Ada Lovelace")

    events = await stored_events(runtime, chat_id)
    usage = sum(e["data"]["total_tokens"] for e in events if e["type"] == "chat.usage_delta")
    assert usage > 0
    await expect(page.locator(".mzk-usage")).to_have_attribute("data-total", str(usage))
    assert await rendered_seqs(page) == renderable_seqs(events)
    await session.screenshot("02-hello-compact")

    await page.click(".mzk-expand")
    await session.screenshot("03-hello-overlay")
    assert session.probe.page_errors == []


async def test_trip_planner_runs_through_form_tool_approval_and_confirmation(
    session: BrowserSession, runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, runtime)
    chat_id = await start_chat(page, "trip_planner")

    # user_driven: the first message starts the run; the Concierge shows a form (UI tool).
    await send_message(page, "I would like a short trip")
    form = page.locator(".mzk-ui-tool--form")
    await expect(form).to_be_visible()
    await expect(form.locator(".mzk-card__title")).to_have_text("Your trip")
    await expect(form.locator('input[name="destination"]')).to_have_value("Lisbon")
    await form.locator('input[name="destination"]').fill("Porto")
    await form.locator('input[name="days"]').fill("4")
    await form.locator('input[name="travellers"]').fill("2")
    await session.screenshot("04-trip-form")
    await form.locator(".mzk-submit").click()
    await expect(form).to_have_attribute("data-state", "completed")

    # Hand-off to the Planner, whose tool call shows collapsed, with its result inside.
    tool = page.locator('.mzk-tool[data-state="done"]')
    await expect(tool.locator(".mzk-tool__name")).to_have_text("estimate_trip_cost")
    await expect(tool.locator(".mzk-tool__result")).to_be_hidden()
    await tool.locator(".mzk-tool__summary").click()
    await expect(tool.locator(".mzk-tool__result")).to_contain_text('"total":')

    # The Booker asks for approval (human input), then shows a confirmation card (artifact).
    await expect(page.locator(".mzk-input-request")).to_contain_text("Shall I book this trip?")
    await answer_input(page, "yes")
    card = page.locator(".mzk-artifacts .mzk-ui-tool--confirmation")
    await expect(card).to_be_visible()
    events = await stored_events(runtime, chat_id)
    booking = next(e for e in events if e["data"].get("component_type") == "confirmation")
    details = card.locator(".mzk-card__details")
    await expect(details).to_contain_text(str(booking["data"]["payload"]["destination"]))
    await expect(details).to_contain_text(str(booking["data"]["payload"]["total"]))
    await page.click(".mzk-expand")
    await session.screenshot("05-trip-confirmation-overlay")
    await card.locator(".mzk-confirm").click()
    await wait_run_complete(page)
    await expect(card).to_have_attribute("data-state", "completed")

    names = await page.locator(".mzk-msg--agent .mzk-msg__name").all_text_contents()
    assert {"Concierge", "Planner", "Booker"} <= set(names)
    events = await stored_events(runtime, chat_id)
    answers = [e for e in events if e["type"] == "chat.ui_tool_complete"]
    assert len(answers) == 2
    assert await rendered_seqs(page) == renderable_seqs(events)
    await session.screenshot("06-trip-complete-overlay")
    assert session.probe.page_errors == []


async def test_password_question_is_masked(
    session: BrowserSession, runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, runtime)
    await start_chat(page, "secret_question")
    await expect(page.locator(".mzk-input-request")).to_contain_text("passphrase")
    await expect(page.locator(".mzk-input")).to_have_attribute("type", "password")
    await answer_input(page, "correct horse battery")
    await wait_run_complete(page)
    bubble = page.locator(".mzk-msg--user")
    await expect(bubble).to_have_count(1)
    await expect(bubble).not_to_contain_text("correct horse")
    await expect(page.locator(".mzk-input")).to_have_attribute("type", "text")


async def test_schema_forms_answer_typed_values_and_unknown_components_still_render(
    session: BrowserSession, runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, runtime)
    await start_chat(page, "ui_gallery")

    form = page.locator(".mzk-ui-tool--form")
    await expect(form.locator(".mzk-card__title")).to_have_text("Dinner")
    guests = form.locator('input[name="guests"]')
    await expect(guests).to_have_attribute("type", "number")
    await expect(guests).to_have_value("2")
    options = await form.locator('select[name="meal"] option').all_text_contents()
    assert options == ["meat", "fish", "veggie"]
    await expect(form.locator('input[name="email"]')).to_have_attribute("type", "email")

    # A required field left empty keeps the form open (the browser's own validation).
    await form.locator(".mzk-submit").click()
    await expect(form).to_have_attribute("data-state", "open")
    await guests.fill("3")
    await form.locator('select[name="meal"]').select_option("fish")
    await form.locator('input[name="vegetarian"]').check()
    await form.locator('input[name="email"]').fill("ada@example.org")
    await form.locator(".mzk-submit").click()
    await expect(form).to_have_attribute("data-state", "completed")

    # "receipt" is no component the widget knows: it shows the payload as text and an OK.
    card = page.locator('.mzk-ui-tool[data-component="receipt"]')
    await expect(card.locator(".mzk-card__title")).to_have_text("Your receipt")
    await expect(card.locator(".mzk-card__text")).to_have_text("Thank you!")
    await expect(card.locator(".mzk-card__details dt")).to_have_text(["order"])
    await expect(card.locator(".mzk-card__details dd")).to_have_text(["42"])
    await session.screenshot("16-generic-component")
    await card.get_by_role("button", name="OK").click()
    await wait_run_complete(page)

    # The answers reached the agent typed: a number, a boolean, the chosen option.
    reply = page.locator(".mzk-msg--agent .mzk-msg__body").last
    for fragment in ('"guests": 3', '"meal": "fish"', '"vegetarian": true', '"acknowledged": true'):
        await expect(reply).to_contain_text(fragment)


async def test_stop_cancels_the_run_and_the_chat_takes_the_next_message(
    session: BrowserSession, runtime: RuntimeProcess
) -> None:
    page = session.page
    await open_dev_page(page, runtime)
    chat_id = await start_chat(page, "hello")
    await expect(page.locator(".mzk-input-request")).to_contain_text("What is your name?")
    stop = page.locator(".mzk-stop")
    await expect(stop).to_be_visible()  # the run waits for the user: it can be stopped
    await stop.click()

    notice = page.locator("[data-run-status=cancelled]")
    await expect(notice).to_have_text("The run was cancelled.")
    await expect(stop).to_be_hidden()
    events = await stored_events(runtime, chat_id)
    assert events[-1]["type"] == "chat.run_cancelled"
    assert events[-1]["data"]["reason"] == "stopped in the chat window"
    assert "chat.run_complete" not in [e["type"] for e in events]

    await send_message(page, "Ada")  # the chat is ready for the next message: a new run
    cancelled_at = events[-1]["seq"]
    later: list[dict[str, Any]] = []
    for _ in range(100):
        later = [e for e in await stored_events(runtime, chat_id) if e["seq"] > cancelled_at]
        if len(later) >= 2:
            break
        await asyncio.sleep(0.1)
    assert [e["type"] for e in later][:2] == ["chat.text", "chat.run_start"]
    assert session.probe.page_errors == []
