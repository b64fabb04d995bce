"""Deleting chats: one on request (DELETE /api/sessions/{chat_id}), idle ones for retention, all
of a user's for erasure. Always by exact keys (app_id + chat ids), through Store.delete_chats,
which keeps the billing totals as usage rollups.

A chat whose run holds the lease is not deleted under it: without `force` the caller gets 409
RUN_IN_PROGRESS; with it the run is stopped first (as POST .../cancel does, on whichever replica
runs it) and the chat deleted under its own lease, so no run writes into it meanwhile. Sockets
following a deleted chat on this replica get `chat.error` CHAT_DELETED and close with 4410;
those on other replicas notice at their next heartbeat (ws/connection.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.chats import events
from mozaiks_runtime.chats.hub import Hub
from mozaiks_runtime.chats.lease import RunLease, lease_name
from mozaiks_runtime.chats.runs import RunManager, Stop
from mozaiks_runtime.errors import ChatDeleted, NotFound, RunInProgress, reply_for
from mozaiks_runtime.storage.base import ChatRecord, DeletedRows, Store

log = logging.getLogger(__name__)

STOP_WAIT_SECONDS = 10.0  # a stopped run on another replica ends within a poll or two
STOP_POLL_SECONDS = 0.2


def may_delete(identity: Identity, chat: ChatRecord) -> bool:
    """The chat's owner, or an admin of its app (a chat-bound token: its own chat only)."""
    if identity.owns(app_id=chat.app_id, user_id=chat.user_id, chat_id=chat.chat_id):
        return True
    return identity.may_read_app(chat.app_id) and identity.may_use_chat(chat.chat_id)


def deleted_frame(chat_id: str) -> events.Frame:
    error = ChatDeleted("this chat was deleted")
    frame = events.transient(
        events.ERROR, events.error_data(error.message, error.error_code), chat_id=chat_id
    )
    code = reply_for(error).ws_close
    assert code is not None
    return replace(frame, close=(code, "chat deleted"))


class ChatDeleter:
    def __init__(
        self,
        *,
        store: Store,
        runs: RunManager,
        hub: Hub,
        replica_id: str,
        lease_ttl_seconds: float,
    ) -> None:
        self._store = store
        self._runs = runs
        self._hub = hub
        # Not the replica's own owner name: taking the lease must fail while this replica's
        # own run holds it (the same owner would renew it instead).
        self._owner = f"{replica_id}/delete"
        self._ttl = lease_ttl_seconds

    async def delete(self, identity: Identity, chat_id: str, *, force: bool) -> DeletedRows:
        """DELETE /api/sessions/{chat_id}: NotFound for others' and unknown chats alike."""
        chat = await self._store.get_chat(identity.app_id, chat_id)
        if chat is None or not may_delete(identity, chat):
            raise NotFound("chat not found")
        return await self.delete_chat(chat, force=force, by=identity.user_id)

    async def delete_chat(
        self,
        chat: ChatRecord,
        *,
        force: bool,
        by: str,
        keep_user: bool = True,
    ) -> DeletedRows:
        """Delete one chat under its lease (no run can start in it meanwhile)."""
        lease = self._lease(chat)
        if not await lease.try_acquire():
            if not force:
                raise RunInProgress("a run is going in this chat; stop it or use force=true")
            await self._stop(chat, lease, by)
        async with lease:
            deleted = await self._store.delete_chats(
                chat.app_id, [chat.chat_id], keep_user=keep_user
            )
        self.close_sockets(chat)
        log.info("chat %s deleted by %s: %s", chat.chat_id, by, deleted.as_dict())
        return deleted

    async def delete_idle(
        self, chats: Sequence[ChatRecord], *, keep_user: bool = True
    ) -> tuple[DeletedRows, list[ChatRecord]]:
        """Delete in one go the chats no run holds; returns the counts and the chats skipped
        because a run holds them (retention leaves them for later; erasure stops them)."""
        names = [lease_name(c.app_id, c.chat_id) for c in chats]
        held = await self._store.held_leases(names)
        busy = [c for c, n in zip(chats, names, strict=True) if n in held]
        free = [c for c, n in zip(chats, names, strict=True) if n not in held]
        if not free:
            return DeletedRows(), busy
        by_app: dict[str, list[str]] = {}
        for chat in free:
            by_app.setdefault(chat.app_id, []).append(chat.chat_id)
        deleted = DeletedRows()
        for app_id, chat_ids in by_app.items():
            deleted += await self._store.delete_chats(app_id, chat_ids, keep_user=keep_user)
        for chat in free:
            self.close_sockets(chat)
        return deleted, busy

    async def stop_runs(self, chats: Sequence[ChatRecord], *, by: str) -> None:
        """Stop the runs that hold any of these chats, wherever they run (erasure)."""
        held = await self._store.held_leases([lease_name(c.app_id, c.chat_id) for c in chats])
        for chat in chats:
            if lease_name(chat.app_id, chat.chat_id) in held:
                lease = self._lease(chat)
                if not await lease.try_acquire():
                    await self._stop(chat, lease, by)
                await self._store.release_lease(lease_name(chat.app_id, chat.chat_id), self._owner)

    def _lease(self, chat: ChatRecord) -> RunLease:
        return RunLease(
            self._store,
            name=lease_name(chat.app_id, chat.chat_id),
            owner=self._owner,
            ttl_seconds=self._ttl,
            on_lost=lambda: None,
        )

    def close_sockets(self, chat: ChatRecord) -> None:
        """Tell this replica's sockets on the chat, which then close with 4410."""
        self._hub.publish(chat.ref, deleted_frame(chat.chat_id))

    async def _stop(self, chat: ChatRecord, lease: RunLease, by: str) -> None:
        """Stop the run holding the chat (here, or on another replica through the inbox) and
        take the lease it frees; RunInProgress when it does not end in time."""
        stop = Stop(by=by, reason="the chat is being deleted")
        await self._runs.request_stop(chat, stop)
        await self._runs.wait(chat.ref)
        try:
            async with asyncio.timeout(STOP_WAIT_SECONDS):
                while True:  # polled: the lease may be freed by another replica
                    if await lease.try_acquire():
                        return
                    await asyncio.sleep(STOP_POLL_SECONDS)
        except TimeoutError:
            raise RunInProgress("the run did not stop in time; try again") from None
