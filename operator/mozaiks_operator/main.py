"""Entry point of `mozaiks operator`: load Settings, win the Lease, hand kopf our handlers, run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable

import kopf

from mozaiks_operator.config import Settings, SettingsError
from mozaiks_operator.database import DatabaseAdmin
from mozaiks_operator.handlers import children, lifecycle, tenant, workflow
from mozaiks_operator.handlers.lifecycle import kopf_settings
from mozaiks_operator.kube.client import Kube
from mozaiks_operator.kube.lease import LeaderElector, LeaseLost
from mozaiks_operator.metrics import metrics_server
from mozaiks_operator.reconcile import Context
from mozaiks_operator.serialize import Serializer
from mozaiks_operator.standby import standby_probe

log = logging.getLogger("mozaiks_operator")


def build_registry(settings: Settings) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    for module in (lifecycle, tenant, workflow, children):
        module.register(registry, settings)
    return registry


async def operate(
    settings: Settings, *, stop: asyncio.Event | None = None, ready: asyncio.Event | None = None
) -> None:
    """Run until `stop` is set (or a signal); raises LeaseLost if another replica took over."""
    stop = stop or asyncio.Event()
    kube = await Kube.connect()
    database = None
    if settings.admin_mongo_uri is not None:
        database = DatabaseAdmin(
            settings.admin_mongo_uri.get_secret_value(),
            runtime_base_uri=settings.runtime_mongo_uri,
            timeout=settings.mongo_timeout_seconds,
        )
    ctx = Context(kube=kube, settings=settings, database=database, serializer=Serializer())
    if settings.otel_exporter_otlp_endpoint:
        from mozaiks_operator.tracing import start_tracing  # the SDK only when tracing is on

        ctx.tracing = start_tracing(settings)
    leader = ctx.metrics.leader.labels(settings.identity)
    try:
        async with metrics_server(ctx.metrics, settings.metrics_host, settings.metrics_port):
            await _lead(settings, ctx, stop, ready, leader.set)
    finally:
        if database is not None:
            await database.close()
        if ctx.tracing is not None:
            await asyncio.to_thread(ctx.tracing.shutdown)  # the last passes' spans go out
        await kube.close()


async def _lead(
    settings: Settings,
    ctx: Context,
    stop: asyncio.Event,
    ready: asyncio.Event | None,
    leading: Callable[[float], None],
) -> None:
    """Win the Lease (if elections are on), run kopf while holding it, give it up at the end.
    The metrics server runs around all of this, so a standby replica is scraped too (leader 0)."""
    elector = None
    try:
        if settings.leader_election:
            elector = LeaderElector(
                ctx.kube,
                namespace=settings.namespace,
                name=settings.lease_name,
                identity=settings.identity,
                duration=settings.lease_duration_seconds,
                renew=settings.lease_renew_seconds,
            )
            async with standby_probe(settings.liveness_url, settings.identity):
                await elector.acquire()
        leading(1)
        await _run_kopf(settings, ctx, elector, stop, ready)
    finally:
        leading(0)
        if elector is not None:
            await elector.release()


async def _run_kopf(
    settings: Settings,
    ctx: Context,
    elector: LeaderElector | None,
    stop: asyncio.Event,
    ready: asyncio.Event | None,
) -> None:
    namespaces = settings.watch_namespaces
    operator = asyncio.create_task(
        kopf.operator(
            registry=build_registry(settings),
            settings=kopf_settings(),
            memo=kopf.Memo(ctx=ctx),
            clusterwide=not namespaces,
            namespaces=namespaces,
            standalone=True,  # the Lease does what kopf's peering would (see kube/lease.py)
            stop_flag=stop,
            ready_flag=ready,
            liveness_endpoint=settings.liveness_url,
        )
    )
    if elector is None:
        await operator
        return
    holder = asyncio.create_task(elector.hold())
    done, _ = await asyncio.wait({operator, holder}, return_when=asyncio.FIRST_COMPLETED)
    if holder in done:
        stop.set()  # lost the Lease: stop acting at once, then report it
        with contextlib.suppress(asyncio.CancelledError):
            await operator
        holder.result()  # raises LeaseLost
    holder.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await holder
    operator.result()


def run(argv: list[str] | None = None) -> None:
    """`mozaiks operator [--namespace NS]... [--verbose]`; everything else is MOZAIKS_OPERATOR_*."""
    parser = argparse.ArgumentParser(prog="mozaiks operator", description=__doc__)
    parser.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        help="watch this namespace (repeatable; default: the settings, else all)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {}
    if args.namespace:
        overrides["watch_namespaces"] = args.namespace
    try:
        settings = Settings.load(**overrides)
    except SettingsError as exc:
        print(exc, file=sys.stderr)  # before logging exists
        raise SystemExit(2) from None
    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat.JSON)
    logging.getLogger().setLevel(logging.DEBUG if args.verbose else settings.log_level)
    try:
        asyncio.run(operate(settings))
    except LeaseLost as exc:
        log.error("stopping: %s", exc)
        raise SystemExit(1) from None
