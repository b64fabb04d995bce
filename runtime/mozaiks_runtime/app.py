"""create_app(settings) -> the FastAPI app: routers, middleware, one error handler, lifespan."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from mozaiks_runtime import __version__
from mozaiks_runtime.api.body_limit import BodyLimitMiddleware
from mozaiks_runtime.api.routes import (
    agui,
    broker,
    health,
    privacy,
    sessions,
    usage,
    widget,
    workflows,
)
from mozaiks_runtime.api.routes import metrics as metrics_route
from mozaiks_runtime.api.routes.devpage import install_widget_routes
from mozaiks_runtime.config import Settings
from mozaiks_runtime.errors import MozaiksError, RateLimited, reply_for
from mozaiks_runtime.lifespan import RunnerFactory, build_lifespan, default_runner
from mozaiks_runtime.logs import RequestIdMiddleware
from mozaiks_runtime.metrics import Metrics, MetricsMiddleware
from mozaiks_runtime.ws import endpoint as ws_endpoint


def _operation_id(route: APIRoute) -> str:
    """Stable OpenAPI operation ids (`sessions-create_session`) for generated clients."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    """Every domain error becomes `{"detail", "error_code"}` with the status errors.py maps."""
    assert isinstance(exc, MozaiksError)
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    body = {"detail": exc.message, "error_code": exc.error_code}
    return JSONResponse(body, status_code=reply_for(exc).http_status, headers=headers)


def create_app(settings: Settings, *, runner_factory: RunnerFactory = default_runner) -> FastAPI:
    metrics = Metrics()
    app = FastAPI(
        title="Mozaiks runtime",
        version=__version__,
        lifespan=build_lifespan(settings, metrics, runner_factory),
        generate_unique_id_function=_operation_id,
    )
    app.add_exception_handler(MozaiksError, _domain_error)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            max_age=600,
        )
    app.include_router(health.router)
    app.include_router(sessions.router)
    app.include_router(privacy.router)
    app.include_router(workflows.router)
    app.include_router(widget.router)
    app.include_router(usage.router)
    app.include_router(broker.router)
    app.include_router(metrics_route.metrics_router(metrics, metrics_port=settings.metrics_port))
    app.include_router(agui.router)
    app.include_router(ws_endpoint.router)
    install_widget_routes(app, settings)
    return app
