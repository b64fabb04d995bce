"""The WebSocket URL the API hands out (api/links.py)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from mozaiks_runtime.api.links import ws_url
from mozaiks_runtime.config import Settings
from mozaiks_runtime.storage.base import ChatRecord, utcnow

pytestmark = pytest.mark.unit
NOW = utcnow()
CHAT = ChatRecord("demo", "c 1/x", "al ice", "hello", "1", "created", NOW, NOW)


def _request(scheme: str = "http", host: str = "127.0.0.1:8080") -> Request:
    return Request(
        {
            "type": "http",
            "scheme": scheme,
            "server": None,
            "path": "/",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", host.encode())],
        }
    )


@pytest.mark.parametrize(
    ("public_url", "scheme", "expected_base"),
    [
        (None, "http", "ws://127.0.0.1:8080"),
        (None, "https", "wss://127.0.0.1:8080"),
        ("https://chat.example.com/", "http", "wss://chat.example.com"),
    ],
)
def test_ws_url(public_url: str | None, scheme: str, expected_base: str) -> None:
    settings = Settings.load(dev_auth=True, public_url=public_url)
    url = ws_url(_request(scheme), settings, CHAT)
    assert url == f"{expected_base}/ws/hello/demo/c%201%2Fx/al%20ice"
