"""GET /api/usage: token usage of the caller; another user's or the whole app's with the admin
scope (`user_id=*`, as in GET /api/sessions)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from mozaiks_runtime.api.deps import IdentityDep, StoreDep
from mozaiks_runtime.storage.base import GroupBy, UsageTotal
from mozaiks_runtime.usage.report import usage_report

router = APIRouter(prefix="/api/usage", tags=["usage"])


class UsageTotalOut(BaseModel):
    key: str  # the day (YYYY-MM-DD), user id, workflow or model; "total" for the sum
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float  # from the deployment's price table, per 1,000 tokens
    calls: int

    @classmethod
    def of(cls, total: UsageTotal) -> UsageTotalOut:
        return cls(
            key=total.key,
            prompt_tokens=total.prompt_tokens,
            completion_tokens=total.completion_tokens,
            total_tokens=total.total_tokens,
            cost=total.cost,
            calls=total.calls,
        )


class UsageOut(BaseModel):
    app_id: str
    user_id: str | None  # null: every user of the app
    start: datetime  # inclusive
    end: datetime  # exclusive
    group_by: GroupBy
    groups: list[UsageTotalOut]
    total: UsageTotalOut


@router.get("")
async def get_usage(
    identity: IdentityDep,
    store: StoreDep,
    start: Annotated[
        str | None,
        Query(
            alias="from", max_length=40, description="YYYY-MM-DD or ISO 8601; default 30 days ago"
        ),
    ] = None,
    end: Annotated[
        str | None,
        Query(alias="to", max_length=40, description="exclusive; a bare date includes that day"),
    ] = None,
    group_by: GroupBy = "day",
    user_id: Annotated[str | None, Query(max_length=256)] = None,
) -> UsageOut:
    """Token usage over a period (at most 366 days), grouped by day, user, workflow or model."""
    report = await usage_report(
        store, identity, user_id=user_id, start=start, end=end, group_by=group_by
    )
    return UsageOut(
        app_id=report.app_id,
        user_id=report.user_id,
        start=report.period.start,
        end=report.period.end,
        group_by=report.group_by,
        groups=[UsageTotalOut.of(g) for g in report.groups],
        total=UsageTotalOut.of(report.total),
    )
