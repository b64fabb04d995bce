"""Every HTTP operation the app publishes, taken from its own OpenAPI document (so a route added
later is covered without editing this file), refuses a caller without a valid token of this
tenant. Only the documented public routes answer without one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.runtime.conftest import Runtime
from tests.integration.security.conftest import bearer, token

pytestmark = pytest.mark.integration

# Liveness and readiness probes, and the workflow catalog the widget loads without a token
# (MOZAIKS_PUBLIC_CATALOG, on by default).
PUBLIC = {("GET", "/api/health"), ("GET", "/api/ready"), ("GET", "/api/workflows")}
PATH_VALUES = {"app_id": "demo", "workflow_name": "scripted", "chat_id": "c_x", "user_id": "alice"}


def operations(rt: Runtime) -> list[tuple[str, str]]:
    document = rt.app.openapi()
    found = []
    for template, item in document["paths"].items():
        for method in item:
            found.append((method.upper(), template.format(**PATH_VALUES)))
    return sorted(found)


async def test_the_document_lists_the_protocol_routes(rt: Runtime) -> None:
    listed = {path for _, path in operations(rt)}
    assert {"/api/sessions", "/api/sessions/c_x", "/api/usage", "/api/user-input/submit"} <= listed
    assert len(listed) >= 14


AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)
BAD_HEADERS: dict[str, Callable[[], dict[str, str]]] = {
    "no token": dict,
    "not a jwt": lambda: bearer("not-a-jwt"),
    "another app": lambda: bearer(token("alice", app="other-app")),
    "expired": lambda: bearer(token("alice", now=AN_HOUR_AGO)),
    "basic auth": lambda: {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="},
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
async def test_every_private_route_refuses_a_missing_or_bad_token(rt: Runtime, case: str) -> None:
    headers = BAD_HEADERS[case]()
    checked = 0
    for method, path in operations(rt):
        if (method, path) in PUBLIC:
            continue
        body = {} if method in ("POST", "PUT", "PATCH") else None
        response = await rt.http.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (method, path, response.status_code, response.text)
        assert response.json()["error_code"] == "UNAUTHORIZED"
        checked += 1
    assert checked >= 11


async def test_the_public_routes_answer_without_a_token(rt: Runtime) -> None:
    for method, path in sorted(PUBLIC):
        response = await rt.http.request(method, path)
        assert response.status_code == 200, path
