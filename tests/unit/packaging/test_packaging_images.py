"""Invariants of the two Dockerfiles that hadolint and checkov do not know about."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from mozaiks_operator import constants as c

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILES = ["Dockerfile.runtime", "Dockerfile.operator"]


def _instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / name).read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _final_stage(name: str) -> list[tuple[str, str]]:
    ins = _instructions(name)
    last_from = max(i for i, (w, _) in enumerate(ins) if w == "FROM")
    return ins[last_from:]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_multi_stage_on_one_pinned_slim_base(name: str) -> None:
    ins = _instructions(name)
    froms = [args for w, args in ins if w == "FROM"]
    assert len(froms) == 2
    assert {f.split()[0] for f in froms} == {"${BASE_IMAGE}"}, (
        "build and final stage must share a base (the venv is copied)"
    )
    first_from = next(i for i, (w, _) in enumerate(ins) if w == "FROM")
    args = dict(a.partition("=")[::2] for w, a in ins[:first_from] if w == "ARG")
    base = args["BASE_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base


@pytest.mark.parametrize("name", DOCKERFILES)
def test_final_stage_runs_as_non_root_without_build_tools(name: str) -> None:
    final = _final_stage(name)
    users = [args for w, args in final if w == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    runs = " ".join(args for w, args in final if w == "RUN")
    for tool in ("apt-get", "apk", "gcc", "build-essential", "pip install"):
        assert tool not in runs, f"{tool} in the final stage of {name}"
    copies = [args for w, args in final if w == "COPY"]
    assert copies == ["--from=build /opt/mozaiks /opt/mozaiks"]


@pytest.mark.parametrize(
    ("name", "command"), [("Dockerfile.runtime", "runtime"), ("Dockerfile.operator", "operator")]
)
def test_entrypoint_is_the_console_script(name: str, command: str) -> None:
    final = dict(_final_stage(name))
    assert json.loads(final["ENTRYPOINT"]) == ["mozaiks"]
    assert json.loads(final["CMD"])[0] == command
    assert 'mozaiks = "mozaiks_cli.main:main"' in (ROOT / "pyproject.toml").read_text()


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dependencies_come_from_the_lock_as_binary_wheels(name: str) -> None:
    runs = [args for w, args in _instructions(name) if w == "RUN"]
    assert any("--require-hashes -r uv-requirements.txt" in r for r in runs), "uv pinned by hash"
    syncs = [r for r in runs if "uv sync" in r]
    assert syncs and all("--frozen" in r and "--no-dev" in r for r in syncs)
    assert any("--no-build" in r and "--no-install-project" in r for r in syncs)


def test_uv_lock_pins_every_dependency_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    wanted = list(project["project"]["dependencies"])
    for extra in project["project"].get("optional-dependencies", {}).values():
        wanted += extra
    for req in wanted:
        name = re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower().replace("_", "-")
        assert name in packages, f"{name} is not in uv.lock: run `make lock`"
    for pkg in packages.values():
        if pkg["source"].get("registry"):
            assert pkg.get("wheels") or pkg.get("sdist"), pkg["name"]
            for dist in [*pkg.get("wheels", []), pkg.get("sdist", {"hash": "sha256:x"})]:
                assert dist["hash"].startswith("sha256:"), pkg["name"]
    assert project["tool"]["uv"]["exclude-newer"], "the lock's day must be fixed"


def test_uv_itself_is_pinned_to_the_version_the_makefile_uses() -> None:
    versions = (ROOT / "hack" / "versions.env").read_text()
    (version,) = re.findall(r"^UV_VERSION=(\S+)$", versions, re.M)
    reqs = (ROOT / "hack" / "uv-requirements.txt").read_text()
    assert f"uv=={version} " in reqs
    assert "--hash=sha256:" in reqs


def test_runtime_image_never_runs_with_auth_off() -> None:
    text = (ROOT / "Dockerfile.runtime").read_text()
    env = " ".join(args for w, args in _final_stage("Dockerfile.runtime") if w == "ENV")
    assert "MOZAIKS_DEV_AUTH=false" in env
    assert "MOZAIKS_DEV_PAGE=false" in env
    assert not re.search(r"MOZAIKS_DEV_AUTH=(true|1|yes|on)", text, re.I)
    cmd = json.loads(dict(_final_stage("Dockerfile.runtime"))["CMD"])
    assert "--dev" not in cmd and cmd[:1] == ["runtime"]


def test_runtime_health_check_hits_the_liveness_route() -> None:
    final = dict(_final_stage("Dockerfile.runtime"))
    assert "/api/health" in final["HEALTHCHECK"]
    assert "8080" in final["EXPOSE"]


def test_images_expose_the_metrics_ports_the_operator_and_chart_use() -> None:
    chart = yaml.safe_load((ROOT / "charts" / "mozaiks" / "values.yaml").read_text())
    operator_port = str(chart["operator"]["metricsPort"])
    exposed = dict(_final_stage("Dockerfile.operator"))["EXPOSE"].split()
    assert operator_port in exposed
    exposed = dict(_final_stage("Dockerfile.runtime"))["EXPOSE"].split()
    assert str(c.METRICS_PORT) in exposed  # what the operator gives a tenant's runtime


def test_dockerignore_admits_only_the_build_inputs() -> None:
    lines = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {ln[1:].rstrip("/") for ln in lines if ln.startswith("!")}
    copied = set()
    for name in DOCKERFILES:
        for w, args in _instructions(name):
            if w == "COPY" and not args.startswith("--from"):
                copied.update(args.split()[:-1])
    assert copied <= allowed, f"COPY of files the context excludes: {copied - allowed}"
    assert "**/.env" in lines


def test_both_images_share_one_build_stage() -> None:
    """One cached build stage (buildah --layers) serves both images."""

    def build_stage(name: str) -> list[tuple[str, str]]:
        ins = _instructions(name)
        froms = [i for i, (w, _) in enumerate(ins) if w == "FROM"]
        return ins[froms[0] : froms[1]]

    assert build_stage("Dockerfile.runtime") == build_stage("Dockerfile.operator")


def test_operator_image_health_check_is_the_charts_probe() -> None:
    final = dict(_final_stage("Dockerfile.operator"))
    chart = (ROOT / "charts" / "mozaiks" / "templates" / "deployment.yaml").read_text()
    assert "MOZAIKS_OPERATOR_LIVENESS_URL" in final["HEALTHCHECK"]
    assert "MOZAIKS_OPERATOR_LIVENESS_URL=http://0.0.0.0:8080/healthz" in final["ENV"]
    assert chart.count("path: /healthz") == 2  # liveness and readiness
