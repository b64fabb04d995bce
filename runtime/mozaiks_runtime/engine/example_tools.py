"""Example tool plugins, registered like a deployment's own under the entry-point group
`mozaiks.tools` (see `pyproject.toml`). A plugin is a plain function, sync or async; its type
hints and docstring become the tool's JSON Schema and description. Sync plugins run in a worker
thread, so they never block the event loop (and cannot be interrupted once started).

A plugin that takes a parameter annotated `ag2.Context` (left out of the tool's schema) can read
and set the chat's context variables, which `on_context` hand-offs test after the turn:

    def classify(topic: str, context: Context) -> str:
        context.variables["topic"] = topic
        return "ok"
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# Per person and day, and per person for the journey, in EUR: a deterministic toy price list.
_DAILY = {"lisbon": 110, "paris": 160, "tokyo": 180, "new york": 210}
_TRAVEL = {"lisbon": 180, "paris": 120, "tokyo": 900, "new york": 650}


def estimate_trip_cost(
    destination: Annotated[str, Field(description="City to travel to", examples=["Lisbon"])],
    days: Annotated[int, Field(ge=1, le=60, description="Length of the stay in days")] = 3,
    travellers: Annotated[int, Field(ge=1, le=20, description="Number of travellers")] = 1,
) -> dict[str, object]:
    """Estimate the cost of a trip (lodging, food and travel) in EUR."""
    city = destination.strip().lower()
    daily = _DAILY.get(city, 140)
    travel = _TRAVEL.get(city, 400)
    total = (daily * days + travel) * travellers
    return {
        "destination": destination.strip(),
        "days": days,
        "travellers": travellers,
        "currency": "EUR",
        "per_day_per_person": daily,
        "travel_per_person": travel,
        "total": total,
    }
