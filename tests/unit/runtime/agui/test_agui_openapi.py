"""The published contract documents the AG-UI routes: a RunAgentInput body, an event stream."""

from __future__ import annotations

import pytest

from mozaiks_runtime.apidocs import openapi_document

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "path", ["/api/agui/{workflow_name}", "/api/agui/{workflow_name}/{chat_id}"]
)
def test_the_agui_routes_take_a_run_agent_input_and_stream_events(path: str) -> None:
    document = openapi_document()
    operation = document["paths"][path]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/RunAgentInput"}
    run_input = document["components"]["schemas"]["RunAgentInput"]
    assert {"threadId", "runId", "messages"} <= set(run_input["required"])
    assert list(operation["responses"]["200"]["content"]) == ["text/event-stream"]
    assert operation["security"] == [{"HTTPBearer": []}]
    for status in ("401", "404", "422", "429"):
        error = operation["responses"][status]["content"]["application/json"]["schema"]
        assert error["required"] == ["detail", "error_code"], status
