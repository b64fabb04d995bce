"""The runtime's services, wired once by the lifespan and kept as one typed attribute of the
app (`app.state.runtime`): routes and sockets ask for `runtime_of(app)` and get every service
typed, instead of reading loose `app.state` attributes back with casts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette

from mozaiks_runtime.auth.verify import TokenVerifier
from mozaiks_runtime.chats.deletion import ChatDeleter
from mozaiks_runtime.chats.hub import Hub
from mozaiks_runtime.chats.runs import RunManager
from mozaiks_runtime.chats.service import ChatService
from mozaiks_runtime.config import Settings
from mozaiks_runtime.metrics import Metrics
from mozaiks_runtime.storage.base import Store
from mozaiks_runtime.usage.budgets import BudgetGuard
from mozaiks_runtime.users.erasure import UserEraser
from mozaiks_runtime.workflows.registry import WorkflowRegistry


@dataclass(slots=True)
class Traffic:
    """The one part that changes while serving: open sockets and AG-UI streams (counted
    together against MOZAIKS_MAX_CONNECTIONS), and whether the runtime is shutting down."""

    sockets: int = 0
    draining: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Runtime:
    settings: Settings
    metrics: Metrics
    store: Store
    registry: WorkflowRegistry
    verifier: TokenVerifier
    hub: Hub
    budget: BudgetGuard
    runs: RunManager
    chats: ChatService
    deleter: ChatDeleter
    eraser: UserEraser
    # With MongoDB, several replicas may serve one chat: a socket whose chat runs elsewhere
    # polls the store for its events (every this many seconds). None: SQLite, one process's.
    store_poll_seconds: float | None
    count_sent: Callable[[str], None]  # metrics.event_sent, with our frame types' series cached
    traffic: Traffic = field(default_factory=Traffic)


def runtime_of(app: Starlette) -> Runtime:
    """The app's services; only there while the lifespan runs (the app is serving)."""
    runtime = getattr(app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise RuntimeError("the runtime is not started: serve the app with its lifespan on")
    return runtime
