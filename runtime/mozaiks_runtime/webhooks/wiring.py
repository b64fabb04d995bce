"""The webhook parts the lifespan wires in, or none when no webhook URL is set."""

from __future__ import annotations

from mozaiks_runtime.config import Settings
from mozaiks_runtime.metrics import Metrics
from mozaiks_runtime.storage.base import Store
from mozaiks_runtime.webhooks.deliverer import Deliverer
from mozaiks_runtime.webhooks.notifier import Notifier


def build_webhooks(
    store: Store, settings: Settings, metrics: Metrics | None = None
) -> tuple[Notifier, Deliverer] | None:
    """The journal's observer and the background sender (started and stopped by the caller)."""
    if settings.webhook_url is None:
        return None
    deliverer = Deliverer(store, settings, metrics)
    notifier = Notifier(
        store, max_outbox=settings.webhook_max_outbox, metrics=metrics, wake=deliverer.wake
    )
    return notifier, deliverer
