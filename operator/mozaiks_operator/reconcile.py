"""reconcile_tenant(): read, desire, apply, observe, report; the one place those steps meet."""

from __future__ import annotations

import base64
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mozaiks_operator import constants as c
from mozaiks_operator.config import Settings
from mozaiks_operator.database import DatabaseAdmin, database_port
from mozaiks_operator.errors import Blocked, InvalidSpec, OperatorError
from mozaiks_operator.kinds import KINDS
from mozaiks_operator.kube.apply import apply_child, prune
from mozaiks_operator.kube.client import Kube, KubeError, Obj
from mozaiks_operator.kube.observe import runtime_state
from mozaiks_operator.kube.status import report_status
from mozaiks_operator.metrics import OperatorMetrics
from mozaiks_operator.model.tenant import Claim, Tenant, first_claim
from mozaiks_operator.model.workflow import Workflow
from mozaiks_operator.serialize import Serializer
from mozaiks_operator.specs.credentials import DatabaseCredentials, public_url
from mozaiks_operator.specs.desired import Environment, desired_children, llm_port
from mozaiks_operator.specs.meta import is_owned_by
from mozaiks_operator.specs.names import database_secret_name, runtime_name
from mozaiks_operator.specs.service import service_url
from mozaiks_operator.specs.workflows import select_workflows
from mozaiks_operator.status import TENANT_NOTICES, Outcome, RuntimeState, tenant_status
from mozaiks_operator.timestamps import format_time

if TYPE_CHECKING:
    from mozaiks_operator.tracing import Pass, ReconcileTracing

log = logging.getLogger(__name__)

KEDA = KINDS["ScaledObject"]
KEDA_RECHECK_SECONDS = 60.0
# Index keys of the cluster-wide unique values a Tenant claims (see handlers/tenant.py).
Claims = Mapping[tuple[str, str], Iterable[Claim]]


@dataclass
class Context:
    """Operator-wide objects, created at start-up and kept in kopf's memo."""

    kube: Kube
    settings: Settings
    database: DatabaseAdmin | None
    serializer: Serializer
    # (kind, namespace, name) -> (resourceVersion, generation) of each child as we last applied
    # it, so that a child's watch event can tell our own write and status-only changes apart
    # from drift (handlers/children.py).
    applied: dict[tuple[str, str, str], tuple[str, int | None]] = field(default_factory=dict)
    metrics: OperatorMetrics = field(default_factory=OperatorMetrics)
    # (when looked, answer) of the last check whether KEDA's ScaledObject kind is served.
    keda_seen: tuple[float, bool] | None = None

    async def keda_prometheus_url(self) -> str | None:
        """The operator's Prometheus URL for KEDA when KEDA is installed (looked up through
        discovery, open to every authenticated user, at most once a minute); else None."""
        url = self.settings.keda_prometheus_url
        if not url:
            return None
        now = time.monotonic()
        if self.keda_seen is None or now - self.keda_seen[0] > KEDA_RECHECK_SECONDS:
            self.keda_seen = (now, await self.kube.serves(KEDA.api_version, KEDA.plural))
        return url if self.keda_seen[1] else None

    tracing: ReconcileTracing | None = None  # None: off, no span is built

    def remember(self, obj: Obj) -> None:
        meta = obj["metadata"]
        key = (obj["kind"], meta["namespace"], meta["name"])
        self.applied[key] = (str(meta.get("resourceVersion")), meta.get("generation"))


def check_claims(tenant: Tenant, claim: Claim, claims: Claims) -> None:
    """InvalidSpec when an older Tenant already has this app id or database name."""
    for key, reason, what in (
        (("app", tenant.spec.app_id), c.REASON_DUPLICATE_APP_ID, "appId"),
        (("db", tenant.spec.database_name), c.REASON_DUPLICATE_DATABASE, "database"),
    ):
        winner = first_claim([claim, *claims.get(key, ())])
        if winner is not None and winner.ref != claim.ref:
            raise InvalidSpec(
                reason,
                f"{what} {key[1]!r} already belongs to Tenant {winner.ref}; "
                "this Tenant is not served until one of them changes",
            )


def check_webhook(tenant: Tenant) -> None:
    """InvalidSpec unless spec.webhook.url is an http(s) URL with a host (what the runtime's
    settings accept: a URL it would refuse must not reach the pods and crash-loop them)."""
    webhook = tenant.spec.webhook
    if webhook is not None and not _http_url(webhook.url):
        raise InvalidSpec(
            c.REASON_INVALID_WEBHOOK,
            f"spec.webhook.url {webhook.url!r} is not an http(s) URL with a host",
        )


def _http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


