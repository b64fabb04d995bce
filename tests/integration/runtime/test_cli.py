"""The `mozaiks` console script, run as a process the way users run it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import jwt
import pytest

from tests.integration.runtime.conftest import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]
MOZAIKS = [sys.executable, "-m", "mozaiks_cli"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOZAIKS_")}
    env.update(extra)
    return env


async def _run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *MOZAIKS,
        *args,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_token_mint() -> None:
    secret = "cli-secret-0123456789abcdef0123456789"
    code, out, _ = await _run(
        "token",
        "mint",
        "--user",
        "u1",
        "--app",
        "demo",
        "--admin",
        "--ttl",
        "2m",
        "--chat",
        "c9",
        env=_env(MOZAIKS_JWT_SECRET=secret),
    )
    assert code == 0
    claims = jwt.decode(out.strip(), secret, algorithms=["HS256"])
    assert (claims["sub"], claims["app_id"], claims["chat_id"]) == ("u1", "demo", "c9")
    assert claims["exp"] - claims["iat"] == 120
    assert "mozaiks:admin" in json.dumps(claims)
    code, _, err = await _run("token", "mint", "--user", "u", "--app", "a", env=_env())
    assert code == 2 and "MOZAIKS_JWT_SECRET is not set" in err
    code, _, err = await _run(
        "token",
        "mint",
        "--user",
        "u",
        "--app",
        "a",
        "--ttl",
        "soon",
        env=_env(MOZAIKS_JWT_SECRET=secret),
    )
    assert code == 2 and "invalid ttl" in err


async def test_token_mint_claims_and_broker_tokens() -> None:
    secret = "cli-secret-0123456789abcdef0123456789"
    broker_secret = "cli-broker-secret-0123456789abcdef0123"
    code, out, _ = await _run(
        "token",
        "mint",
        "--user",
        "u1",
        "--app",
        "demo",
        "--claim",
        'roles=["pro"]',
        "--claim",
        "plan=gold",
        "--claim",
        "sub=ignored",
        env=_env(MOZAIKS_JWT_SECRET=secret),
    )
    assert code == 0
    claims = jwt.decode(out.strip(), secret, algorithms=["HS256"])
    assert (claims["roles"], claims["plan"], claims["sub"]) == (["pro"], "gold", "u1")
    code, _, err = await _run(
        "token", "mint", "--user", "u", "--app", "a", "--claim", "roles",
        env=_env(MOZAIKS_JWT_SECRET=secret),
    )  # fmt: skip
    assert code == 2 and "NAME=VALUE" in err

    env = _env(MOZAIKS_JWT_SECRET=secret, MOZAIKS_BROKER_JWT_SECRET=broker_secret)
    code, out, _ = await _run(
        "token", "mint", "--broker", "--user", "shop", "--app", "demo", env=env
    )
    assert code == 0
    claims = jwt.decode(out.strip(), broker_secret, algorithms=["HS256"], audience="mozaiks:broker")
    assert (claims["sub"], claims["app_id"], claims["scope"]) == ("shop", "demo", "mozaiks:broker")
    code, _, err = await _run(
        "token", "mint", "--broker", "--user", "shop", "--app", "demo",
        env=_env(MOZAIKS_JWT_SECRET=secret),
    )  # fmt: skip
    assert code == 2 and "MOZAIKS_BROKER_JWT_SECRET is not set" in err


async def test_workflow_validate(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"name": "Bad Name", "agents": []}))
    code, out, _ = await _run(
        "workflow", "validate", str(REPO / "workflows" / "hello.json"), env=_env()
    )
    assert code == 0 and "hello.json: ok (hello version 1.0.0)" in out
    code, out, err = await _run(
        "workflow", "validate", str(REPO / "workflows" / "hello.json"), str(broken), env=_env()
    )
    assert code == 1
    assert "hello.json: ok" in out
    assert f"{broken}: $.name" in err and f"{broken}: $.agents" in err


async def test_workflow_validate_refuses_bad_mcp_declarations(tmp_path: Path) -> None:
    example = REPO / "workflows" / "mcp" / "weather.json"
    code, out, _ = await _run("workflow", "validate", str(example), env=_env())
    assert code == 0 and "weather.json: ok (weather version 1)" in out
    secret = json.loads(example.read_text())
    secret["mcp_servers"][0]["auth"] = {"value_env": "MOZAIKS_JWT_SECRET"}  # not an MCP variable
    wiring = json.loads(example.read_text())
    wiring["mcp_servers"][0]["url"] = "https://mcp.example.com/mcp"  # and url_env as well
    wiring["agents"][0]["tools"].append("wipe_disk")  # not on the allow-list
    files = [tmp_path / "secret.json", tmp_path / "wiring.json"]
    for path, data in zip(files, [secret, wiring], strict=True):
        path.write_text(json.dumps(data))
    code, _, err = await _run("workflow", "validate", *map(str, files), env=_env())
    assert code == 1
    pattern = "'MOZAIKS_JWT_SECRET' does not match the pattern ^MOZAIKS_MCP_"
    assert f"{files[0]}: $.mcp_servers[0].auth.value_env: {pattern}" in err
    assert f"{files[1]}: $.mcp_servers[0]: set exactly one of url and url_env" in err
    assert f"{files[1]}: $.agents[0].tools[1]: unknown tool 'wipe_disk'" in err


async def test_bad_settings_fail_fast_naming_the_variable() -> None:
    code, _, err = await _run(
        "runtime", env=_env(MOZAIKS_JWT_SECRET="s", MOZAIKS_MAX_FRAME_BYTES="9")
    )
    assert code == 2 and "MOZAIKS_MAX_FRAME_BYTES" in err
    code, _, err = await _run("runtime", env=_env())
    assert code == 2 and "no JWT key source" in err


async def _serve_dev(
    tmp_path: Path, **env: str
) -> tuple[asyncio.subprocess.Process, list[str], int]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *MOZAIKS,
        "runtime",
        "--dev",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=_env(MOZAIKS_SQLITE_PATH=str(tmp_path / "db.sqlite3"), **env),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(30):
        while not any(line.startswith("open http") for line in lines) or len(lines) < 3:
            line = (await proc.stdout.readline()).decode()
            assert line, lines
            lines.append(line.rstrip("\n"))
            if "AUTH IS OFF" in "".join(lines) and any(x.startswith("open") for x in lines):
                break
    return proc, lines, port


async def test_dev_mode_prints_url_and_a_working_token(tmp_path: Path) -> None:
    proc, lines, port = await _serve_dev(tmp_path)
    try:
        assert f"open http://127.0.0.1:{port}" in lines
        assert lines[-1] == f"open http://127.0.0.1:{port}"  # what a newcomer reads last
        token = next(lines[i + 1] for i, line in enumerate(lines) if line.startswith("dev token"))
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
            asyncio.timeout(30),
        ):
            while True:
                try:
                    if (await client.get("/api/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            mine = await client.get("/api/sessions", headers={"Authorization": f"Bearer {token}"})
            assert mine.status_code == 200
            assert (await client.get("/api/sessions")).status_code == 401  # auth stays on
            assert (await client.get("/")).status_code == 200  # the dev page
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)


async def test_explicit_dev_auth_shouts(tmp_path: Path) -> None:
    proc, lines, _ = await _serve_dev(tmp_path, MOZAIKS_DEV_AUTH="true")
    try:
        assert any("AUTH IS OFF" in line for line in lines)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)


async def test_dev_auth_is_refused_on_an_address_others_can_reach() -> None:
    for host in ("0.0.0.0", "::"):
        code, out, err = await _run(
            "runtime", "--host", host, "--port", "1", env=_env(MOZAIKS_DEV_AUTH="true")
        )
        assert code == 2 and "MOZAIKS_DEV_AUTH=true" in err and f"refused on {host}" in err
        assert out == ""  # it never started serving


async def test_operator_command_is_the_operators_cli() -> None:
    code, out, _ = await _run("operator", "--help", env=_env())
    assert code == 0 and "--namespace" in out
