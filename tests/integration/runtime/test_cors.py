"""Host pages on other origins: only the tenant's allowed origins may call the API from a
browser (the widget's start and catalog calls); without a list, no CORS headers at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.runtime.conftest import base_settings, serve

pytestmark = pytest.mark.integration

ALLOWED = "https://shop.example.com"


async def test_allowed_origin_gets_cors_headers_and_others_do_not(tmp_path: Path) -> None:
    async with serve(base_settings(tmp_path, cors_origins=ALLOWED)) as rt:
        preflight = await rt.http.options(
            "/api/chats/demo/scripted/start",
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ALLOWED
        catalog = await rt.http.get("/api/workflows", headers={"Origin": ALLOWED})
        assert catalog.headers["access-control-allow-origin"] == ALLOWED

        stranger = await rt.http.get("/api/workflows", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers
        refused = await rt.http.options(
            "/api/sessions",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert refused.status_code == 400
        # CORS never replaces the token check.
        started = await rt.http.post("/api/chats/demo/scripted/start", headers={"Origin": ALLOWED})
        assert started.status_code == 401


async def test_no_origin_list_means_same_origin_only(tmp_path: Path) -> None:
    async with serve(base_settings(tmp_path)) as rt:
        catalog = await rt.http.get("/api/workflows", headers={"Origin": ALLOWED})
        assert catalog.status_code == 200
        assert "access-control-allow-origin" not in catalog.headers
