"""Where a bearer token travels, per docs/protocol.md "Identity". Pure: the edges (api/deps.py,
ws/endpoint.py) hand in raw header values and get the token (or None) back.

HTTP: `Authorization: Bearer <jwt>`. WebSocket: `Sec-WebSocket-Protocol: bearer, <jwt>`
(browsers cannot set headers on a WebSocket, but they can offer subprotocols; the server must
then accept with the `bearer` subprotocol or the browser drops the connection), or, when the
tenant allows it, `?access_token=<jwt>` (what the shipped widget sends).
"""

from __future__ import annotations

from collections.abc import Sequence

WS_SUBPROTOCOL = "bearer"  # the subprotocol to select when accepting a socket that offered one


def bearer_from_header(value: str | None) -> str | None:
    """The token of an `Authorization: Bearer <jwt>` header value, else None."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def bearer_from_subprotocols(offered: Sequence[str]) -> str | None:
    """The token a client offered as `Sec-WebSocket-Protocol: bearer, <jwt>`, else None."""
    names = [p.strip() for p in offered if p.strip()]
    for index, name in enumerate(names[:-1]):
        if name.lower() == WS_SUBPROTOCOL:
            return names[index + 1]
    return None


def ws_token(
    *, offered_subprotocols: Sequence[str], query_token: str | None, allow_query_token: bool
) -> tuple[str | None, str | None]:
    """(token, subprotocol to accept with): the subprotocol wins over the query parameter, and
    the query parameter counts only when the tenant allows it."""
    token = bearer_from_subprotocols(offered_subprotocols)
    if token is not None:
        return token, WS_SUBPROTOCOL
    if allow_query_token and query_token:
        return query_token, None
    return None, None
