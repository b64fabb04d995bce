"""One background task per replica: claims due deliveries from the outbox and POSTs them.

2xx: sent, deleted. Anything else (a status, a timeout, a refused connection): the attempt is
recorded and the delivery is due again after an exponential backoff with jitter; after
`webhook_max_attempts` it is dropped as dead. Redirects are not followed (a delivery goes
where it was configured to go, and nowhere else).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta

import httpx

from mozaiks_runtime.config import Settings
from mozaiks_runtime.errors import StorageUnavailable
from mozaiks_runtime.metrics import Metrics
from mozaiks_runtime.storage.base import Store, WebhookDelivery, utcnow
from mozaiks_runtime.webhooks.signing import delivery_headers

log = logging.getLogger(__name__)
CLAIM_BATCH = 16  # deliveries sent side by side
POLL_SECONDS = 1.0  # how soon deliveries queued by other replicas (or retries) are noticed
CLAIM_MARGIN_SECONDS = 30.0  # a claim outlasts an attempt's timeout by this much
MAX_ERROR_CHARS = 300


def retry_delay(
    attempts: int, *, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds before attempt `attempts + 1`: base * 2^(attempts - 1), capped, with equal jitter
    (between half of it and all of it), so receivers that come back are not hit all at once."""
    ceiling = min(cap, base * 2.0 ** min(attempts - 1, 32))
    return ceiling / 2 + rand() * ceiling / 2


class Deliverer:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        metrics: Metrics | None = None,
        *,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        self._store = store
        self._app_id = settings.app_id
        self._url = settings.webhook_url
        self._secret = settings.webhook_secret.get_secret_value()
        self._timeout = settings.webhook_timeout_seconds
        self._max_attempts = settings.webhook_max_attempts
        self._base = settings.webhook_retry_base_seconds
        self._cap = settings.webhook_retry_max_seconds
        self._metrics = metrics
        self._poll = poll_seconds
        self._wakeup = asyncio.Event()
        self._soonest: float | None = None  # earliest retry this replica scheduled (unix time)
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def wake(self) -> None:
        """A delivery was queued: look now rather than at the next poll."""
        self._wakeup.set()

    def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        self._task = asyncio.create_task(self._run(), name="webhooks")

    async def stop(self) -> None:
        """Cancel the loop; deliveries being sent are handed back, due at once, so the next
        process (or another replica) sends them without waiting for the claim to run out."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            claimed: list[WebhookDelivery] = []
            now = utcnow()
            try:
                claimed = await self._store.claim_deliveries(
                    self._app_id,
                    now=now,
                    claim_seconds=self._timeout + CLAIM_MARGIN_SECONDS,
                    limit=CLAIM_BATCH,
                )
            except StorageUnavailable as exc:
                log.warning("webhook outbox unavailable: %s", exc.message)
            if self._soonest is not None and self._soonest <= now.timestamp():
                self._soonest = None  # it was due: claimed just now (here or elsewhere)
            if claimed:
                await asyncio.gather(*(self._attempt(d) for d in claimed))
                if len(claimed) == CLAIM_BATCH:
                    continue  # more may be due
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._sleep_seconds()):
                    await self._wakeup.wait()

    def _sleep_seconds(self) -> float:
        if self._soonest is None:
            return self._poll
        return min(self._poll, max(0.0, self._soonest - time.time()))

    async def _attempt(self, delivery: WebhookDelivery) -> None:
        try:
            error = await self._post(delivery)
        except asyncio.CancelledError:
            with contextlib.suppress(StorageUnavailable):
                await self._store.reschedule_delivery(
                    self._app_id,
                    delivery.id,
                    next_attempt_at=utcnow(),
                    attempts=delivery.attempts,
                    last_error=delivery.last_error,
                )
            raise
        try:
            await self._settle(delivery, error)
        except StorageUnavailable as exc:
            # The claim runs out and the delivery is attempted again (a duplicate, at worst).
            log.warning("webhook delivery %s not recorded: %s", delivery.id, exc.message)

    async def _settle(self, delivery: WebhookDelivery, error: str | None) -> None:
        if error is None:
            await self._store.delete_delivery(self._app_id, delivery.id)
            self._count("delivered")
            return
        attempts = delivery.attempts + 1
        if attempts >= self._max_attempts:
            await self._store.delete_delivery(self._app_id, delivery.id)
            log.error(
                "webhook delivery %s (%s) dropped as dead after %d attempts: %s",
                delivery.id,
                delivery.event_type,
                attempts,
                error,
            )
            self._count("dead")
            return
        delay = retry_delay(attempts, base=self._base, cap=self._cap)
        await self._store.reschedule_delivery(
            self._app_id,
            delivery.id,
            next_attempt_at=utcnow() + timedelta(seconds=delay),
            attempts=attempts,
            last_error=error,
        )
        due = time.time() + delay
        self._soonest = due if self._soonest is None else min(self._soonest, due)
        log.info("webhook delivery %s failed (%s); retry in %.1f s", delivery.id, error, delay)
        self._count("failed")

    async def _post(self, delivery: WebhookDelivery) -> str | None:
        """None when the receiver took it (2xx), else what went wrong."""
        assert self._client is not None
        headers = delivery_headers(
            secret=self._secret,
            delivery_id=delivery.id,
            event_type=delivery.event_type,
            body=delivery.body,
            now=int(time.time()),
        )
        try:
            response = await self._client.post(
                self._url, content=delivery.body.encode(), headers=headers
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.webhook_delivery(outcome)
