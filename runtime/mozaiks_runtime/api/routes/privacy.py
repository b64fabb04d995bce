"""Whose data goes when: DELETE /api/sessions/{chat_id}, GET /api/users/{user_id}/export,
DELETE /api/users/{user_id} (with its receipt) and GET /api/erasures (the audit, admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from mozaiks_runtime.api.deps import IdentityDep, RuntimeDep, StoreDep
from mozaiks_runtime.chats.deletion import ChatDeleter
from mozaiks_runtime.errors import Forbidden
from mozaiks_runtime.storage.base import ErasureAudit
from mozaiks_runtime.users.erasure import UserEraser
from mozaiks_runtime.users.export import check_subject, chunked, export_lines

router = APIRouter()

NDJSON = "application/x-ndjson"
HASH_OF = (
    "SHA-256 of the UTF-8 JSON Lines GET /api/users/{user_id}/export returned for the same data"
)


def _deleter(runtime: RuntimeDep) -> ChatDeleter:
    return runtime.deleter


def _eraser(runtime: RuntimeDep) -> UserEraser:
    return runtime.eraser


DeleterDep = Annotated[ChatDeleter, Depends(_deleter)]
EraserDep = Annotated[UserEraser, Depends(_eraser)]


class Deleted(BaseModel):
    chats: int
    events: int
    pending: int = Field(description="Input and UI-tool requests.")
    inbox: int = Field(description="Queued messages and stop requests.")
    usage: int = Field(description="Per-call usage rows, folded into daily rollups first.")


class SessionDeleted(BaseModel):
    chat_id: str
    deleted: Deleted


class ErasureReceipt(BaseModel):
    receipt_id: str = Field(description="Also the id of the audit record.")
    app_id: str
    user_id: str
    requested_by: str
    erased_at: datetime
    counts: dict[str, int] = Field(
        description="Rows removed per kind, plus `usage_rollups`: the user's rollups now "
        "attributed to nobody (billing totals stay)."
    )
    sha256: str
    hash_of: str = HASH_OF

    @classmethod
    def of(cls, audit: ErasureAudit) -> ErasureReceipt:
        return cls(
            receipt_id=audit.audit_id,
            app_id=audit.app_id,
            user_id=audit.user_id,
            requested_by=audit.requested_by,
            erased_at=audit.erased_at,
            counts=dict(audit.counts),
            sha256=audit.sha256,
        )


class ErasureAuditList(BaseModel):
    erasures: list[ErasureReceipt]


@router.delete("/api/sessions/{chat_id}", tags=["sessions"])
async def delete_session(
    chat_id: str,
    identity: IdentityDep,
    deleter: DeleterDep,
    force: Annotated[bool, Query(description="Stop a running run first.")] = False,
) -> SessionDeleted:
    """Delete a chat (its owner, or an app admin): its events, open questions, queued messages
    and per-call usage (billing totals stay, as daily rollups). Its sockets get `chat.error`
    CHAT_DELETED and close with 4410. 409 `RUN_IN_PROGRESS` while a run holds it, unless
    `force=true` stops the run first; others' and unknown chats are 404."""
    deleted = await deleter.delete(identity, chat_id, force=force)
    return SessionDeleted(chat_id=chat_id, deleted=Deleted(**deleted.as_dict()))


@router.get(
    "/api/users/{user_id}/export",
    tags=["users"],
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}}, "description": "JSON Lines, one row a line."}},
)
async def export_user(user_id: str, identity: IdentityDep, store: StoreDep) -> StreamingResponse:
    """Every chat, event and usage row of the user (themselves, or an app admin) as JSON Lines,
    in the order docs/security.md describes; others get 404."""
    check_subject(identity, user_id)
    lines = chunked(export_lines(store, identity.app_id, user_id))
    headers = {"Content-Disposition": f'attachment; filename="{identity.app_id}-export.jsonl"'}
    return StreamingResponse(lines, media_type=NDJSON, headers=headers)


@router.delete("/api/users/{user_id}", tags=["users"])
async def erase_user(user_id: str, identity: IdentityDep, eraser: EraserDep) -> ErasureReceipt:
    """Erase every chat, event, open question, queued message and per-call usage row of the
    user (themselves, or an app admin); running chats are stopped first. The receipt is kept in
    the erasure audit (without any content); its `sha256` matches an export taken just before."""
    return ErasureReceipt.of(await eraser.erase(identity, user_id))


@router.get("/api/erasures", tags=["users"])
async def list_erasures(
    identity: IdentityDep,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ErasureAuditList:
    """The app's erasure audit, newest first (admin scope)."""
    if not identity.may_read_app(identity.app_id) or identity.chat_id is not None:
        raise Forbidden("the erasure audit needs the admin scope")
    found = await store.list_audit(identity.app_id, limit=limit)
    return ErasureAuditList(erasures=[ErasureReceipt.of(a) for a in found])
