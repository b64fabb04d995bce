"""The pieces the browser tests are built from: the runtime as a child process (restartable on
the same port and SQLite file, which is how a test drops every connection mid-run) and a browser
context per test that records page errors, dialogs and console lines. Screenshots go to
`test-output/browser/` (gitignored)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "test-output" / "browser"
FIXTURES = Path(__file__).parent / "workflows"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium's own connections hit this machine's closed
# network; a fresh profile per context comes from Playwright's launch().
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUNTIME_SECRET = "browser-suite-signing-secret-0123456789"
START_TIMEOUT = 90.0  # seconds; the runtime imports ag2, and the CPU is shared
STOP_TIMEOUT = 20.0
UI_TIMEOUT_MS = 30_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RuntimeProcess:
    """`mozaiks runtime --dev` as a child process, restartable on the same port and database."""

    workdir: Path
    workflows_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sqlite_path(self) -> Path:
        return self.workdir / "runtime.sqlite3"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOZAIKS_")}
        env.update(
            MOZAIKS_SQLITE_PATH=str(self.sqlite_path),
            MOZAIKS_WORKFLOWS_DIR=str(self.workflows_dir),
            MOZAIKS_LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        assert self.proc is None, "already running"
        self.starts += 1
        log = (self.workdir / f"runtime-{self.starts}.log").open("wb")
        cmd = [
            str(Path(sys.executable).with_name("mozaiks")),
            "runtime",
            "--dev",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=self.workdir, env=self.env(), stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"runtime exited with {self.proc.returncode}:\n{self.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/health", timeout=2.0).status_code == 200:
                    return
            time.sleep(0.25)
        raise AssertionError(f"runtime not ready after {START_TIMEOUT}s:\n{self.logs()}")

    def stop(self, *, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the process (SIGKILL drops every socket the hard way, as a crash would)."""
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None

    def keep_logs(self) -> None:
        """Copy the process's logs next to the screenshots (tmp dirs rotate away)."""
        target = OUTPUT / "logs"
        target.mkdir(parents=True, exist_ok=True)
        for log in sorted(self.workdir.glob("runtime-*.log")):
            shutil.copy(log, target / f"{self.workdir.name}-{log.name}")

    def logs(self) -> str:
        parts = [p.read_text(errors="replace") for p in sorted(self.workdir.glob("runtime-*.log"))]
        return "\n".join(parts)[-8000:]


def serve(
    workdir: Path, workflows: Path, extra_env: dict[str, str] | None = None
) -> Iterator[RuntimeProcess]:
    """Start a runtime, yield it, stop it (the body of the runtime fixtures)."""
    process = RuntimeProcess(workdir=workdir, workflows_dir=workflows, extra_env=extra_env or {})
    process.start()
    try:
        yield process
    finally:
        process.stop()
        process.keep_logs()


@dataclass
class PageProbe:
    """What a page did that a test may need to assert on: errors, dialogs, console lines."""

    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@dataclass
class BrowserSession:
    context: BrowserContext
    page: Page
    probe: PageProbe

    async def screenshot(self, name: str) -> Path:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / f"{name}.png"
        await self.page.screenshot(path=str(path))
        return path


async def new_session(
    browser: Browser, *, bypass_csp: bool = False, width: int = 1180, height: int = 780
) -> BrowserSession:
    context = await browser.new_context(
        viewport={"width": width, "height": height}, bypass_csp=bypass_csp
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = await context.new_page()
    probe = PageProbe()
    page.on("pageerror", lambda exc: probe.page_errors.append(str(exc)))
    page.on("console", lambda msg: _record_console(probe, msg))

    async def on_dialog(dialog: Dialog) -> None:
        probe.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    return BrowserSession(context=context, page=page, probe=probe)


def _record_console(probe: PageProbe, msg: ConsoleMessage) -> None:
    probe.console.append(f"{msg.type}: {msg.text}")
