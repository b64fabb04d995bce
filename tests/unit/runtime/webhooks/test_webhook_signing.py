"""The delivery signature (webhooks/signing.py): what is signed, and what `verify` refuses."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from mozaiks_runtime.webhooks.signing import SignatureError, delivery_headers, signature, verify

pytestmark = pytest.mark.unit
SECRET = "s3cret"
BODY = '{"id":"whd_1","type":"chat.run_complete"}'
T = 1_760_000_000


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.{BODY}".encode(), hashlib.sha256).hexdigest()
    assert signature(SECRET, T, BODY) == expected == signature(SECRET.encode(), T, BODY.encode())
    headers = delivery_headers(
        secret=SECRET, delivery_id="whd_1", event_type="chat.run_complete", body=BODY, now=T
    )
    assert headers == {
        "Content-Type": "application/json",
        "Mozaiks-Signature": f"t={T},v1={expected}",
        "Mozaiks-Delivery": "whd_1",
        "Mozaiks-Event": "chat.run_complete",
    }


def test_verify_accepts_a_fresh_signature_and_any_matching_v1() -> None:
    good = signature(SECRET, T, BODY)
    assert verify(SECRET, BODY, f"t={T},v1={good}", now=T + 10) == T
    assert verify(SECRET, BODY.encode(), f"t={T}, v1={'0' * 64}, v1={good}", now=T - 10) == T


@pytest.mark.parametrize(
    ("body", "header", "now", "message"),
    [
        (BODY + " ", None, T, "does not match"),
        (BODY, f"t={T + 1},v1=SIG", T, "does not match"),  # the timestamp is signed too
        (BODY, None, T + 301, "replay window"),
        (BODY, None, T - 301, "replay window"),
        (BODY, "v1=SIG", T, "malformed"),
        (BODY, f"t={T}", T, "malformed"),
        (BODY, "t=soon,v1=SIG", T, "malformed"),
        (BODY, "", T, "malformed"),
    ],
)
def test_verify_refuses(body: str, header: str | None, now: int, message: str) -> None:
    good = signature(SECRET, T, BODY)
    header = f"t={T},v1={good}" if header is None else header.replace("SIG", good)
    with pytest.raises(SignatureError, match=message):
        verify(SECRET, body, header, now=now)


def test_the_replay_window_is_the_receivers_choice() -> None:
    header = f"t={T},v1={signature(SECRET, T, BODY)}"
    assert verify(SECRET, BODY, header, now=T + 3000, tolerance=3600) == T
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, header, now=T + 61, tolerance=60)
