"""Structured output: an agent's reply validated against the workflow's JSON Schema, and the
parsed object a run stores in the context under the output's name."""

from __future__ import annotations

import json
from typing import Any

from ag2 import Context
from ag2.response import ResponseProto
from fast_depends import Provider
from jsonschema import Draft202012Validator

from mozaiks_runtime.workflows.model import StructuredOutput


class JsonSchemaResponse(ResponseProto[str]):
    """Structured output from the workflow's JSON Schema; the reply stays the JSON text."""

    def __init__(self, spec: StructuredOutput) -> None:
        self.name = spec.name
        self.description = spec.description or None
        self.json_schema = dict(spec.schema_)
        self.system_prompt = None
        self._validator = Draft202012Validator(self.json_schema)

    async def validate(
        self, response: str, context: Context, provider: Provider | None = None
    ) -> str:
        self._validator.validate(json.loads(response))
        return response


def response_schema(spec: StructuredOutput | None) -> JsonSchemaResponse | None:
    return JsonSchemaResponse(spec) if spec is not None else None


def json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
