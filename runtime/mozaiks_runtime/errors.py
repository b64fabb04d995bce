"""Domain errors. Each carries an `error_code`; this module's table is the one place that maps
them to an HTTP status and to a WebSocket `chat.error` (plus a close code when the socket
cannot stay open)."""

from __future__ import annotations

from dataclasses import dataclass


class MozaiksError(Exception):
    """Base of every error the runtime reports to a client."""

    error_code = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthError(MozaiksError):
    """Missing, invalid or expired credentials (never says which detail failed to a client)."""

    error_code = "UNAUTHORIZED"


class TokenExpired(AuthError):
    """The token a socket was opened with has expired: reconnect with a fresh one."""

    error_code = "TOKEN_EXPIRED"


class Forbidden(MozaiksError):
    error_code = "FORBIDDEN"


class NotEntitled(Forbidden):
    """The caller's token does not satisfy the workflow's `access` rules."""

    error_code = "NOT_ENTITLED"


class NotFound(MozaiksError):
    """Also what a user gets for another user's chat: existence is never revealed."""

    error_code = "NOT_FOUND"


class BadRequest(MozaiksError):
    error_code = "BAD_REQUEST"


class SchemaValidationFailed(BadRequest):
    error_code = "SCHEMA_VALIDATION_FAILED"


class UnprocessableBody(SchemaValidationFailed):
    """A request body that breaks its schema or our limits (HTTP 422, like FastAPI's check)."""


class FrameTooLarge(BadRequest):
    error_code = "FRAME_TOO_LARGE"


class BodyTooLarge(FrameTooLarge):
    """An HTTP request body over `MOZAIKS_MAX_BODY_BYTES` (413, like a frame too large)."""

    error_code = "BODY_TOO_LARGE"


class Conflict(MozaiksError):
    error_code = "CONFLICT"


class NoActiveRun(Conflict):
    error_code = "NO_ACTIVE_RUN"


class RunInProgress(Conflict):
    """A run holds the chat's lease: stop it first (or delete with `force=true`)."""

    error_code = "RUN_IN_PROGRESS"


class ChatDeleted(MozaiksError):
    """The chat a socket follows was deleted: the socket closes with 4410."""

    error_code = "CHAT_DELETED"


class WorkflowNotFound(NotFound):
    error_code = "WORKFLOW_NOT_FOUND"


class InputRequestNotFound(NotFound):
    error_code = "INPUT_REQUEST_NOT_FOUND"


class ToolCallNotFound(NotFound):
    """An AG-UI tool result for a call this chat never made (or another user's)."""

    error_code = "TOOL_CALL_NOT_FOUND"


class InputTimeout(MozaiksError):
    error_code = "INPUT_TIMEOUT"


class BudgetExceeded(MozaiksError):
    error_code = "BUDGET_EXCEEDED"


class RateLimited(MozaiksError):
    error_code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(MozaiksError):
    error_code = "OVERLOADED"


class StorageUnavailable(MozaiksError):
    error_code = "STORAGE_UNAVAILABLE"


class EngineFailed(MozaiksError):
    error_code = "ENGINE_FAILED"


class McpServerFailed(EngineFailed):
    """An MCP server a run needs cannot serve it (unreachable, refused, or lists a tool badly)."""

    error_code = "MCP_SERVER_FAILED"


@dataclass(frozen=True, slots=True)
class Reply:
    http_status: int
    ws_close: int | None  # None: the socket stays open after chat.error


# WebSocket close codes: 1008 policy violation, 1009 too big, 1011 internal error, 1013 try later,
# 4410 the chat was deleted (ours, like HTTP 410 Gone: do not reconnect to it).
_REPLIES: dict[type[MozaiksError], Reply] = {
    AuthError: Reply(401, 1008),
    Forbidden: Reply(403, 1008),
    NotEntitled: Reply(403, None),  # the socket stays open: history, cancel still work
    NotFound: Reply(404, None),
    BadRequest: Reply(400, None),
    UnprocessableBody: Reply(422, None),
    FrameTooLarge: Reply(413, None),
    Conflict: Reply(409, None),
    ChatDeleted: Reply(410, 4410),
    InputTimeout: Reply(408, None),
    BudgetExceeded: Reply(429, None),
    RateLimited: Reply(429, None),
    Overloaded: Reply(503, 1013),
    StorageUnavailable: Reply(503, 1011),
    EngineFailed: Reply(502, None),
    MozaiksError: Reply(500, 1011),
}


def reply_for(error: MozaiksError) -> Reply:
    """The HTTP status and WebSocket close code for an error (most specific class wins)."""
    for cls in type(error).__mro__:
        if cls in _REPLIES:
            return _REPLIES[cls]
    return _REPLIES[MozaiksError]
