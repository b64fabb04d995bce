"""Pure: observed state and the outcome of a pass become the Tenant's status.

Conditions follow the Kubernetes convention: `lastTransitionTime` moves only when a condition's
status flips; every condition records the generation it was computed for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

from mozaiks_operator import constants as c
from mozaiks_operator.errors import OperatorError


@dataclass(frozen=True)
class RuntimeState:
    """What the runtime Deployment reports (None fields: it does not exist yet)."""

    exists: bool
    generation: int = 0
    observed_generation: int = 0
    replicas: int = 0  # wanted (spec.replicas)
    updated: int = 0
    ready: int = 0
    available: int = 0

    @property
    def rolled_out(self) -> bool:
        return (
            self.exists
            and self.observed_generation >= self.generation
            and self.updated >= self.replicas
            and self.available >= self.replicas
        )


@dataclass(frozen=True)
class Outcome:
    """The result of one reconcile pass, everything status needs."""

    generation: int
    runtime: RuntimeState
    error: OperatorError | None = None  # the pass stopped here
    warnings: tuple[OperatorError, ...] = ()  # the pass went on, but something is wrong
    database: str | None = None
    workflows: int | None = None
    endpoints: Mapping[str, str] | None = None
    paused: bool = False


def condition(
    kind: str,
    status: bool,
    reason: str,
    message: str,
    *,
    generation: int,
    now: str,
    previous: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A condition, keeping the previous transition time when the status did not flip."""
    value = "True" if status else "False"
    since = now
    for old in previous:
        if old.get("type") == kind and old.get("status") == value:
            since = str(old.get("lastTransitionTime") or now)
    return {
        "type": kind,
        "status": value,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": since,
    }


def _runtime_message(rt: RuntimeState) -> str:
    if not rt.exists:
        return "the runtime Deployment does not exist yet"
    return f"{rt.available}/{rt.replicas} replicas available, {rt.updated} up to date"


def tenant_status(outcome: Outcome, previous: Mapping[str, Any], *, now: str) -> dict[str, Any]:
    """The new `status`; fields the pass did not learn keep their previous values."""
    old = list(previous.get("conditions") or [])
    gen, rt = outcome.generation, outcome.runtime

    def cond(kind: str, ok: bool, reason: str, message: str) -> dict[str, Any]:
        return condition(kind, ok, reason, message, generation=gen, now=now, previous=old)

    status: dict[str, Any] = dict(previous)
    if outcome.paused:
        progressing = cond(
            c.COND_PROGRESSING,
            False,
            c.REASON_PAUSED,
            "spec.paused is true: the operator leaves this tenant's children alone",
        )
        kept = [x for x in old if x.get("type") != c.COND_PROGRESSING]
        status["conditions"] = [*kept, progressing]
        return status

    problem = outcome.error or (outcome.warnings[0] if outcome.warnings else None)
    if problem is not None:
        degraded = cond(c.COND_DEGRADED, True, problem.reason, problem.message)
    else:
        degraded = cond(c.COND_DEGRADED, False, c.REASON_RECONCILED, "all children applied")
    if rt.rolled_out:
        ready = cond(c.COND_READY, True, c.REASON_AVAILABLE, _runtime_message(rt))
    else:
        ready = cond(c.COND_READY, False, c.REASON_ROLLING_OUT, _runtime_message(rt))
    if outcome.error is not None:
        progressing = cond(c.COND_PROGRESSING, False, outcome.error.reason, outcome.error.message)
    elif rt.rolled_out:
        progressing = cond(c.COND_PROGRESSING, False, c.REASON_RECONCILED, "rollout complete")
    else:
        progressing = cond(c.COND_PROGRESSING, True, c.REASON_ROLLING_OUT, _runtime_message(rt))
    status["conditions"] = [ready, progressing, degraded]
    if outcome.error is None:
        status["observedGeneration"] = gen
    if rt.exists:
        status["replicas"] = rt.replicas
        status["readyReplicas"] = rt.ready
    if outcome.database is not None:
        status["database"] = outcome.database
    if outcome.workflows is not None:
        status["workflows"] = outcome.workflows
    if outcome.endpoints is not None:
        status["endpoints"] = dict(outcome.endpoints)
    return status


def transitions(
    before: Mapping[str, Any], after: Mapping[str, Any], *, with_message: Set[str] = frozenset()
) -> list[dict[str, Any]]:
    """Conditions whose status or reason changed (or their message, for the types in
    `with_message`): what may deserve a Kubernetes Event."""
    old = {x.get("type"): x for x in before.get("conditions") or []}
    changed = []
    for new in after.get("conditions") or []:
        prev = old.get(new["type"])
        fields = (
            ("status", "reason", "message") if new["type"] in with_message else ("status", "reason")
        )
        if prev is None or any(prev.get(f) != new.get(f) for f in fields):
            changed.append(new)
    return changed


