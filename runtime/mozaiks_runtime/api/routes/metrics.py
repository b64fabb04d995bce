"""GET /metrics: Prometheus exposition of this process, for scrapers on the pod network.

The tenant's Ingress forwards every path to the runtime, so a request that came through a proxy
(it carries `Forwarded`, `X-Forwarded-For` or `X-Real-IP`, which ingress controllers always add)
gets a 404: workflow and model names and token counts are not for the public internet.
Prometheus scrapes the pod or Service directly and sends none of these headers.
With MOZAIKS_METRICS_PORT set, /metrics lives on that port only (metrics_port.py) and this
route answers 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from mozaiks_runtime.errors import NotFound
from mozaiks_runtime.metrics import Metrics

PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def metrics_router(registry: Metrics, *, metrics_port: int | None = None) -> APIRouter:
    """The route for this app's registry (it is there before the lifespan starts, and /metrics
    needs nothing the lifespan opens)."""
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        if any(name in request.headers for name in PROXY_HEADERS):
            raise NotFound("not found")
        if metrics_port is not None:
            raise NotFound("not found")  # served on MOZAIKS_METRICS_PORT only
        body, content_type = registry.render()
        return Response(content=body, media_type=content_type)

    return router
