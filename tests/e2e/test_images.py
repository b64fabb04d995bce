"""The runtime and operator images, built from the Dockerfiles with buildah and run with podman
as a user runs them: the image's user 10001, a read-only root filesystem, the host network with
the server on loopback. The runtime serves the example Workflow (mounted as the operator mounts
it) from FerretDB, and `hack/chat_smoke.py` holds a chat with it the way kind-up does through
the Ingress (connections to one address, the tenant's host name in the Host header)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pymongo
import pytest
import yaml
from tests.harness.images import Container, Images, run_once

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
KEY = "image-test-key-0123456789abcdef0123"
APP = "demo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def database(ferretdb: str) -> Iterator[str]:
    name = "t_image_runtime"
    yield name
    with pymongo.MongoClient(ferretdb, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(name)


@pytest.fixture(scope="module")
def runtime(
    images: Images, ferretdb: str, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Container, str]]:
    """The runtime image serving examples/workflow.yaml from FerretDB on 127.0.0.1:PORT."""
    workflows = tmp_path_factory.mktemp("workflows")
    workflows.chmod(0o755)
    spec = yaml.safe_load((ROOT / "examples" / "workflow.yaml").read_text())["spec"]
    path = workflows / f"{spec['definition']['name']}.json"
    path.write_text(json.dumps(spec["definition"]))
    path.chmod(0o644)
    port = _free_port()
    container = Container(
        images.runtime,
        env={
            "MOZAIKS_HOST": "127.0.0.1",
            "MOZAIKS_PORT": str(port),
            "MOZAIKS_APP_ID": APP,
            "MOZAIKS_JWT_SECRET": KEY,
            "MOZAIKS_MONGO_URI": ferretdb,
            "MOZAIKS_MONGO_DATABASE": database,
        },
        volumes=[(workflows, "/etc/mozaiks/workflows")],
    )
    try:
        container.wait_healthy()
        yield container, f"http://127.0.0.1:{port}"
    finally:
        code = container.stop()
        assert code == 0, f"the runtime exited {code} on SIGTERM"


def _smoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "hack" / "chat_smoke.py"), *args],
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )


def test_both_images_are_built_from_the_dockerfiles(
    images: Images, record_property: Callable[[str, object], None]
) -> None:
    for name, ref in (("runtime", images.runtime), ("operator", images.operator)):
        assert ref == f"localhost/mozaiks/{name}:dev"
        size = f"{images.sizes[name] / 1e6:.0f} MB"
        record_property("ran_for_real", f"image {ref} built from Dockerfile.{name} ({size})")
        assert 50e6 < images.sizes[name] < 600e6


def test_runtime_container_runs_as_10001_on_a_read_only_root(
    runtime: tuple[Container, str],
) -> None:
    container, _ = runtime
    info = container.inspect()
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    assert info["Config"]["User"] == "10001:10001"
    assert container.exec("id", "-u").stdout.strip() == "10001"
    denied = container.exec("touch", "/opt/mozaiks/written")
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr
    assert container.exec("test", "-e", "/opt/mozaiks/bin/pip").returncode != 0  # no pip
    assert container.healthcheck(), "the image's own HEALTHCHECK failed"


def test_scripted_chat_through_a_host_routed_connection(
    runtime: tuple[Container, str],
    ferretdb: str,
    database: str,
    record_property: Callable[[str, object], None],
) -> None:
    _, url = runtime
    port = url.rsplit(":", 1)[1]
    proc = _smoke(
        "--url",
        "http://demo.mozaiks.localhost",
        "--connect",
        f"127.0.0.1:{port}",
        "--app",
        APP,
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
    # ...and the chat is in FerretDB, every event of it.
    chat_id = re.search(r"^chat (\S+) ", proc.stdout, re.M)
    assert chat_id, proc.stdout
    with pymongo.MongoClient(ferretdb, serverSelectionTimeoutMS=5000) as client:
        db = client[database]
        assert db["chats"].find_one({"chat_id": chat_id.group(1)}) is not None
        kinds = {e["type"] for e in db["events"].find({"chat_id": chat_id.group(1)})}
    assert {"chat.text", "chat.run_complete"} <= kinds, kinds
    record_property(
        "ran_for_real",
        f"runtime image container {runtime[0].name} served chat {chat_id.group(1)} (FerretDB)",
    )


def test_scripted_chat_with_a_wrong_key_fails_clearly(runtime: tuple[Container, str]) -> None:
    _, url = runtime
    proc = _smoke(
        "--url",
        url,
        "--app",
        APP,
        "--secret",
        "not-the-tenant-key-0123456789",
        "--workflow",
        "greeter",
        "--timeout",
        "30",
    )
    assert proc.returncode == 1
    assert "chat_smoke: FAILED: POST /api/sessions: 401" in proc.stderr


def test_the_runtime_image_refuses_to_start_without_a_jwt_key(images: Images) -> None:
    proc = run_once(images.runtime, env={"MOZAIKS_HOST": "127.0.0.1", "MOZAIKS_PORT": "1"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no JWT key source" in proc.stderr


def test_the_operator_image_refuses_bad_settings_by_name(images: Images) -> None:
    proc = run_once(images.operator, env={"MOZAIKS_OPERATOR_DRIFT_SECONDS": "-1"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "MOZAIKS_OPERATOR_DRIFT_SECONDS" in proc.stderr
