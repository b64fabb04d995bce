"""The two images, built for real by `hack/build-images` (buildah), and containers run from them
with podman as a user would run them: the image's own user (10001), a read-only root filesystem,
and the host network with every server bound to loopback (no network of our own to route)."""

from __future__ import annotations

import json
import os
import resource
import secrets
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OWNER_LABEL = "dev.mozaiks.test-owner"  # the pytest PID that started a container


@dataclass(frozen=True)
class Images:
    runtime: str
    operator: str
    sizes: Mapping[str, int]


def build_images() -> Images:
    """Build (or find in buildah's layer cache) both images; `hack/build-images` prints
    `REF ID SIZE` per image."""
    proc = subprocess.run(
        [str(ROOT / "hack" / "build-images")],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"hack/build-images failed:\n{proc.stderr[-4000:]}")
    refs: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for line in proc.stdout.split("\n"):
        if line.strip():
            ref, _id, size = line.split()
            name = ref.rsplit("/", 1)[1].split(":")[0]
            refs[name], sizes[name] = ref, int(size)
    return Images(runtime=refs["runtime"], operator=refs["operator"], sizes=sizes)


def _limits() -> list[str]:
    # podman's default rlimits (nofile 1048576, ...) are above this sandbox's hard limits, and
    # without CAP_SYS_RESOURCE runc may not raise them: ask for what the host already allows.
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "nproc=4096:4096"]


def podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:2])}: {proc.returncode}\n{proc.stderr}")
    return proc


def _run_args(
    image: str,
    command: Sequence[str],
    env: Mapping[str, str],
    volumes: Sequence[tuple[Path, str]],
) -> list[str]:
    args = ["--network", "host", "--read-only", *_limits()]
    # The HEALTHCHECK is run on demand (`podman healthcheck run`): podman's own timer needs
    # systemd, which this machine does not run.
    args += ["--health-interval", "disable", "--label", f"{OWNER_LABEL}={os.getpid()}"]
    for name, value in env.items():
        args += ["--env", f"{name}={value}"]
    for source, target in volumes:
        args += ["--volume", f"{source}:{target}:ro"]
    return [*args, image, *command]


def run_once(
    image: str,
    command: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run a container to its end (`--rm`); its exit code and output."""
    return podman(
        "run", "--rm", *_run_args(image, command, env or {}, ()), timeout=timeout, check=False
    )


class Container:
    """A detached container; `stop()` removes it."""

    def __init__(
        self,
        image: str,
        command: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        volumes: Sequence[tuple[Path, str]] = (),
    ) -> None:
        self.name = f"mozaiks-test-{secrets.token_hex(4)}"
        podman(
            "run", "--detach", "--name", self.name, *_run_args(image, command, env or {}, volumes)
        )

    def inspect(self) -> dict[str, Any]:
        (info,) = json.loads(podman("container", "inspect", self.name).stdout)
        return dict(info)

    def running(self) -> bool:
        return bool(self.inspect()["State"]["Running"])

    def logs(self) -> str:
        proc = podman("logs", self.name, check=False)
        return proc.stdout + proc.stderr

    def healthcheck(self) -> bool:
        """The image's own HEALTHCHECK, run now inside the container."""
        return podman("healthcheck", "run", self.name, check=False, timeout=30).returncode == 0

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return podman("exec", self.name, *command, check=False)

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthcheck():
            assert self.running(), f"{self.name} exited:\n{self.logs()[-4000:]}"
            assert time.monotonic() < deadline, f"{self.name} not healthy:\n{self.logs()[-4000:]}"
            time.sleep(0.5)

    def stop(self, timeout: int = 20) -> int:
        """SIGTERM, then SIGKILL after `timeout` s; the exit code; the container is removed."""
        podman("stop", "--time", str(timeout), self.name, check=False, timeout=timeout + 30)
        code = int(self.inspect()["State"]["ExitCode"])
        podman("rm", "--force", self.name, check=False)
        return code


def sweep_stale_containers() -> None:
    """Remove the containers of test sessions that died before their teardown."""
    proc = podman(
        "ps", "--all", "--filter", f"label={OWNER_LABEL}", "--format", "json", check=False
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        return
    for info in json.loads(proc.stdout):
        owner = int((info.get("Labels") or {}).get(OWNER_LABEL, "0"))
        if owner and not Path(f"/proc/{owner}").exists():
            podman("rm", "--force", info["Id"], check=False)
