"""Browser tests: the real runtime (`mozaiks runtime --dev`, its own process, SQLite) and Debian's
Chromium driven by Playwright through `executable_path`; no browser is ever downloaded."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright
from playwright.async_api import Error as PlaywrightError

from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FIXTURES,
    REPO,
    RUNTIME_SECRET,
    BrowserSession,
    RuntimeProcess,
    new_session,
    serve,
)


@pytest.fixture(scope="session")
def workflows_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's example workflows plus this suite's own (e.g. a password question)."""
    target = tmp_path_factory.mktemp("workflows")
    sources = [*(REPO / "workflows").glob("*.json"), *FIXTURES.glob("*.json")]
    for source in sources:
        if source.name != "schema.json":
            shutil.copy(source, target / source.name)
    return target


@pytest.fixture(scope="session")
def runtime(
    tmp_path_factory: pytest.TempPathFactory, workflows_dir: Path
) -> Iterator[RuntimeProcess]:
    """One runtime for the suite (each test opens its own chats; none stops it). Its signing
    secret is known, so a test can mint tokens the way a host app's backend does."""
    env = {
        "MOZAIKS_JWT_SECRET": RUNTIME_SECRET,
        # Every test acts as the same dev user within a minute or two; the per-user limits are
        # for people, and are tested elsewhere.
        "MOZAIKS_RATE_LIMIT_NEW_CHATS_PER_MINUTE": "1000",
        "MOZAIKS_RATE_LIMIT_MESSAGES_PER_MINUTE": "1000",
    }
    yield from serve(tmp_path_factory.mktemp("runtime"), workflows_dir, env)


@pytest.fixture
def own_runtime(tmp_path: Path, workflows_dir: Path) -> Iterator[RuntimeProcess]:
    """A runtime of the test's own, for tests that stop and restart it."""
    yield from serve(tmp_path, workflows_dir)


@pytest.fixture(scope="session")
def chromium() -> Path:
    assert CHROMIUM.exists(), "Debian's chromium is missing: run `make browser`"
    return CHROMIUM


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def session(browser: Browser) -> AsyncIterator[BrowserSession]:
    current = await new_session(browser)
    try:
        yield current
    finally:
        with contextlib.suppress(PlaywrightError):
            await current.context.close()
