"""Annotated dependencies: what a route needs is in its signature (full-stack-fastapi-template).

Identity comes only from a verified token; the chat a route names is the caller's or a 404
(OwnedChatDep), checked before the route body runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mozaiks_runtime.auth.authenticate import authenticate
from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.chats.service import ChatService
from mozaiks_runtime.config import Settings
from mozaiks_runtime.container import Runtime, runtime_of
from mozaiks_runtime.storage.base import ChatRecord, Store
from mozaiks_runtime.tracing.context import traceparent as valid_traceparent
from mozaiks_runtime.workflows.registry import WorkflowRegistry

DEV_USER_HEADER = "X-Mozaiks-User"  # dev auth only: who the caller claims to be


def _runtime(request: Request) -> Runtime:
    return runtime_of(request.app)


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def _settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


def _store(runtime: RuntimeDep) -> Store:
    return runtime.store


def _service(runtime: RuntimeDep) -> ChatService:
    return runtime.chats


def _registry(runtime: RuntimeDep) -> WorkflowRegistry:
    return runtime.registry


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[Store, Depends(_store)]
ServiceDep = Annotated[ChatService, Depends(_service)]
RegistryDep = Annotated[WorkflowRegistry, Depends(_registry)]


# `Authorization: Bearer <jwt>`, declared through FastAPI so the OpenAPI document names the
# scheme; auto_error is off so a missing token is our AuthError (401 with our body), not FastAPI's.
_BEARER = HTTPBearer(
    auto_error=False, bearerFormat="JWT", description="A JWT from the host app's backend."
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)]


async def _identity(request: Request, runtime: RuntimeDep, bearer: BearerDep) -> Identity:
    """The FastAPI face of auth/authenticate.py: the bearer from the header (or, with dev auth,
    the user the dev header names)."""
    token = bearer.credentials if bearer is not None else None
    return await authenticate(
        runtime.settings, runtime.verifier, token, dev_user=request.headers.get(DEV_USER_HEADER)
    )


IdentityDep = Annotated[Identity, Depends(_identity)]


async def _owned_chat(chat_id: str, identity: IdentityDep, service: ServiceDep) -> ChatRecord:
    return await service.get_chat(identity, chat_id)


OwnedChatDep = Annotated[ChatRecord, Depends(_owned_chat)]


def _trace_parent(
    traceparent: Annotated[
        str | None,
        Header(
            description="W3C trace context: the run this request starts continues its trace "
            "(when the runtime exports traces; an invalid value is ignored)."
        ),
    ] = None,
) -> str | None:
    return valid_traceparent(traceparent)


TraceParentDep = Annotated[str | None, Depends(_trace_parent)]
