"""Opens everything that does I/O when the app starts and closes it when it stops; all of it
lives in one typed container, `app.state.runtime` (container.py; nothing is created at import
time)."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import FastAPI

from mozaiks_runtime.auth.verify import TokenVerifier
from mozaiks_runtime.chats.deletion import ChatDeleter
from mozaiks_runtime.chats.hub import Hub
from mozaiks_runtime.chats.journal import Journal
from mozaiks_runtime.chats.pending import PendingRequests, sweep_expired
from mozaiks_runtime.chats.pinning import PinnedWorkflows
from mozaiks_runtime.chats.retention import RetentionSweeper
from mozaiks_runtime.chats.runio import RunPorts
from mozaiks_runtime.chats.runs import RunManager
from mozaiks_runtime.chats.service import ChatService
from mozaiks_runtime.chats.sweeper import RunSweeper
from mozaiks_runtime.config import Settings
from mozaiks_runtime.container import Runtime, Traffic
from mozaiks_runtime.engine.base import Runner
from mozaiks_runtime.metrics import Metrics
from mozaiks_runtime.metrics_port import MetricsPort
from mozaiks_runtime.ratelimit import RateLimiter
from mozaiks_runtime.storage.factory import build_store
from mozaiks_runtime.usage.accounting import Accountant
from mozaiks_runtime.usage.budgets import BudgetGuard
from mozaiks_runtime.users.erasure import UserEraser
from mozaiks_runtime.webhooks.body import NOTIFIED_EVENTS
from mozaiks_runtime.webhooks.deliverer import Deliverer
from mozaiks_runtime.webhooks.wiring import build_webhooks
from mozaiks_runtime.workflows.registry import WorkflowRegistry
from mozaiks_runtime.ws.endpoint import sent_counter

if TYPE_CHECKING:
    from mozaiks_runtime.tracing.otel import Tracing

log = logging.getLogger(__name__)
RunnerFactory = Callable[[Settings], Runner]
STORE_POLL_SECONDS = 1.0


def default_runner(settings: Settings) -> Runner:
    """The AG2 engine (imported here: only engine/ imports ag2, and only when serving)."""
    from mozaiks_runtime.engine.run import build_runner

    return build_runner(settings)


def start_tracing(settings: Settings) -> Tracing | None:
    """OpenTelemetry when an OTLP endpoint is set; the SDK is imported and set up only then."""
    if not settings.otel_exporter_otlp_endpoint:
        return None
    from mozaiks_runtime.tracing.setup import start_tracing as start

    return start(settings)


def build_lifespan(
    settings: Settings, metrics: Metrics, runner_factory: RunnerFactory
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        traffic = Traffic()
        store = build_store(settings)
        await store.start()
        registry = WorkflowRegistry(settings.workflows_dir, settings.workflows_poll_seconds)
        verifier = TokenVerifier(settings)
        runs: RunManager | None = None
        journal: Journal | None = None
        sweepers: list[asyncio.Task[None]] = []
        deliverer: Deliverer | None = None
        exporter: MetricsPort | None = None
        tracing: Tracing | None = None
        try:
            tracing = start_tracing(settings)
            await registry.start()
            for source, problems in registry.errors().items():
                log.warning("workflow %s not loaded: %s", source, "; ".join(problems))
            hub = Hub(settings.ws_queue_frames)
            budget = BudgetGuard(store, settings, metrics=metrics)
            pending = PendingRequests(store)
            webhooks = build_webhooks(store, settings, metrics)
            notifier, deliverer = webhooks if webhooks is not None else (None, None)
            journal = Journal(
                store,
                hub,
                on_stored=notifier,
                observed=frozenset(NOTIFIED_EVENTS),
                on_published=metrics.event_delay.observe,
            )
            ports = RunPorts(
                journal=journal,
                pending=pending,
                usage=Accountant(store, settings, metrics),
                budget=budget,
                input_timeout_seconds=settings.input_timeout_seconds,
                ui_tool_timeout_seconds=settings.ui_tool_timeout_seconds,
            )
            pinned = PinnedWorkflows(store, registry)
            runs = RunManager(
                store=store,
                runner=runner_factory(settings),
                ports=ports,
                workflows=pinned,
                replica_id=settings.replica_id,
                lease_ttl_seconds=settings.lease_ttl_seconds,
                run_timeout_seconds=settings.run_timeout_seconds,
                metrics=metrics,
                tracing=tracing,
            )
            chats = ChatService(
                store=store,
                workflows=pinned,
                runs=runs,
                pending=pending,
                new_chats=RateLimiter(settings.rate_limit_new_chats_per_minute),
                messages=RateLimiter(settings.rate_limit_messages_per_minute),
                budget=budget,
            )
            run_sweeper = RunSweeper(
                store=store,
                runs=runs,
                pending=pending,
                app_id=settings.app_id,
                sweep_seconds=settings.orphan_sweep_seconds,
                stop_seconds=settings.stop_poll_seconds,
            )
            sweepers = [
                asyncio.create_task(sweep_expired(store, settings.app_id), name="pending-sweeper"),
                asyncio.create_task(run_sweeper.run_forever(), name="run-sweeper"),
            ]
            deleter = ChatDeleter(
                store=store,
                runs=runs,
                hub=hub,
                replica_id=settings.replica_id,
                lease_ttl_seconds=settings.lease_ttl_seconds,
            )
            app.state.runtime = Runtime(
                settings=settings,
                metrics=metrics,
                store=store,
                registry=registry,
                verifier=verifier,
                hub=hub,
                budget=budget,
                runs=runs,
                chats=chats,
                deleter=deleter,
                eraser=UserEraser(store=store, deleter=deleter),
                store_poll_seconds=STORE_POLL_SECONDS if settings.mongo_uri is not None else None,
                count_sent=sent_counter(metrics),
                traffic=traffic,
            )
            if settings.retention_chats_days is not None:
                retention = RetentionSweeper(
                    store=store,
                    deleter=deleter,
                    app_id=settings.app_id,
                    max_idle=timedelta(days=settings.retention_chats_days),
                    sweep_seconds=settings.retention_sweep_seconds,
                    batch_size=settings.retention_batch_size,
                    max_batches=settings.retention_max_batches,
                )
                sweepers.append(asyncio.create_task(retention.run_forever(), name="retention"))
            if deliverer is not None:
                deliverer.start()  # sends what an earlier process left in the outbox, too
            # Everything loaded so far (modules, the engine, workflows) lives as long as the
            # process: keep it out of the collector's full passes, which otherwise walk it all
            # and pause every chat for tens of milliseconds.
            gc.freeze()
            metrics.runs_active.set_function(lambda: len(runs.held()) if runs else 0)
            exporter = MetricsPort.start(metrics, settings.metrics_host, settings.metrics_port)
            yield
        finally:
            traffic.draining = True
            if exporter is not None:
                exporter.stop()
            for sweeper in sweepers:  # before the runs: nothing resumes while they stop
                sweeper.cancel()
            await asyncio.gather(*sweepers, return_exceptions=True)
            if runs is not None:
                await runs.close()  # chats stay running/waiting: the next connect resumes them
            if journal is not None:
                await journal.close()  # what the runs emitted reaches the store
            if deliverer is not None:
                await deliverer.stop()  # after the journal: its last deliveries are queued
            if tracing is not None:
                await asyncio.to_thread(tracing.shutdown)  # the runs' last spans go out
            await registry.stop()
            await verifier.close()
            await store.close()

    return lifespan
