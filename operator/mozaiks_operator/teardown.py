"""finalize_tenant(): what the Tenant's finalizer does before the Tenant may go.

Children are deleted explicitly (garbage collection would also remove them, but only after the
Tenant is gone, and not at all where no controller-manager runs). The database follows
`deletionPolicy`: Retain (the default) keeps the database and its user, Delete drops both.
"""

from __future__ import annotations

from mozaiks_operator import constants as c
from mozaiks_operator.errors import Blocked, InvalidSpec
from mozaiks_operator.kube import events
from mozaiks_operator.kube.apply import delete_owned
from mozaiks_operator.kube.client import Obj
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.reconcile import Claims, Context, check_claims, claim_of
from mozaiks_operator.specs.names import (
    database_secret_name,
    runtime_name,
    settings_secret_name,
    workflows_configmap_name,
)


def _children(tenant: Tenant) -> list[tuple[str, str]]:
    """(kind, name) of every child, the runtime first so it stops before its Secrets go."""
    rt = runtime_name(tenant)
    return [
        ("Ingress", rt),
        ("HorizontalPodAutoscaler", rt),
        ("ScaledObject", rt),  # a get answers 404 where KEDA is not installed: nothing to do
        ("Deployment", rt),
        ("PodDisruptionBudget", rt),
        ("NetworkPolicy", rt),
        ("Service", rt),
        ("ConfigMap", workflows_configmap_name(tenant)),
        ("Secret", settings_secret_name(tenant)),
        ("Secret", database_secret_name(tenant)),
    ]


async def finalize_tenant(ctx: Context, body: Obj, *, claims: Claims) -> None:
    """Remove the children we own and apply the deletion policy; raises Blocked to retry.

    A Tenant that lost its app id or database name to an older one never owned that database:
    deleting it never drops the other Tenant's data, whatever its deletionPolicy says.
    """
    tenant = Tenant.from_body(body)
    spec = tenant.spec
    owns_database = spec.database.uri_secret_ref is None
    try:
        check_claims(tenant, claim_of(body), claims)
    except InvalidSpec as err:
        owns_database = False
        events.normal(body, c.REASON_DATABASE_RETAINED, f"database not dropped: {err.message}")
    if spec.deletion_policy == "Delete" and owns_database:
        if ctx.database is None:
            raise Blocked(
                c.REASON_DATABASE_NOT_CONFIGURED,
                "deletionPolicy is Delete but the operator has no admin database connection",
                delay=60,
            )
        with ctx.metrics.database_operation("drop"):
            await ctx.database.drop(database=spec.database_name, username=spec.database_user)
        events.normal(
            body,
            c.REASON_DATABASE_DROPPED,
            f"database {spec.database_name!r} and user {spec.database_user!r} dropped",
        )
    elif owns_database:
        events.normal(
            body,
            c.REASON_DATABASE_RETAINED,
            f"database {spec.database_name!r} and its user kept (deletionPolicy Retain)",
        )
    for kind, name in _children(tenant):
        await delete_owned(ctx.kube, tenant, kind, name)
        ctx.applied.pop((kind, tenant.namespace, name), None)
    ctx.serializer.forget((tenant.namespace, tenant.name))
    ctx.metrics.forget_tenant(tenant.namespace, tenant.name)
