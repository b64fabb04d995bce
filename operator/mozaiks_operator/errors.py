"""The operator's failure kinds; handlers map them to kopf's PermanentError and TemporaryError.

`InvalidSpec`: the spec can never work as written (a user must change it): Degraded, no retry
except the drift timer. `Blocked`: something outside the spec is missing or down (a Secret, the
database): Degraded, retried after `delay`. Anything else is left to kopf's backoff.
"""

from __future__ import annotations


class OperatorError(Exception):
    """A failure with a condition reason that explains it to the user."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class InvalidSpec(OperatorError):
    """The spec cannot be reconciled until someone changes it."""


class Blocked(OperatorError):
    """Waiting for something outside the spec; retry after `delay` seconds."""

    def __init__(self, reason: str, message: str, *, delay: float = 30.0) -> None:
        super().__init__(reason, message)
        self.delay = delay
