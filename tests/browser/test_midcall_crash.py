"""The runtime dies while a model call is in flight (a real OpenAI-compatible server that answers
slowly): after the restart the runtime picks the unfinished run up from the stored history, and
the widget, which reconnected by itself, shows the run's end once, with nothing twice."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.harness import BrowserSession, RuntimeProcess, serve
from tests.browser.widget import (
    ROOT,
    answer_input,
    open_dev_page,
    renderable_seqs,
    rendered_seqs,
    start_chat,
    stored_events,
    wait_run_complete,
)
from tests.support.fake_llm import FakeLLM, Reply

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture
def llm_runtime(tmp_path: Path, workflows_dir: Path, fake_llm: FakeLLM) -> Iterator[RuntimeProcess]:
    env = {
        "MOZAIKS_LLM_BASE_URL": fake_llm.url,
        "MOZAIKS_LLM_API_KEY": "test-key",
        "MOZAIKS_LLM_MODEL": fake_llm.model,
    }
    yield from serve(tmp_path, workflows_dir, env)


async def test_a_crash_during_a_model_call_resumes_the_run(
    session: BrowserSession, llm_runtime: RuntimeProcess, fake_llm: FakeLLM
) -> None:
    fake_llm.script(
        Reply.tool("ask_user", {"question": "What is your name?"}),
        Reply(text="Hello Ada, this answer never arrives.", delay=20.0),
        Reply.say("Hello Ada, nice to meet you."),
    )
    page = session.page
    await open_dev_page(page, llm_runtime)
    chat_id = await start_chat(page, "hello")
    await answer_input(page, "Ada")

    # The second model call hangs; the process dies under it.
    for _ in range(100):
        if len(fake_llm.requests) >= 2:
            break
        await asyncio.sleep(0.1)
    assert len(fake_llm.requests) >= 2
    await asyncio.to_thread(llm_runtime.stop, sig=signal.SIGKILL)
    await page.wait_for_selector(f'{ROOT}[data-connection="reconnecting"]', state="attached")
    await asyncio.to_thread(llm_runtime.start)

    await wait_run_complete(page)
    await expect(page.locator(".mzk-msg--agent .mzk-msg__body").last).to_have_text(
        "Hello Ada, nice to meet you."
    )
    assert len(fake_llm.requests) == 3  # the resumed run asked the model again
    events = await stored_events(llm_runtime, chat_id)
    final = await rendered_seqs(page)
    assert final == renderable_seqs(events)
    await session.screenshot("15-resumed-after-crash-mid-call")
