"""What both adapters share for deletion and erasure (storage/base.py, "Deletion, retention,
erasure"): fold ids, rollup keys and audit rows. Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from mozaiks_runtime.storage.base import ERASED_USER, ErasureAudit, UsageRollup

DELETE_CHUNK = 500  # chat ids per statement / query


def fold_id(app_id: str, chat_id: str, user_id: str, workflow: str, model: str, day: str) -> str:
    """The id of one chat's usage folded for one (user, workflow, model, day): folding the same
    chat again (a deletion repeated after a crash) writes the same id, which the store refuses,
    so a call is never counted twice. A hash: the rollup must not keep the chat id itself."""
    key = "\x00".join((app_id, chat_id, user_id, workflow, model, day))
    return hashlib.sha256(key.encode()).hexdigest()


def rollup_user(user_id: str, *, keep_user: bool) -> str:
    return user_id if keep_user else ERASED_USER


def day_start(day: str) -> datetime:
    """Where a rollup sits in time: the start of its UTC day."""
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)


def merge_rollups(
    app_id: str, user_id: str, rows: Iterable[Mapping[str, Any]]
) -> list[UsageRollup]:
    """Rollup rows (several folds may share a key) as one UsageRollup per key, sorted."""
    sums: dict[tuple[str, str, str], list[float]] = {}
    for row in rows:
        key = (str(row["day"]), str(row["workflow_name"]), str(row["model"]))
        acc = sums.setdefault(key, [0, 0, 0.0, 0])
        acc[0] += row["prompt_tokens"]
        acc[1] += row["completion_tokens"]
        acc[2] += row["cost"]
        acc[3] += row["calls"]
    return [
        UsageRollup(app_id, user_id, wf, model, day, int(p), int(c), float(cost), int(n))
        for (day, wf, model), (p, c, cost, n) in sorted(sums.items())
    ]


def audit_from(row: Mapping[str, Any], erased_at: datetime) -> ErasureAudit:
    counts = row["counts"]
    return ErasureAudit(
        audit_id=row["audit_id"],
        app_id=row["app_id"],
        user_id=row["user_id"],
        requested_by=row["requested_by"],
        counts=json.loads(counts) if isinstance(counts, str) else dict(counts),
        sha256=row["sha256"],
        erased_at=erased_at,
    )


def chunks(ids: list[str], size: int = DELETE_CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
