"""Start, find and stop the real components through the `hack/` scripts.

Nothing here is a mock: `hack/build-bins` builds the binaries from Go modules (cached under
`~/.cache/mozaiks/bin`), `hack/cluster` runs etcd + kube-apiserver + kube-controller-manager +
kube-scheduler + kwok, `hack/node` a real kubelet node (containerd + runc) beside it,
`hack/ferretdb` runs FerretDB on SQLite, `hack/jaeger` Jaeger (an OTLP receiver) in memory.
The scripts own the processes; this module only calls them and reads the `export NAME=VALUE`
lines they print.

A test session uses its own state directories (`/tmp/mozaiks-test-<random>/`), so sessions
running side by side (two worktrees, two developers) never share or stop each other's
services, unless a developer started one by hand in the scripts' default directory, which is
then reused and left running. A session killed before its teardown leaves its directory
behind; the next session sweeps such directories (their owner PID is dead) through the
scripts' `down`, which signals only processes whose command line names that directory.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HACK = REPO / "hack"
SESSION_PREFIX = "mozaiks-test-"
SESSION_OWNER = "session.pid"


class HarnessError(RuntimeError):
    """A real component could not be built or started (never a reason to skip)."""


def run_hack(
    script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    """Run `hack/<script> args...`; raise HarnessError with its stderr when it fails."""
    cmd = [str(HACK / script), *args]
    proc = subprocess.run(
        cmd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise HarnessError(
            f"{' '.join(cmd)} exited {proc.returncode}\n--- stderr ---\n{proc.stderr[-4000:]}"
        )
    return proc


def parse_exports(text: str) -> dict[str, str]:
    """`export A=1` lines (values shell-quoted, as `printf %q` writes them) -> {"A": "1"}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("export "):
            (assignment,) = shlex.split(line[len("export ") :])
            name, _, value = assignment.partition("=")
            out[name] = value
    return out


def bin_dir(*names: str) -> Path:
    """Build the named binaries (all when none) if missing; the cache's bin directory."""
    return Path(run_hack("build-bins", *names).stdout.strip().splitlines()[-1])


@dataclass
class Service:
    """One `hack/<script>` service in one state directory."""

    script: str  # "cluster" | "ferretdb" | "node" | "jaeger"
    state_dir: Path
    dir_env: str  # the variable that points the script at state_dir
    extra_args: tuple[str, ...] = ()
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. the node's cluster
    started_here: bool = field(default=False, init=False)
    startup_seconds: float = field(default=0.0, init=False)

    @property
    def env(self) -> dict[str, str]:
        return {**self.extra_env, self.dir_env: str(self.state_dir)}

    def status(self) -> dict[str, str] | None:
        proc = subprocess.run(
            [str(HACK / self.script), "status", *self.extra_args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        return parse_exports(proc.stdout) if proc.returncode == 0 else None

    def up(self) -> dict[str, str]:
        running = self.status()
        if running is not None:
            return running
        t0 = time.monotonic()
        exports = parse_exports(run_hack(self.script, "up", *self.extra_args, env=self.env).stdout)
        self.started_here = True
        self.startup_seconds = time.monotonic() - t0
        return exports

    def down(self) -> None:
        run_hack(self.script, "down", *self.extra_args, env=self.env, timeout=120)


def default_dir(var: str, default: str) -> Path:
    return Path(os.environ.get(var) or default)


def reuse_or_private(
    script: str, dir_env: str, default: str, private: Path, extra_args: tuple[str, ...] = ()
) -> Service:
    """The service a developer already runs in the default dir, else one in `private`."""
    shared = Service(script, default_dir(dir_env, default), dir_env, extra_args)
    if shared.status() is not None:
        return shared
    return Service(script, private, dir_env, extra_args)


def new_session_dir() -> Path:
    """A private state root for this test session, marked with the owning PID."""
    root = Path(tempfile.mkdtemp(prefix=SESSION_PREFIX))
    (root / SESSION_OWNER).write_text(str(os.getpid()))
    return root


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive; /proc/PID/cmdline is empty for one
    with contextlib.suppress(OSError):
        return bool(Path(f"/proc/{pid}/cmdline").read_bytes())
    return False


def sweep_stale_sessions() -> list[Path]:
    """Stop and remove the state of earlier sessions that died before their teardown."""
    swept = []
    for root in Path(tempfile.gettempdir()).glob(f"{SESSION_PREFIX}*"):
        owner = root / SESSION_OWNER
        try:
            pid = int(owner.read_text().strip())
        except (OSError, ValueError):
            continue
        if _pid_alive(pid):
            continue
        for script, dir_env, sub, extra in STALE_LAYOUT:
            sub_dir = root / sub
            if sub_dir.exists():
                with contextlib.suppress(HarnessError, subprocess.TimeoutExpired):
                    run_hack(script, "down", *extra, env={dir_env: str(sub_dir)}, timeout=120)
        shutil.rmtree(root, ignore_errors=True)
        swept.append(root)
    return swept


# (script, variable, sub-directory of a session root, extra args) of every service a
# session may start; used to sweep stale sessions.
STALE_LAYOUT: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("node", "MOZAIKS_NODE_DIR", "node", ()),  # first: it deletes its Node while the cluster runs
    ("cluster", "MOZAIKS_STATE_DIR", "cluster", ()),
    ("ferretdb", "MOZAIKS_FERRETDB_DIR", "ferretdb", ()),
    ("ferretdb", "MOZAIKS_FERRETDB_AUTH_DIR", "ferretdb-auth", ("--auth",)),
    ("jaeger", "MOZAIKS_JAEGER_DIR", "jaeger", ()),
]


def wait_for(predicate: Any, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    """Poll `predicate()` until it returns something truthy; that value, or TimeoutError."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
        except Exception as exc:  # keep polling; report the last error on timeout
            last_exc = exc
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}") from last_exc
        time.sleep(interval)
