"""Log redaction and JSON shape: no token, header value or secret survives into a log line."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest
import uvicorn.config

from mozaiks_runtime.auth.mint import mint_token
from mozaiks_runtime.config import Settings
from mozaiks_runtime.logs import chat_context, configure_logging, redact, request_id_var

pytestmark = pytest.mark.unit

SECRET = "logs-test-secret-value-0123456789"
TOKEN = mint_token(SECRET, user="alice", app="acme")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(
        Settings.load(app_id="acme", jwt_secret=SECRET, llm_api_key="sk-llm-key-abcdef123456"),
        stream,
    )
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def lines(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    "text",
    [
        f"token {TOKEN} used",
        f"Authorization: Bearer {TOKEN}",
        '{"authorization": "Bearer opaque-value-123"}',
        f"GET /ws/hello/acme/c1/alice?access_token={TOKEN}&last_seq=3",
        "GET /ws/hello/acme/c1/alice?access_token=opaque-not-a-jwt",
        f"sec-websocket-protocol: bearer, {TOKEN}",
        "mongodb://mozaiks:hunter2-password@db:27017/x",
    ],
)
def test_redact_removes_credentials(text: str) -> None:
    out = redact(text)
    assert TOKEN not in out
    assert "opaque" not in out and "hunter2" not in out
    assert "[redacted]" in out


def test_ordinary_text_is_untouched() -> None:
    text = "chat c_1 used max_token=5 prompt_tokens=10 for workflow hello"
    assert redact(text) == text


def test_log_lines_are_json_with_ids_and_no_secrets(captured: io.StringIO) -> None:
    log = logging.getLogger("mozaiks_runtime.test")
    token = request_id_var.set("req-1")
    try:
        with chat_context("c_42"):
            log.info("verifying %s with %s", TOKEN, SECRET)
        log.warning("llm key sk-llm-key-abcdef123456 rejected")
    finally:
        request_id_var.reset(token)
    first, second = lines(captured)
    assert first["level"] == "INFO"
    assert first["request_id"] == "req-1"
    assert first["chat_id"] == "c_42"
    assert TOKEN not in first["message"] and SECRET not in first["message"]
    assert "chat_id" not in second
    assert "sk-llm-key" not in second["message"]


def test_tracebacks_are_redacted(captured: io.StringIO) -> None:
    try:
        raise RuntimeError(f"bad token {TOKEN}")
    except RuntimeError:
        logging.getLogger("mozaiks_runtime.test").exception("failed")
    (entry,) = lines(captured)
    assert "RuntimeError" in entry["exc"]
    assert TOKEN not in entry["exc"]


def test_uvicorn_access_log_is_redacted(captured: io.StringIO) -> None:
    access = logging.getLogger("uvicorn.access")
    access.info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", f"/ws/x?access_token={TOKEN}", "1.1", 101
    )
    (entry,) = lines(captured)
    assert TOKEN not in entry["message"] and "access_token=[redacted]" in entry["message"]


def test_uvicorn_logging_configured_earlier_is_taken_over() -> None:
    """uvicorn's default config (own handlers, no propagation, WARNING) must not survive:
    its access log would print `?access_token=` unredacted, or nothing at all."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    logging.config.dictConfig(
        {
            **uvicorn.config.LOGGING_CONFIG,
            "loggers": {
                name: {**cfg, "level": "WARNING"}
                for name, cfg in uvicorn.config.LOGGING_CONFIG["loggers"].items()
            },
        }
    )
    stream = io.StringIO()
    try:
        configure_logging(Settings.load(app_id="acme", jwt_secret=SECRET), stream)
        logging.getLogger("uvicorn.access").info("GET /ws/x?access_token=%s", TOKEN)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    (entry,) = lines(stream)
    assert entry["logger"] == "uvicorn.access"
    assert TOKEN not in entry["message"]
