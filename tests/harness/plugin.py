"""pytest fixtures for the real components (registered by `tests/conftest.py`).

Session-scoped: `bin_dir`, `helm_bin`, `kubectl_bin`, `kube_cluster`, `real_node`, `ferretdb`,
`ferretdb_auth`, `jaeger`, `images`. Function-scoped: `k8s_namespace`, `mongo_database`.

A fixture starts what is not running (building missing binaries first) and, at the end of the
session, stops exactly what it started. Nothing is ever skipped for a missing component.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.images import Images, build_images, sweep_stale_containers
from tests.harness.jaeger import Jaeger
from tests.harness.kube import KubeCluster
from tests.harness.mongo import FerretDBAuth
from tests.harness.node import RealNode
from tests.harness.services import (
    Service,
    new_session_dir,
    reuse_or_private,
    sweep_stale_sessions,
)
from tests.harness.services import (
    bin_dir as build_bins,
)

# Fixtures that need binaries from hack/build-bins; when a collected test uses one, the
# binaries are built before the first test runs (outside pytest-timeout's per-test clock).
_NEEDS_BINS = {"bin_dir", "helm_bin", "kubectl_bin", "kube_cluster", "k8s_namespace", "real_node"}
_NEEDS_FERRETDB = {"ferretdb", "mongo_database", "ferretdb_auth"}
_IMAGES: list[Images] = []  # built once per session, before the first test that needs them


def pytest_sessionstart(session: pytest.Session) -> None:
    # services of earlier sessions that were killed before their teardown (cheap when none)
    sweep_stale_sessions()
    if shutil.which("podman"):
        sweep_stale_containers()


def pytest_collection_finish(session: pytest.Session) -> None:
    used: set[str] = set()
    for item in session.items:
        used.update(getattr(item, "fixturenames", ()))
    # `store` (tests/contract) asks for `ferretdb` through request.getfixturevalue
    if used & _NEEDS_BINS:
        build_bins()
    if "real_node" in used:
        build_bins("kubelet", "kube-proxy", "pause")
    elif used & _NEEDS_FERRETDB or "store" in used:
        build_bins("ferretdb")
    if "jaeger" in used:
        build_bins("jaeger")
    if "images" in used:
        _IMAGES.append(build_images())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """What ran for real (images built, containers and pods that served a chat), from the
    tests' `record_property("ran_for_real", ...)`: shown even by `pytest -q`."""
    lines = [
        str(value)
        for report in terminalreporter.getreports("passed")
        for key, value in report.user_properties
        if key == "ran_for_real"
    ]
    if lines:
        terminalreporter.section("ran for real")
        for line in lines:
            terminalreporter.line(line)


@pytest.fixture(scope="session")
def _session_dir() -> Iterator[Path]:
    """This session's private state root (`/tmp/mozaiks-test-*`)."""
    root = new_session_dir()
    yield root
    # the services' own fixtures depend on this one, so they are stopped by now
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    """`~/.cache/mozaiks/bin` with every binary built (a no-op when the cache is warm)."""
    return build_bins()


@pytest.fixture(scope="session")
def helm_bin(bin_dir: Path) -> Path:
    return bin_dir / "helm"


@pytest.fixture(scope="session")
def kubectl_bin(bin_dir: Path) -> Path:
    return bin_dir / "kubectl"


@pytest.fixture(scope="session")
def images() -> Images:
    """Both images, built from the Dockerfiles by `hack/build-images` (buildah)."""
    if not _IMAGES:
        _IMAGES.append(build_images())
    return _IMAGES[0]


# --------------------------------------------------------------------------- FerretDB


@pytest.fixture(scope="session")
def ferretdb(_session_dir: Path) -> Iterator[str]:
    """`mongodb://127.0.0.1:PORT/` of a FerretDB (SQLite backend) for this session."""
    svc = reuse_or_private(
        "ferretdb", "MOZAIKS_FERRETDB_DIR", "/tmp/mozaiks-ferretdb", _session_dir / "ferretdb"
    )
    exports = svc.up()
    try:
        yield exports["MOZAIKS_MONGO_URI"]
    finally:
        if svc.started_here:
            svc.down()


