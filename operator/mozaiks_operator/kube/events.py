"""Kubernetes Events for what a user should see, posted through kopf's event poster."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

# kopf annotates `objs` with its own Body type; it takes any object body mapping at run time,
# which is what we hold after a read or a patch.


def post(obj: Mapping[str, Any], type: str, reason: str, message: str) -> None:
    """An Event of `type` ("Normal" or "Warning")."""
    kopf.event(dict(obj), type=type, reason=reason, message=message)  # type: ignore[arg-type]


def normal(obj: Mapping[str, Any], reason: str, message: str) -> None:
    post(obj, "Normal", reason, message)
