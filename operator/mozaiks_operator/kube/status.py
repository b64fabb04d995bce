"""Write a resource's status as a small transaction: read, compute, patch only on change.

The one way the operator writes status, Tenants' and Workflows' alike (a Tenant's status is
written by passes that other objects' events start, where kopf's per-handler `patch` belongs to
another object). The patch carries the resourceVersion it was computed from, so a concurrent
write makes it fail with 409 Conflict instead of silently overwriting; we then re-read and
compute again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mozaiks_operator.kube import events
from mozaiks_operator.kube.apply import CONFLICT_ATTEMPTS
from mozaiks_operator.kube.client import Kube, KubeError, Obj
from mozaiks_operator.status import Notices, condition_events

# (the object as read, its current status) -> the new status, or None to leave it as it is
StatusFn = Callable[[Obj, dict[str, Any]], dict[str, Any] | None]


def merge_patch(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) from `before` to `after`: removed keys become null."""
    patch: dict[str, Any] = {k: None for k in before.keys() - after.keys()}
    for key, value in after.items():
        old = before.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            sub = merge_patch(old, value)
            if sub:
                patch[key] = sub
        elif value != old or key not in before:
            patch[key] = value
    return patch


async def write_status(
    kube: Kube, kind: str, namespace: str, name: str, compute: StatusFn, *, body: Obj | None = None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Patch `status` with `compute`'s result. Returns (before, after), or None if the object is
    gone. `body` saves the first read; on conflict the object is read again.
    """
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        obj = body if body is not None else await kube.get(kind, namespace, name)
        body = None
        if obj is None:
            return None
        before: dict[str, Any] = dict(obj.get("status") or {})
        after = compute(obj, before)
        if after is None:
            return before, before
        patch = {
            "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
            "status": merge_patch(before, after),
        }
        try:
            await kube.merge_patch(kind, namespace, name, patch, subresource="status")
        except KubeError as exc:
            if exc.status == 404:
                return None
            if not exc.conflict or attempt == CONFLICT_ATTEMPTS:
                raise
            continue
        return before, after
    raise AssertionError("unreachable")


async def report_status(
    kube: Kube,
    kind: str,
    body: Obj,
    compute: Callable[[dict[str, Any]], dict[str, Any]],
    notices: Notices,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Write the status `compute` makes from the current one (only if it differs), then post an
    Event per condition change that `notices` calls news. Returns (before, after), or None if
    the object is gone. `body` is the object as last read (its resourceVersion guards the write).
    """
    meta = body["metadata"]

    def changed(_: Obj, before: dict[str, Any]) -> dict[str, Any] | None:
        after = compute(before)
        return None if after == before else after

    result = await write_status(kube, kind, meta["namespace"], meta["name"], changed, body=body)
    if result is not None:
        for type_, reason, message in condition_events(*result, notices):
            events.post(body, type_, reason, message)
    return result