@pytest.fixture
def mongo_database(ferretdb: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database name no other test uses; dropped after the test."""
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:24].strip("_")
    name = f"t_{slug}_{secrets.token_hex(4)}"
    yield name
    import pymongo

    with pymongo.MongoClient(ferretdb, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(name)


@pytest.fixture(scope="session")
def ferretdb_auth(_session_dir: Path) -> Iterator[FerretDBAuth]:
    """A second FerretDB with the experimental authentication (`--test-enable-new-auth`) and an
    admin user: createUser / dropUser / usersInfo work, every command needs a login."""
    svc = reuse_or_private(
        "ferretdb",
        "MOZAIKS_FERRETDB_AUTH_DIR",
        "/tmp/mozaiks-ferretdb-auth",
        _session_dir / "ferretdb-auth",
        ("--auth",),
    )
    exports = svc.up()
    try:
        yield FerretDBAuth.from_admin_uri(exports["MOZAIKS_MONGO_ADMIN_URI"])
    finally:
        if svc.started_here:
            svc.down()


# --------------------------------------------------------------------------- Jaeger


@pytest.fixture(scope="session")
def jaeger(_session_dir: Path) -> Iterator[Jaeger]:
    """Jaeger v2 (`hack/jaeger up`, in-memory store) of this session: an OTLP/HTTP receiver and
    its query API, on free loopback ports."""
    svc = Service("jaeger", _session_dir / "jaeger", "MOZAIKS_JAEGER_DIR")
    exports = svc.up()
    try:
        yield Jaeger(
            otlp_url=exports["MOZAIKS_JAEGER_OTLP_URL"],
            query_url=exports["MOZAIKS_JAEGER_QUERY_URL"],
            log=Path(exports["MOZAIKS_JAEGER_LOG"]),
        )
    finally:
        svc.down()


# --------------------------------------------------------------------------- Kubernetes


@pytest.fixture(scope="session")
def kube_cluster(_session_dir: Path, bin_dir: Path) -> Iterator[KubeCluster]:
    """etcd + kube-apiserver (RBAC) + kube-controller-manager + kube-scheduler + kwok (one fake
    node), started by `hack/cluster up`. While the session runs, KUBECONFIG points at it, so a
    client that falls back to the default config never reaches a developer's real cluster."""
    svc = reuse_or_private(
        "cluster", "MOZAIKS_STATE_DIR", "/tmp/mozaiks-cluster", _session_dir / "cluster"
    )
    exports = svc.up()
    cluster = KubeCluster.from_state(Path(exports["MOZAIKS_KUBE_STATE"]), bin_dir)
    saved = {k: os.environ.get(k) for k in exports}
    os.environ.update(exports)
    try:
        yield cluster
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if svc.started_here:
            svc.down()


@pytest.fixture
def k8s_namespace(kube_cluster: KubeCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace (`t-<test>-<random>`), deleted after the test (not waited for)."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{slug}-{secrets.token_hex(3)}"
    kube_cluster.create_namespace(name)
    yield name
    kube_cluster.delete_namespace(name)


@pytest.fixture(scope="session")
def real_node(_session_dir: Path, kube_cluster: KubeCluster) -> Iterator[RealNode]:
    """A real kubelet node beside kwok's (`hack/node up`: containerd + runc, its own network
    namespace). Tainted: only pods of a `claim`ed namespace, or that tolerate it, land there.
    Needs root; one per host, so it is never shared with a developer's own."""
    svc = Service(
        "node",
        _session_dir / "node",
        "MOZAIKS_NODE_DIR",
        extra_env={"MOZAIKS_KUBE_STATE": str(kube_cluster.state_dir)},
    )
    exports = svc.up()
    try:
        yield RealNode(
            name=exports["MOZAIKS_NODE"],
            host_ip=exports["MOZAIKS_NODE_HOST_IP"],
            state_dir=svc.state_dir,
        )
    finally:
        svc.down()
