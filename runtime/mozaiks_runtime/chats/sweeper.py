"""Each replica's watch over runs nobody else looks after: runs whose process died (resumed here,
with no client needed) and stops left in the store for the runs this process executes."""

from __future__ import annotations

import asyncio
import logging

from mozaiks_runtime.chats.lease import lease_name
from mozaiks_runtime.chats.pending import PendingRequests
from mozaiks_runtime.chats.runs import RunManager, RunPlan, Stop
from mozaiks_runtime.refs import ChatRef
from mozaiks_runtime.storage.base import ACTIVE_STATUSES, Store

log = logging.getLogger(__name__)


class RunSweeper:
    """Resumes orphaned runs every `sweep_seconds` and relays stops every `stop_seconds`.
    Several replicas sweep at once safely: a resume starts only under the chat's lease."""

    def __init__(
        self,
        *,
        store: Store,
        runs: RunManager,
        pending: PendingRequests,
        app_id: str,
        sweep_seconds: float,
        stop_seconds: float,
    ) -> None:
        self._store, self._runs, self._pending = store, runs, pending
        self._app_id = app_id
        self._sweep_seconds, self._stop_seconds = sweep_seconds, stop_seconds

    async def run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()  # at start-up first: a restarted replica resumes its own runs
        while True:
            try:
                await self.relay_stops()
                if loop.time() >= next_sweep:
                    next_sweep = loop.time() + self._sweep_seconds
                    if resumed := await self.resume_orphans():
                        log.info("resuming %d runs left by a stopped process", resumed)
            except Exception:
                # The store is down or erred: try again next tick rather than stop watching.
                log.exception("run sweep failed; retrying")
            await asyncio.sleep(self._stop_seconds)

    async def resume_orphans(self) -> int:
        """Start the runs of chats left `running`/`waiting` by a process that no longer holds
        their lease; returns how many plans started (each still needs the lease). A chat whose
        run waits for an answer to an open question is left alone: the answer resumes it."""
        candidates = [
            chat
            for chat in await self._store.chats_in_status(self._app_id, ACTIVE_STATUSES)
            if not self._runs.is_running(chat.ref)
        ]
        if not candidates:
            return 0
        names = [lease_name(c.app_id, c.chat_id) for c in candidates]
        held = await self._store.held_leases(names)
        started = 0
        for chat, name in zip(candidates, names, strict=True):
            if name in held or await self._pending.open_for(chat.app_id, chat.chat_id):
                continue
            seq = await self._store.last_seq(chat.app_id, chat.chat_id)
            started += self._runs.start(RunPlan(chat, None, expected_seq=seq, orphan=True))
        return started

    async def relay_stops(self) -> None:
        """Apply the stops other replicas left for the runs this process executes."""
        held = [ref.chat_id for ref in self._runs.held() if ref.app_id == self._app_id]
        if not held:
            return
        for item in await self._store.list_inbox(self._app_id, held, "stop"):
            if await self._store.remove_inbox(self._app_id, item.chat_id, item.n):
                payload = item.payload
                stop = Stop(by=str(payload.get("by", "")), reason=str(payload.get("reason", "")))
                self._runs.cancel(ChatRef(self._app_id, item.chat_id), stop)
