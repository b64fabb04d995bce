"""Token extraction from headers, subprotocols and the query string."""

from __future__ import annotations

import pytest

from mozaiks_runtime.auth.bearer import (
    WS_SUBPROTOCOL,
    bearer_from_header,
    bearer_from_subprotocols,
    ws_token,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer   abc", "abc"),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("", None),
        (None, None),
    ],
)
def test_authorization_header(value: str | None, expected: str | None) -> None:
    assert bearer_from_header(value) == expected


def test_subprotocol_pair() -> None:
    assert bearer_from_subprotocols(["bearer", "tok"]) == "tok"
    assert bearer_from_subprotocols([" Bearer ", " tok "]) == "tok"
    assert bearer_from_subprotocols(["chat.v1", "bearer", "tok"]) == "tok"
    assert bearer_from_subprotocols(["bearer"]) is None
    assert bearer_from_subprotocols(["tok"]) is None
    assert bearer_from_subprotocols([]) is None


def test_ws_token_prefers_the_subprotocol_and_honours_the_query_switch() -> None:
    assert ws_token(
        offered_subprotocols=["bearer", "a"], query_token="b", allow_query_token=True
    ) == ("a", WS_SUBPROTOCOL)
    assert ws_token(offered_subprotocols=[], query_token="b", allow_query_token=True) == (
        "b",
        None,
    )
    assert ws_token(offered_subprotocols=[], query_token="b", allow_query_token=False) == (
        None,
        None,
    )
