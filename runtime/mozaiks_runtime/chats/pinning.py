"""Which workflow a chat runs: the exact definition it started with, wherever and whenever.

A chat records the content hash of its workflow when it is created, and the definition itself is
kept in the store under that hash, so every replica, after any restart, loads the same workflow
for it even when the ConfigMap has moved on or the workflow was deleted. Only an explicit upgrade
moves a chat to the version served now.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import Protocol

from mozaiks_runtime.errors import WorkflowNotFound
from mozaiks_runtime.storage.base import ChatRecord, Store
from mozaiks_runtime.workflows.model import WorkflowDefinition, dump_definition
from mozaiks_runtime.workflows.schema import WorkflowInvalid, validate_definition

log = logging.getLogger(__name__)
LOADED_VERSIONS = 256  # definitions read back from the store, kept parsed


class LoadedWorkflowLike(Protocol):
    @property
    def definition(self) -> WorkflowDefinition: ...

    @property
    def version(self) -> str: ...


class WorkflowSource(Protocol):
    """workflows/registry.py's WorkflowRegistry, as far as chats need it."""

    def get(self, name: str) -> LoadedWorkflowLike | None: ...

    def get_version(self, name: str, version: str) -> LoadedWorkflowLike | None: ...


class PinnedWorkflows:
    def __init__(self, store: Store, workflows: WorkflowSource) -> None:
        self._store = store
        self._workflows = workflows
        self._saved: set[tuple[str, str, str]] = set()  # (app, name, version) stored already
        self._loaded: OrderedDict[tuple[str, str, str], WorkflowDefinition] = OrderedDict()

    def current(self, name: str) -> LoadedWorkflowLike:
        """The version served now; WorkflowNotFound when the workflow is not served."""
        loaded = self._workflows.get(name)
        if loaded is None:
            raise WorkflowNotFound(f"unknown workflow {name!r}")
        return loaded

    def current_version(self, name: str) -> str | None:
        loaded = self._workflows.get(name)
        return loaded.version if loaded is not None else None

    async def pin(self, app_id: str, loaded: LoadedWorkflowLike) -> None:
        """Keep the definition in the store (once per version and process) before a chat
        records its hash, so no chat names a version that no replica could load."""
        key = (app_id, loaded.definition.name, loaded.version)
        if key in self._saved:
            return
        text = json.dumps(dump_definition(loaded.definition), sort_keys=True)
        await self._store.save_workflow_version(app_id, key[1], key[2], text)
        self._saved.add(key)

    async def definition(self, chat: ChatRecord) -> WorkflowDefinition:
        """The definition the chat is pinned to: from the registry while it serves that
        version, else from the store. WorkflowNotFound when neither has it (a chat created
        before versions were kept, whose version the registry no longer serves)."""
        name, version = chat.workflow_name, chat.workflow_version
        served = self._workflows.get_version(name, version)
        if served is not None:
            return served.definition
        key = (chat.app_id, name, version)
        cached = self._loaded.get(key)
        if cached is not None:
            self._loaded.move_to_end(key)
            return cached
        text = await self._store.get_workflow_version(chat.app_id, name, version)
        if text is None:
            raise WorkflowNotFound(
                f"chat {chat.chat_id} is pinned to {name!r} {version[:19]}, which is no longer "
                "available; upgrade the chat to the current version"
            )
        try:
            # No plugin check: the version ran here before; a missing plugin fails its tool call.
            definition = validate_definition(json.loads(text), f"{name}@{version[:19]}")
        except (ValueError, WorkflowInvalid) as exc:
            log.error("stored workflow %s %s does not load: %s", name, version, exc)
            raise WorkflowNotFound(f"the pinned version of {name!r} cannot be loaded") from None
        self._loaded[key] = definition
        while len(self._loaded) > LOADED_VERSIONS:
            self._loaded.popitem(last=False)
        return definition
