"""The workflows this runtime serves: loaded from a directory, hot-reloaded, versions kept.

In Kubernetes the directory is a mounted ConfigMap. The kubelet updates it by writing a new
hidden `..<timestamp>` directory and swapping the `..data` symlink, so file events are unreliable;
the registry polls instead and compares content hashes, which sees every swap and nothing else.

- A workflow's `version` is the hash of its file's bytes: a chat records it when it starts and
  asks for `get_version(name, version)` later, so it keeps running the definition it began with
  even after the file changed (the last `keep_versions` versions of each workflow are kept).
- One broken file never stops the others: its problems are in `errors()`, and if that workflow
  was loaded before, its last good version stays current until the file is fixed.
- A file that disappears takes its workflow out of `get()`/`all()`; started chats still find
  their version through `get_version`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mozaiks_runtime.workflows.model import WorkflowDefinition
from mozaiks_runtime.workflows.plugins import installed_tool_names
from mozaiks_runtime.workflows.schema import WorkflowInvalid, validate_text

logger = logging.getLogger(__name__)

# The published JSON Schema lives next to the examples; it is not a workflow.
IGNORED_FILES = frozenset({"schema.json"})
MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class LoadedWorkflow:
    definition: WorkflowDefinition
    version: str  # content hash of the file, e.g. "sha256:3f5a..."
    source: Path

    @property
    def name(self) -> str:
        return self.definition.name


@dataclass(frozen=True, slots=True)
class _FileResult:
    digest: str
    workflow: LoadedWorkflow | None
    errors: tuple[str, ...] = ()


@dataclass(slots=True)
class _Snapshot:
    files: dict[Path, _FileResult] = field(default_factory=dict)
    directory_error: str | None = None


class WorkflowRegistry:
    """Loads `*.json` workflows from `directory` and reloads them every `poll_seconds`."""

    def __init__(
        self,
        directory: Path,
        poll_seconds: float = 2.0,
        *,
        plugins: Collection[str] | Callable[[], Collection[str]] | None = installed_tool_names,
        keep_versions: int = 32,
    ) -> None:
        self.directory = Path(directory)
        self.poll_seconds = poll_seconds
        self._plugins = plugins
        self._keep_versions = keep_versions
        self._files: dict[Path, _FileResult] = {}
        self._current: dict[str, LoadedWorkflow] = {}
        self._versions: dict[str, OrderedDict[str, LoadedWorkflow]] = {}
        self._errors: dict[str, list[str]] = {}
        self._task: asyncio.Task[None] | None = None
        self._generation = 0
        self._waiters: list[asyncio.Future[int]] = []

    # ── lifecycle ───────────────────────────────────────────────────────────

    def reload(self) -> bool:
        """Scan the directory now (blocking); returns whether anything changed."""
        return self._apply(self._scan(dict(self._files)))

    async def start(self) -> None:
        """Load once, then keep polling in a background task owned by this registry."""
        if self._task is not None:
            return
        await self.refresh()
        self._task = asyncio.create_task(self._poll(), name=f"workflow-registry:{self.directory}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def refresh(self) -> bool:
        """One poll, off the event loop (what the background task does each period)."""
        snapshot = await asyncio.to_thread(self._scan, dict(self._files))
        return self._apply(snapshot)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.refresh()
            except Exception:  # keep serving what we have; the next poll tries again
                logger.exception("workflow reload failed", extra={"directory": str(self.directory)})

    # ── reads ───────────────────────────────────────────────────────────────

    @property
    def generation(self) -> int:
        """Increases on every change (tests and readiness checks can wait on it)."""
        return self._generation

    async def wait_changed(self, generation: int) -> int:
        """Wait until the workflows change after `generation`; returns the new generation."""
        if self._generation > generation:
            return self._generation
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def get(self, name: str) -> LoadedWorkflow | None:
        return self._current.get(name)

    def get_version(self, name: str, version: str) -> LoadedWorkflow | None:
        versions = self._versions.get(name)
        return versions.get(version) if versions is not None else None

    def all(self) -> list[LoadedWorkflow]:
        return [self._current[name] for name in sorted(self._current)]

    def errors(self) -> dict[str, list[str]]:
        """Problems by file (a file name, or the directory itself when it cannot be read)."""
        return {source: list(problems) for source, problems in self._errors.items()}

    # ── scanning (runs in a thread) and applying (on the loop) ──────────────

    def _scan(self, previous: Mapping[Path, _FileResult]) -> _Snapshot:
        snapshot = _Snapshot()
        try:
            paths = sorted(p for p in self.directory.iterdir() if _is_workflow_file(p))
        except OSError as exc:
            snapshot.directory_error = f"{self.directory}: cannot list the directory: {exc}"
            return snapshot
        plugins: Collection[str] | None = None
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError:
                continue  # vanished between listing and reading (a symlink swap): next poll
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            old = previous.get(path)
            if old is not None and old.digest == digest:
                snapshot.files[path] = old
                continue
            if plugins is None:
                plugins = self._plugin_names()
            snapshot.files[path] = _load(path, data, digest, plugins)
        return snapshot

    def _plugin_names(self) -> Collection[str]:
        if self._plugins is None:
            return ()
        return self._plugins() if callable(self._plugins) else self._plugins

    def _apply(self, snapshot: _Snapshot) -> bool:
        errors: dict[str, list[str]] = {}
        if snapshot.directory_error is not None:
            errors[str(self.directory)] = [snapshot.directory_error]
        current = _collect(snapshot, errors)
        self._keep_last_good(snapshot, current)
        if snapshot.directory_error is not None:
            current = dict(self._current)  # an unreadable mount is not "every workflow deleted"

        changed = _versions(current) != _versions(self._current) or errors != self._errors
        for workflow in current.values():
            self._remember(workflow)
        self._files = snapshot.files if snapshot.directory_error is None else self._files
        self._current = current
        self._errors = errors
        if changed:
            self._announce()
        return changed

    def _keep_last_good(self, snapshot: _Snapshot, current: dict[str, LoadedWorkflow]) -> None:
        """A broken file keeps its workflow's last good version current (when the name is
        known)."""
        for path, result in snapshot.files.items():
            previous = self._files.get(path)
            if not result.errors or previous is None or previous.workflow is None:
                continue
            name = previous.workflow.name
            if name not in current:
                current[name] = self._current.get(name, previous.workflow)
                snapshot.files[path] = _FileResult(result.digest, previous.workflow, result.errors)

    def _announce(self) -> None:
        """A new generation: wake the waiters and log what is served and what is not."""
        self._generation += 1
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(self._generation)
        logger.info(
            "workflows loaded",
            extra={
                "workflows": {n: w.version[:15] for n, w in self._current.items()},
                "invalid_files": sorted(self._errors),
            },
        )
        for source, problems in self._errors.items():
            for problem in problems:
                logger.warning("invalid workflow: %s", problem, extra={"file": source})

    def _remember(self, workflow: LoadedWorkflow) -> None:
        versions = self._versions.setdefault(workflow.name, OrderedDict())
        versions[workflow.version] = workflow
        versions.move_to_end(workflow.version)
        while len(versions) > self._keep_versions:
            versions.popitem(last=False)


def _collect(snapshot: _Snapshot, errors: dict[str, list[str]]) -> dict[str, LoadedWorkflow]:
    """The valid workflows by name; each file's problems go to `errors` (a second file that
    defines a name already taken is a problem of its own)."""
    current: dict[str, LoadedWorkflow] = {}
    owners: dict[str, Path] = {}
    for path, result in snapshot.files.items():
        if result.errors:
            errors[path.name] = list(result.errors)
            continue
        assert result.workflow is not None
        name = result.workflow.name
        if name in owners:
            errors[path.name] = [
                f"{path.name}: $.name: workflow {name!r} is already defined in "
                f"{owners[name].name}; this file is ignored"
            ]
            continue
        owners[name] = path
        current[name] = result.workflow
    return current


def _versions(workflows: Mapping[str, LoadedWorkflow]) -> dict[str, str]:
    return {name: workflow.version for name, workflow in workflows.items()}


def _is_workflow_file(path: Path) -> bool:
    return (
        path.suffix == ".json"
        and not path.name.startswith(".")
        and path.name not in IGNORED_FILES
        and path.is_file()
    )


def _load(path: Path, data: bytes, digest: str, plugins: Collection[str]) -> _FileResult:
    if len(data) > MAX_FILE_BYTES:
        return _FileResult(
            digest, None, (f"{path.name}: $: file larger than {MAX_FILE_BYTES} bytes",)
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _FileResult(digest, None, (f"{path.name}: $: not UTF-8 text ({exc.reason})",))
    try:
        definition = validate_text(text, path.name, plugins=plugins)
    except WorkflowInvalid as exc:
        return _FileResult(digest, None, tuple(exc.errors))
    return _FileResult(digest, LoadedWorkflow(definition, digest, path))
