"""A bound on HTTP request bodies (`MOZAIKS_MAX_BODY_BYTES`): uvicorn reads any size, and an
AG-UI client sends a thread's whole history on every run, so the runtime sets its own limit.

A body over the limit (by its `Content-Length`, or counted as a chunked body arrives) is
answered 413 `BODY_TOO_LARGE` before the route acts on it. The rest of the body is read and
dropped first, up to `DRAIN_FACTOR` times the limit, because a client still sending when the
server closes gets its connection reset instead of the answer; past that the runtime answers and
closes at once."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mozaiks_runtime.errors import BodyTooLarge

DRAIN_FACTOR = 8
_GONE: Message = {"type": "http.disconnect"}


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, read=0, more=True, length=int(declared))
            return
        read, refused = 0, False

        async def counted() -> Message:
            nonlocal read, refused
            if refused:
                return _GONE
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_bytes:
                    refused = True
                    more = bool(message.get("more_body", False))
                    await self._refuse(scope, receive, send, read=read, more=more)
                    return _GONE  # the route stops reading, as if the client had left
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:  # the 413 is the answer: what the route says after it is dropped
                await send(message)

        await self.app(scope, counted, unless_refused)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        read: int,
        more: bool,
        length: int | None = None,
    ) -> None:
        cap = self.max_bytes * DRAIN_FACTOR
        if length is None or length <= cap:
            while more and read <= cap:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client left: nobody to answer
                read += len(message.get("body", b""))
                more = bool(message.get("more_body", False))
        error = BodyTooLarge(f"the request body is over {self.max_bytes} bytes")
        body = {"detail": error.message, "error_code": error.error_code}
        # Unread bytes left on the connection must not be taken for the next request.
        headers = {"Connection": "close"} if more else None
        await JSONResponse(body, status_code=413, headers=headers)(scope, receive, send)
