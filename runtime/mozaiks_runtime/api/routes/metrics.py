"""GET /metrics: Prometheus exposition of this process (pod network only, not the ingress)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from mozaiks_runtime.metrics import Metrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    body, content_type = registry.render()
    return Response(content=body, media_type=content_type)