async def check_secrets(kube: Kube, tenant: Tenant) -> dict[str, str]:
    """Every referenced Secret key exists; returns their values by spec path."""
    values: dict[str, str] = {}
    for path, ref in tenant.spec.secret_refs().items():
        secret = await kube.get("Secret", tenant.namespace, ref.name)
        data = (secret or {}).get("data") or {}
        if ref.key not in data:
            missing = "does not exist" if secret is None else f"has no key {ref.key!r}"
            raise Blocked(
                c.REASON_SECRET_MISSING,
                f"spec.{path}: Secret {tenant.namespace}/{ref.name} {missing}",
                delay=30,
            )
        values[path] = base64.b64decode(data[ref.key]).decode(errors="replace")
    return values


async def ensure_database(ctx: Context, tenant: Tenant) -> DatabaseCredentials | None:
    """Create (or converge) the tenant's database and user; None when it brings its own URI."""
    if tenant.spec.database.uri_secret_ref is not None:
        return None
    if ctx.database is None:
        raise Blocked(
            c.REASON_DATABASE_NOT_CONFIGURED,
            "the operator has no admin database connection (MOZAIKS_OPERATOR_ADMIN_MONGO_URI); "
            "configure one, or give this Tenant spec.database.uriSecretRef",
            delay=60,
        )
    existing = await ctx.kube.get("Secret", tenant.namespace, database_secret_name(tenant))
    password = None
    if existing is not None and is_owned_by(existing, tenant.uid):
        stored = (existing.get("data") or {}).get("password")
        password = base64.b64decode(stored).decode() if stored else None
    with ctx.metrics.database_operation("ensure"):
        return await ctx.database.ensure(
            database=tenant.spec.database_name,
            username=tenant.spec.database_user,
            password=password or secrets.token_urlsafe(24),
            known=password is not None,
        )


async def _converge(ctx: Context, tenant: Tenant, claim: Claim, claims: Claims) -> Outcome:
    check_claims(tenant, claim, claims)
    check_webhook(tenant)
    refs = await check_secrets(ctx.kube, tenant)
    creds = await ensure_database(ctx, tenant)
    bodies = await ctx.kube.list(c.WORKFLOW_KIND, tenant.namespace)
    selection = select_workflows(tenant, [Workflow.from_body(b) for b in bodies])
    db_uri = creds.uri if creds is not None else refs["database.uriSecretRef"]
    env = Environment(
        default_image=ctx.settings.default_runtime_image,
        ingress_namespace=ctx.settings.ingress_namespace,
        database_port=database_port(db_uri),
        llm_port=llm_port(tenant.spec.llm.base_url),
        credentials=creds,
        monitoring_namespace=ctx.settings.monitoring_namespace,
        keda_prometheus_url=await ctx.keda_prometheus_url(),
    )
    desired = desired_children(tenant, selection, env)
    # In order (Secrets and ConfigMap before the Deployment that mounts them); each child is
    # remembered as soon as it is applied, so the watch echo of this very write is ignored.
    live = []
    for child in desired.children:
        live.append(await apply_child(ctx.kube, tenant, child))
        ctx.remember(live[-1])
        ctx.metrics.children_applied.labels(child["kind"]).inc()
    for kind in await prune(ctx.kube, tenant, desired.absent_kinds, runtime_name(tenant)):
        # forgotten, so the watch echo of our own delete is not counted as drift
        ctx.applied.pop((kind, tenant.namespace, runtime_name(tenant)), None)
    warnings: list[OperatorError] = []
    if not desired.workflows_fit:
        warnings.append(
            OperatorError(
                c.REASON_WORKFLOWS_TOO_LARGE,
                f"the {len(selection.files)} workflows exceed the 1 MiB a ConfigMap holds; the "
                "previous set is still served (remove or shrink a workflow)",
            )
        )
    endpoints = {"service": service_url(tenant)}
    if (url := public_url(tenant)) is not None:
        endpoints["public"] = url
    return Outcome(
        generation=tenant.generation,
        runtime=runtime_state(next((o for o in live if o["kind"] == "Deployment"), None)),
        warnings=tuple(warnings),
        database=tenant.spec.database_name if creds is not None else None,
        workflows=len(selection.files) if desired.workflows_fit else None,
        endpoints=endpoints,
    )


async def _observe_only(ctx: Context, tenant: Tenant) -> RuntimeState:
    try:
        return runtime_state(
            await ctx.kube.get("Deployment", tenant.namespace, runtime_name(tenant))
        )
    except KubeError:
        return RuntimeState(exists=False)


