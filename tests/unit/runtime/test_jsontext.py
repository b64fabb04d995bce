"""jsontext: orjson where it can, the standard module where orjson refuses, same JSON either way."""

from __future__ import annotations

import json

import pytest

from mozaiks_runtime import jsontext

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "value",
    [
        {"agent": "Planner", "content": 'été 🌍 "quoted" \\ back', "n": 3, "ok": True},
        {"huge": 2**70},  # beyond 64 bits: orjson refuses, the standard module takes it
        {1: "int key", None: "null key"},  # non-string keys, as json.dumps coerces them
        [1.5, None, "x", {"nested": [1, [2, [3]]]}],
    ],
)
def test_round_trips_like_the_standard_module(value: object) -> None:
    assert json.loads(jsontext.dumps(value)) == json.loads(json.dumps(value))


def test_raw_text_is_embedded_verbatim() -> None:
    inner = jsontext.dumps({"content": "hi", "n": 1})
    text = jsontext.dumps({"type": "chat.text", "data": jsontext.Raw(inner)})
    assert text == '{"type":"chat.text","data":{"content":"hi","n":1}}'


def test_what_neither_can_encode_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        jsontext.dumps({"x": object()})
