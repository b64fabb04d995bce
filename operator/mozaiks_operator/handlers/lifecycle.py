"""Login, kopf's settings, and the liveness probe."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from mozaiks_operator import constants as c
from mozaiks_operator.config import Settings
from mozaiks_operator.handlers.common import context


def kopf_settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    # Our own names instead of kopf.zalando.org, so Tenants carry only mozaiks.ai keys.
    settings.persistence.finalizer = c.FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=c.KOPF_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=c.KOPF_PREFIX, key="last-handled-configuration"
    )
    # kopf turns per-object log lines into Events; we post our own Events for what a user should
    # see, so only kopf's warnings and errors (a handler that failed) become Events too.
    settings.posting.level = logging.WARNING
    # Reconnect watches well before idle proxies or the API server cut them (kopf issue #585).
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 60
    # No dynamic scanning of CRDs and namespaces: that needs cluster-wide list/watch on both.
    # Our resources are known at start-up (discovery is open to every authenticated user).
    settings.scanning.disabled = True
    return settings


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    @kopf.on.login(id="login", registry=registry)
    async def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # Same credentials as our own client: in-cluster ServiceAccount, else $KUBECONFIG.
        info: kopf.ConnectionInfo | None = await kopf.login_via_async_client(**kwargs)
        return info

    @kopf.on.probe(id="leader", registry=registry)
    def leader(memo: Any, **_: Any) -> str:
        return context(memo).settings.identity