async def reconcile_tenant(
    ctx: Context, namespace: str, name: str, *, claims: Claims
) -> Outcome | None:
    """Bring one Tenant's children to the desired state and report it in status and Events.

    Reads the Tenant fresh (callers may hold an old body). Returns None when the Tenant is gone or
    being deleted; otherwise the outcome, whose `error` the caller maps to kopf's retry kinds.
    With tracing on, the pass is one span.
    """
    with traced_pass(ctx, c.TENANT_KIND, namespace, name) as span:
        outcome = await _reconcile_tenant(ctx, namespace, name, claims)
        if span is None:
            pass
        elif outcome is None:
            span.outcome("gone")
        elif outcome.error is not None:
            span.outcome(outcome.error.reason, failed=True)
        else:
            span.outcome("paused" if outcome.paused else "ok")
        return outcome


@contextmanager
def traced_pass(ctx: Context, kind: str, namespace: str, name: str) -> Iterator[Pass | None]:
    """The span of one reconcile pass when tracing is on (None, and nothing built, when off)."""
    if ctx.tracing is None:
        yield None
        return
    with ctx.tracing.reconcile(kind, namespace, name) as span:
        yield span


async def _reconcile_tenant(
    ctx: Context, namespace: str, name: str, claims: Claims
) -> Outcome | None:
    started = time.perf_counter()
    body = await ctx.kube.get(c.TENANT_KIND, namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        ctx.metrics.forget_tenant(namespace, name)
        return None
    tenant = Tenant.from_body(body)
    if tenant.spec.paused:
        outcome = Outcome(generation=tenant.generation, runtime=RuntimeState(False), paused=True)
    else:
        claim = claim_of(body)
        try:
            outcome = await _converge(ctx, tenant, claim, claims)
        except KubeError as exc:
            err = Blocked(c.REASON_APPLY_FAILED, f"Kubernetes API: {exc}", delay=30)
            outcome = Outcome(tenant.generation, await _observe_only(ctx, tenant), error=err)
        except OperatorError as err:
            outcome = Outcome(tenant.generation, await _observe_only(ctx, tenant), error=err)
    await report(ctx, body, outcome)
    seconds = time.perf_counter() - started
    ctx.metrics.reconciled(c.TENANT_KIND, seconds, outcome.error.reason if outcome.error else None)
    problem = outcome.error.reason if outcome.error else "ok"
    log.info("tenant %s/%s reconciled in %.1f ms (%s)", namespace, name, seconds * 1000, problem)
    return outcome


async def refresh_status(
    ctx: Context, namespace: str, name: str, *, claims: Claims
) -> Outcome | None:
    """Only the Deployment's status moved (pods became ready): update the Tenant's status.

    Cheap (two reads, at most one write) where a full pass costs some twenty API calls. Reads
    the Deployment fresh, like every pass, so a pass standing in for several events is right.
    Falls back to the full pass unless the last pass acted on this generation with no problem.
    """
    body = await ctx.kube.get(c.TENANT_KIND, namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return None
    tenant = Tenant.from_body(body)
    status = body.get("status") or {}
    degraded = next(
        (x for x in status.get("conditions") or [] if x["type"] == c.COND_DEGRADED), None
    )
    clean = degraded is not None and degraded.get("reason") == c.REASON_RECONCILED
    if tenant.spec.paused or status.get("observedGeneration") != tenant.generation or not clean:
        return await reconcile_tenant(ctx, namespace, name, claims=claims)
    outcome = Outcome(tenant.generation, await _observe_only(ctx, tenant))
    await report(ctx, body, outcome)
    return outcome


def claim_of(body: Mapping[str, Any]) -> Claim:
    meta = body["metadata"]
    return Claim(
        created=str(meta.get("creationTimestamp") or ""),
        namespace=meta["namespace"],
        name=meta["name"],
    )


async def report(ctx: Context, body: Obj, outcome: Outcome) -> None:
    """Write status (only if it changed) and post an Event per meaningful transition."""
    now, meta = format_time(), body["metadata"]

    def compute(before: dict[str, Any]) -> dict[str, Any]:
        after = tenant_status(outcome, before, now=now)
        ctx.metrics.tenant_conditions(
            meta["namespace"], meta["name"], after.get("conditions") or []
        )
        return after

    await report_status(ctx.kube, c.TENANT_KIND, body, compute, TENANT_NOTICES)


async def reconcile_namespace(ctx: Context, namespace: str, *, claims: Claims) -> None:
    """Reconcile every Tenant of a namespace (after a Workflow there changed)."""
    for item in await ctx.kube.list(c.TENANT_KIND, namespace):
        name: str = item["metadata"]["name"]
        await ctx.serializer.run((namespace, name), _pass(ctx, namespace, name, claims))


def _pass(
    ctx: Context, namespace: str, name: str, claims: Claims
) -> Callable[[], Awaitable[Outcome | None]]:
    return lambda: reconcile_tenant(ctx, namespace, name, claims=claims)
