"""The images' entrypoint and the kind flow's last step, without Docker: the runtime started as
the runtime image starts it (`mozaiks runtime`, the Dockerfile's environment), serving the
example Workflow, and `hack/chat_smoke.py` holding a chat with it the way kind-up does through
the Ingress (connections to one address, the tenant's host name in the Host header)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MOZAIKS = ROOT / ".venv" / "bin" / "mozaiks"
KEY = "kind-flow-test-key-0123456789abcdef"


def _image_env(dockerfile: str) -> dict[str, str]:
    """The ENV of the Dockerfile's final stage (PATH aside), as the container would see it."""
    text = re.sub(r"\\\n", " ", (ROOT / dockerfile).read_text())
    final = text[text.rindex("\nFROM ") :]
    env: dict[str, str] = {}
    for line in final.splitlines():
        if line.startswith("ENV "):
            for name, value in re.findall(r"(\w+)=(\S+)", line[4:]):
                if name != "PATH":
                    env[name] = value
    return env


def _image_cmd(dockerfile: str) -> list[str]:
    cmd = [ln for ln in (ROOT / dockerfile).read_text().splitlines() if ln.startswith("CMD ")]
    return list(json.loads(cmd[-1][4:]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MOZAIKS_")}


@pytest.fixture
def runtime_url(tmp_path: Path) -> Iterator[str]:
    """`mozaiks runtime` with the runtime image's environment, the example Workflow mounted as
    the operator mounts it (one JSON file per workflow) and the example Tenant's app id."""
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    definition = yaml.safe_load((ROOT / "examples" / "workflow.yaml").read_text())["spec"][
        "definition"
    ]
    (workflows / f"{definition['name']}.json").write_text(json.dumps(definition))
    port = _free_port()
    cmd = _image_cmd("Dockerfile.runtime")
    cmd[cmd.index("--host") + 1] = "127.0.0.1"
    cmd[cmd.index("--port") + 1] = str(port)
    env = {
        **_clean_env(),
        **_image_env("Dockerfile.runtime"),
        "MOZAIKS_APP_ID": "demo",
        "MOZAIKS_JWT_SECRET": KEY,
        "MOZAIKS_WORKFLOWS_DIR": str(workflows),
        "MOZAIKS_SQLITE_PATH": str(tmp_path / "chats.sqlite3"),
    }
    log = (tmp_path / "runtime.log").open("w")
    proc = subprocess.Popen([str(MOZAIKS), *cmd], env=env, cwd=tmp_path, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "runtime.log").read_text()
            try:
                if httpx.get(f"{url}/api/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "runtime not ready in 60s"
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _smoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "hack" / "chat_smoke.py"), *args],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )


def test_scripted_chat_through_a_host_routed_connection(runtime_url: str) -> None:
    port = runtime_url.rsplit(":", 1)[1]
    proc = _smoke(
        "--url",
        "http://demo.mozaiks.localhost",
        "--connect",
        f"127.0.0.1:{port}",
        "--app",
        "demo",
        "--secret",
        KEY,
        "--workflow",
        "greeter",
        "--timeout",
        "120",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "you: Hello! Who are you?" in proc.stdout
    assert re.search(r"^Greeter: \S", proc.stdout, re.M), proc.stdout
    assert "chat_smoke: OK" in proc.stdout


def test_scripted_chat_with_a_wrong_key_fails_clearly(runtime_url: str) -> None:
    proc = _smoke(
        "--url",
        runtime_url,
        "--app",
        "demo",
        "--secret",
        "not-the-tenant-key-0123456789",
        "--workflow",
        "greeter",
        "--timeout",
        "30",
    )
    assert proc.returncode == 1
    assert "chat_smoke: FAILED: POST /api/sessions: 401" in proc.stderr


def test_the_runtime_image_refuses_to_start_without_a_jwt_key(tmp_path: Path) -> None:
    env = {**_clean_env(), **_image_env("Dockerfile.runtime")}
    assert env["MOZAIKS_DEV_AUTH"] == "false"
    proc = subprocess.run(
        [str(MOZAIKS), *_image_cmd("Dockerfile.runtime")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "no JWT key source" in proc.stderr


def test_the_operator_image_refuses_bad_settings_by_name(tmp_path: Path) -> None:
    env = {
        **_clean_env(),
        **_image_env("Dockerfile.operator"),
        "MOZAIKS_OPERATOR_DRIFT_SECONDS": "-1",
    }
    proc = subprocess.run(
        [str(MOZAIKS), *_image_cmd("Dockerfile.operator")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "MOZAIKS_OPERATOR_DRIFT_SECONDS" in proc.stderr
