"""What every handler shares: the Context from kopf's memo and the error mapping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import kopf

from mozaiks_operator.errors import Blocked, InvalidSpec
from mozaiks_operator.reconcile import Claims, Context
from mozaiks_operator.status import Outcome

# kopf passes an index to every handler as a keyword argument named by the index's id.
CLAIMS_INDEX = "tenant_claims"


def claims_of(kwargs: Mapping[str, Any]) -> Claims:
    """The cluster-wide claims index (app ids, database names; see handlers/tenant.py)."""
    return cast(Claims, kwargs[CLAIMS_INDEX])


def context(memo: Any) -> Context:
    return cast(Context, memo.ctx)


def raise_for(outcome: Outcome | None) -> None:
    """InvalidSpec -> PermanentError (no retry); Blocked -> TemporaryError(delay)."""
    if outcome is None or outcome.error is None:
        return
    err = outcome.error
    if isinstance(err, InvalidSpec):
        raise kopf.PermanentError(f"{err.reason}: {err.message}")
    if isinstance(err, Blocked):
        raise kopf.TemporaryError(f"{err.reason}: {err.message}", delay=err.delay)
    raise kopf.TemporaryError(f"{err.reason}: {err.message}", delay=30)