@dataclass(frozen=True)
class Notice:
    """Which changes of one condition type a user hears about, as a Kubernetes Event."""

    good: str  # the status that is good news ("True", or "False" for Degraded): a Normal Event
    warn: bool = True  # the other status is a Warning; False: routine, no Event (Ready=False)
    message: bool = False  # a new message under the same status and reason is news too


Notices = Mapping[str, Notice]
# A Tenant's Ready and Degraded flips (its message counts replicas: not news on its own).
TENANT_NOTICES: Notices = {
    c.COND_DEGRADED: Notice("False"),
    c.COND_READY: Notice("True", warn=False),
}
# A Workflow's Valid and Served, with their messages (other errors, other serving Tenants).
WORKFLOW_NOTICES: Notices = {
    c.COND_VALID: Notice("True", message=True),
    c.COND_SERVED: Notice("True", message=True),
}


def condition_events(
    before: Mapping[str, Any], after: Mapping[str, Any], notices: Notices
) -> list[tuple[str, str, str]]:
    """(Event type, reason, message) for each condition change `notices` says is news."""
    chatty = {kind for kind, notice in notices.items() if notice.message}
    found = []
    for cond in transitions(before, after, with_message=chatty):
        notice = notices.get(cond["type"])
        if notice is None:
            continue
        if cond["status"] == notice.good:
            found.append(("Normal", cond["reason"], cond["message"]))
        elif notice.warn:
            found.append(("Warning", cond["reason"], cond["message"]))
    return found


@dataclass(frozen=True)
class WorkflowOutcome:
    """What the Workflow handler learned: validity, what is served, and by whom."""

    generation: int
    errors: tuple[str, ...]  # empty: the current definition is valid
    served: Mapping[str, Any] | None  # the ServedFile in status form, or None
    tenants: tuple[str, ...]  # Tenants serving it
    wanted: str  # who it asks for, in words ("Tenant 'demo'", "Tenants matching app=x")
    duplicate_of: str | None = None  # the Workflow that holds the same definition name

    @property
    def waiting_for_tenant(self) -> bool:
        """Valid and not a duplicate, but no Tenant it asks for exists (yet)."""
        return self.served is not None and self.duplicate_of is None and not self.tenants


def workflow_status(
    outcome: WorkflowOutcome, previous: Mapping[str, Any], *, now: str
) -> dict[str, Any]:
    old = list(previous.get("conditions") or [])
    gen = outcome.generation

    def cond(kind: str, ok: bool, reason: str, message: str) -> dict[str, Any]:
        return condition(kind, ok, reason, message, generation=gen, now=now, previous=old)

    served = outcome.served
    if not outcome.errors:
        valid = cond(c.COND_VALID, True, c.REASON_SCHEMA_VALID, "the definition passes the schema")
    else:
        kept = f"; still serving generation {served['generation']}" if served else ""
        valid = cond(c.COND_VALID, False, c.REASON_SCHEMA_INVALID, "\n".join(outcome.errors) + kept)
    if served is None:
        serving = cond(
            c.COND_SERVED,
            False,
            c.REASON_SCHEMA_INVALID,
            "not served: no version of this workflow has been valid yet",
        )
    elif outcome.duplicate_of is not None:
        serving = cond(
            c.COND_SERVED,
            False,
            c.REASON_DUPLICATE_WORKFLOW,
            f"workflow name {served['name']!r} is already served by Workflow "
            f"{outcome.duplicate_of}",
        )
    elif not outcome.tenants:
        serving = cond(
            c.COND_SERVED,
            False,
            c.REASON_TENANT_NOT_FOUND,
            f"{outcome.wanted} not found in this namespace",
        )
    else:
        which = "" if not outcome.errors else " (the last valid version)"
        serving = cond(
            c.COND_SERVED,
            True,
            c.REASON_SERVED,
            f"generation {served['generation']}{which} served by Tenant(s) "
            + ", ".join(outcome.tenants),
        )
    status: dict[str, Any] = dict(previous)
    status.update(
        {
            "observedGeneration": gen,
            "conditions": [valid, serving],
            "errors": list(outcome.errors),
            "tenants": list(outcome.tenants),
        }
    )
    if served is not None:
        status["lastValid"] = dict(served)
    return status
