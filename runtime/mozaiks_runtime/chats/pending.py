"""Open questions to a chat's user (text input, UI tools): persisted before they are asked, so
they survive a restart; answered once, by the chat's owner only; every wait has a deadline."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from mozaiks_runtime.errors import InputRequestNotFound, InputTimeout, StorageUnavailable
from mozaiks_runtime.storage.base import PendingKind, PendingRequest, Store, utcnow

log = logging.getLogger(__name__)


class PendingRequests:
    def __init__(self, store: Store, *, poll_seconds: float = 2.0) -> None:
        self._store = store
        # While waiting, the store is also polled: on another replica the answer lands only there.
        self._poll_seconds = poll_seconds
        self._waiters: dict[tuple[str, str], asyncio.Future[Any]] = {}

    async def open(
        self,
        *,
        app_id: str,
        chat_id: str,
        user_id: str,
        kind: PendingKind,
        agent: str,
        payload: Mapping[str, Any],
        timeout_seconds: float,
    ) -> PendingRequest:
        """Persist a new request and register its waiter (call `wait` next)."""
        now = utcnow()
        prefix = "in" if kind == "input" else "ui"
        request = PendingRequest(
            request_id=f"{prefix}_{uuid.uuid4().hex}",
            app_id=app_id,
            chat_id=chat_id,
            user_id=user_id,
            kind=kind,
            agent=agent,
            payload=payload,
            created_at=now,
            expires_at=now + timedelta(seconds=timeout_seconds),
        )
        await self._store.create_pending(request)
        self._waiters[(app_id, request.request_id)] = asyncio.get_running_loop().create_future()
        return request

    async def wait(self, request: PendingRequest) -> Any:
        """The answer; at the deadline the request expires and InputTimeout is raised."""
        key = (request.app_id, request.request_id)
        future = self._waiters[key]
        try:
            while (remaining := (request.expires_at - utcnow()).total_seconds()) > 0:
                try:
                    async with asyncio.timeout(min(remaining, self._poll_seconds)):
                        return await asyncio.shield(future)
                except TimeoutError:
                    stored = await self._store.get_pending(request.app_id, request.request_id)
                    if stored is not None and stored.status == "answered":
                        return stored.answer
                    if stored is None or stored.status != "open":
                        break
            expired = await self._store.resolve_pending(
                request.app_id, request.request_id, answer=None, status="expired"
            )
            if expired is None:  # answered at the last moment
                stored = await self._store.get_pending(request.app_id, request.request_id)
                if stored is not None and stored.status == "answered":
                    return stored.answer
            raise InputTimeout("nobody answered in time")
        finally:
            self._waiters.pop(key, None)

    async def answer(
        self,
        *,
        app_id: str,
        chat_id: str,
        user_id: str,
        request_id: str,
        answer: Any,
        kind: PendingKind | None = None,
    ) -> tuple[PendingRequest, bool]:
        """Close the request with the user's answer. Returns it and whether a run of this
        process was waiting for it (False after a restart: the caller resumes the run).

        InputRequestNotFound when it does not exist, belongs to another chat or user, is of
        another kind, or is no longer open."""
        # Looked up before any await: a waiting run's store poll may see the answer and drop
        # its waiter meanwhile, and that run must not be taken for a dead one (which would
        # start a second run for the same answer).
        future = self._waiters.get((app_id, request_id))
        stored = await self._store.get_pending(app_id, request_id)
        if (
            stored is None
            or stored.chat_id != chat_id
            or stored.user_id != user_id
            or (kind is not None and stored.kind != kind)
        ):
            raise InputRequestNotFound("no such request in this chat")
        resolved = await self._store.resolve_pending(app_id, request_id, answer=answer)
        if resolved is None:
            raise InputRequestNotFound("the request was already answered or has expired")
        if future is not None and not future.done():
            future.set_result(answer)
        return resolved, future is not None

    async def forget_answer(self, request: PendingRequest) -> None:
        """Drop the stored answer of a request whose run took it (a password: the chat's log
        never had it, and the store keeps it no longer than needed)."""
        await self._store.forget_answer(request.app_id, request.request_id)

    async def open_for(self, app_id: str, chat_id: str) -> list[PendingRequest]:
        """Requests of the chat still open and not past their deadline, oldest first."""
        now = utcnow()
        found = await self._store.list_open_pending(app_id, chat_id)
        return [r for r in found if r.expires_at > now]


async def sweep_expired(store: Store, app_id: str, *, every_seconds: float = 60.0) -> None:
    """Mark requests past their deadline as expired, forever (a task the lifespan owns). Runs
    expire their own questions; this catches the ones whose run died and nobody answered."""
    while True:
        try:
            expired = await store.expire_pending(app_id, utcnow())
        except StorageUnavailable:
            log.warning("could not expire pending requests; retrying")
        else:
            if expired:
                log.info("expired %d unanswered requests", expired)
        await asyncio.sleep(every_seconds)
