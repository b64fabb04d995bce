"""Probes: /api/health (liveness: the process answers) and /api/ready (database and workflows)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mozaiks_runtime.api.deps import RegistryDep, StoreDep
from mozaiks_runtime.errors import StorageUnavailable

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Public and detail-free: says only that the process serves requests."""
    return {"status": "ok"}


@router.get("/ready", response_model=None)
async def ready(store: StoreDep, registry: RegistryDep) -> dict[str, object] | JSONResponse:
    """Ready when the database answers and at least one workflow is loaded."""
    try:
        await store.ping()
    except StorageUnavailable:
        return JSONResponse({"detail": "database unavailable"}, status_code=503)
    loaded = len(registry.all())
    if loaded == 0:
        return JSONResponse({"detail": "no workflow loaded"}, status_code=503)
    return {"status": "ready", "workflows": loaded}
