"""DELETE /api/users/{user_id}: erase every chat, event, pending request, queued message and
per-call usage row of one user, and return a receipt that is also appended to the erasure audit
(who asked, whose data, counts per kind, when, and a SHA-256 of what was erased; no content).

The hash covers exactly the lines GET /api/users/{user_id}/export gives for the same data
(users/export.py), so an export taken just before the erasure verifies it: its `sha256sum` is the
receipt's `sha256`. Billing totals stay: usage is folded into rollups attributed to nobody
(ERASED_USER), and the user's existing rollups move there too.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.chats.deletion import ChatDeleter
from mozaiks_runtime.errors import RunInProgress
from mozaiks_runtime.storage.base import (
    DeletedRows,
    ErasureAudit,
    Store,
    utcnow,
)
from mozaiks_runtime.users.export import CHAT_PAGE, check_subject, page_lines, rollup_lines

log = logging.getLogger(__name__)


class UserEraser:
    def __init__(self, *, store: Store, deleter: ChatDeleter) -> None:
        self._store = store
        self._deleter = deleter

    async def erase(self, identity: Identity, user_id: str) -> ErasureAudit:
        check_subject(identity, user_id)
        app_id = identity.app_id
        digest = hashlib.sha256()
        deleted = DeletedRows()
        while True:  # the first page again and again: what was erased is gone from it
            page = await self._store.list_chats(app_id, user_id=user_id, limit=CHAT_PAGE)
            if not page.chats:
                break
            await self._deleter.stop_runs(page.chats, by=identity.user_id)
            async for line in page_lines(self._store, page.chats):
                digest.update(line.encode())
            batch, busy = await self._deleter.delete_idle(page.chats, keep_user=False)
            deleted += batch
            if busy:  # a run started meanwhile: its chat stays; the erasure is not complete
                raise RunInProgress("a run started in one of the user's chats; erase again")
        async for line in rollup_lines(self._store, app_id, user_id):
            digest.update(line.encode())
        moved = await self._store.anonymize_rollups(app_id, user_id)
        audit = ErasureAudit(
            audit_id=f"er_{uuid.uuid4().hex}",
            app_id=app_id,
            user_id=user_id,
            requested_by=identity.user_id,
            counts={**deleted.as_dict(), "usage_rollups": moved},
            sha256=digest.hexdigest(),
            erased_at=utcnow(),
        )
        await self._store.append_audit(audit)
        log.info("user erased by %s: %s", identity.user_id, dict(audit.counts))
        return audit
