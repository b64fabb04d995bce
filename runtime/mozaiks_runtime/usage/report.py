"""Usage reports for GET /api/usage: who may see what, over which period, grouped how.

A caller sees their own usage; another user's, or the whole app's (`user_id=*`, as in
GET /api/sessions), needs the admin scope. Periods are
half-open [start, end) in UTC. A bare date as `to` means the whole of that day, so
`from=2026-03-01&to=2026-03-31` is March.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.errors import BadRequest, Forbidden
from mozaiks_runtime.storage.base import GroupBy, Store, UsageTotal, utcnow

DEFAULT_DAYS = 30
MAX_DAYS = 366  # one query never scans more than a year of records
ALL_USERS = "*"


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class UsageReport:
    app_id: str
    user_id: str | None  # None: every user of the app
    period: Period
    group_by: GroupBy
    groups: list[UsageTotal]
    total: UsageTotal


def parse_moment(text: str, *, end_of_day: bool) -> datetime:
    """An ISO date or datetime as an aware UTC datetime; naive datetimes are taken as UTC."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(), UTC)
            return moment + timedelta(days=1) if end_of_day else moment
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"invalid date {text!r}: use YYYY-MM-DD or an ISO 8601 datetime") from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def period_of(start: str | None, end: str | None, *, now: datetime) -> Period:
    """The period a request names; the default is the last DEFAULT_DAYS days up to now."""
    end_at = parse_moment(end, end_of_day=True) if end else now
    start_at = parse_moment(start, end_of_day=False) if start else end_at - timedelta(DEFAULT_DAYS)
    if start_at >= end_at:
        raise BadRequest("'from' must be before 'to'")
    if end_at - start_at > timedelta(days=MAX_DAYS):
        raise BadRequest(f"the period may span at most {MAX_DAYS} days")
    return Period(start_at, end_at)


def subject_of(identity: Identity, user_id: str | None) -> str | None:
    """Whose usage the caller asks for and may read: their own (no `user_id`, or their own id),
    else, for admins only, one other user's or (`*`, returned as None) every user's."""
    if user_id is None or user_id == identity.user_id:
        return identity.user_id
    if not identity.may_read_app(identity.app_id):
        raise Forbidden("other users' usage needs the admin scope")
    return None if user_id == ALL_USERS else user_id


def total_of(groups: list[UsageTotal]) -> UsageTotal:
    return UsageTotal(
        key="total",
        prompt_tokens=sum(g.prompt_tokens for g in groups),
        completion_tokens=sum(g.completion_tokens for g in groups),
        total_tokens=sum(g.total_tokens for g in groups),
        cost=round(sum(g.cost for g in groups), 8),
        calls=sum(g.calls for g in groups),
    )


async def usage_report(
    store: Store,
    identity: Identity,
    *,
    user_id: str | None = None,
    start: str | None = None,
    end: str | None = None,
    group_by: GroupBy = "day",
    now: datetime | None = None,
) -> UsageReport:
    """The caller's (or, for admins, the app's) usage over a period; Forbidden / BadRequest."""
    subject = subject_of(identity, user_id)
    period = period_of(start, end, now=now or utcnow())
    groups = await store.usage_totals(
        identity.app_id, subject, start=period.start, end=period.end, group_by=group_by
    )
    return UsageReport(identity.app_id, subject, period, group_by, groups, total_of(groups))
