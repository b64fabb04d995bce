"""What a workflow's `access` rules cost per socket connect.

    .venv/bin/python -m bench.entitlements [--connects 400] [--checks 200000]

Two figures. The check alone: `entitled()` (auth/entitlements.py) timed in-process with
timeit on a realistic token (a dozen claims, five roles, a nested `realm_access`), for no rules
(the default), one `anyOf` rule, and five rules (three `anyOf`, two `allOf`, one of them a
dotted path). Then whole connects against the real runtime (`bench.runtime_server`, uvicorn,
SQLite): a new chat per socket, from the handshake to the first frame (`chat_meta`), on an open
workflow and on a gated copy of it (the five rules, which the token satisfies), interleaved so
drift hits both alike. Printed: µs per check, median and p90 connect times, and the ratios
gated / open and check / connect.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from bench.ws_throughput import ROOT, free_port, serve
from mozaiks_runtime.auth.entitlements import entitled
from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.auth.mint import mint_token
from mozaiks_runtime.workflows.model import AccessRules

APP = "bench"
SECRET = secrets.token_urlsafe(32)  # this run's signing key
CLAIMS = {
    "iss": "https://idp.example",
    "aud": "mozaiks",
    "email": "ada@example.com",
    "email_verified": True,
    "name": "Ada",
    "plan": "gold",
    "scope": "openid profile email chat",
    "roles": ["member", "reader", "writer", "beta", "pro"],
    "realm_access": {"roles": ["offline_access", "uma_authorization", "pro"]},
    "org": "acme",
}
ONE_RULE = {"anyOf": [{"claim": "roles", "contains": "pro"}]}
FIVE_RULES = {
    "anyOf": [
        {"claim": "roles", "contains": "enterprise"},
        {"claim": "roles", "contains": "staff"},
        {"claim": "realm_access.roles", "contains": "pro"},
    ],
    "allOf": [
        {"claim": "email_verified", "equals": True},
        {"claim": "scope", "contains": "chat"},
    ],
}


def time_checks(count: int) -> dict[str, float]:
    """µs per `entitled()` call, best of five repeats."""
    identity = Identity(user_id="u0", app_id=APP, claims=CLAIMS)
    cases = {
        "no rules": None,
        "1 rule": AccessRules.model_validate(ONE_RULE),
        "5 rules": AccessRules.model_validate(FIVE_RULES),
    }
    out = {}
    for name, access in cases.items():
        assert entitled(identity, access)
        timer = timeit.Timer(lambda: entitled(identity, access))  # noqa: B023 (called at once)
        best = min(timer.repeat(number=count, repeat=5))
        out[name] = best / count * 1e6
    return out


def workflows(directory: Path) -> None:
    idle = json.loads((ROOT / "bench" / "workflows" / "idle.json").read_text())
    (directory / "open.json").write_text(json.dumps({**idle, "name": "open"}))
    (directory / "gated.json").write_text(
        json.dumps({**idle, "name": "gated", "access": FIVE_RULES})
    )


async def connect_once(port: int, workflow: str, n: int, token: str) -> float:
    url = f"ws://127.0.0.1:{port}/ws/{workflow}/{APP}/{workflow}-{n}/u0"
    started = time.perf_counter()
    async with connect(url, subprotocols=[Subprotocol("bearer"), Subprotocol(token)]) as ws:
        first = json.loads(await ws.recv())
        elapsed = time.perf_counter() - started
    if first["type"] != "chat_meta":
        raise RuntimeError(f"{workflow}: refused or unexpected first frame {first}")
    return elapsed * 1e6


async def time_connects(port: int, count: int) -> dict[str, list[float]]:
    token = mint_token(SECRET, user="u0", app=APP, extra=CLAIMS)
    for n in range(20):  # warm up both paths (imports, caches, SQLite pages)
        await connect_once(port, "open", -n - 1, token)
        await connect_once(port, "gated", -n - 1, token)
    found: dict[str, list[float]] = {"open": [], "gated": []}
    for n in range(count):
        order = ("open", "gated") if n % 2 == 0 else ("gated", "open")
        for workflow in order:
            found[workflow].append(await connect_once(port, workflow, n, token))
    return found


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connects", type=int, default=400, help="sockets per workflow")
    parser.add_argument("--checks", type=int, default=200_000, help="calls per timeit repeat")
    args = parser.parse_args()

    checks = time_checks(args.checks)
    for name, micros in checks.items():
        print(f"check, {name:>8}: {micros:.2f} µs")

    with tempfile.TemporaryDirectory(prefix="bench-entitlements-") as tmp:
        workdir = Path(tmp)
        (workdir / "workflows").mkdir()
        workflows(workdir / "workflows")
        port = free_port()
        env = {
            "MOZAIKS_APP_ID": APP,
            "MOZAIKS_JWT_SECRET": SECRET,
            "MOZAIKS_WORKFLOWS_DIR": str(workdir / "workflows"),
            "MOZAIKS_SQLITE_PATH": str(workdir / "bench.sqlite3"),
            "MOZAIKS_RATE_LIMIT_NEW_CHATS_PER_MINUTE": "1000000",
            "MOZAIKS_LOG_LEVEL": "WARNING",
        }
        argv = [sys.executable, "-m", "bench.runtime_server", "--port", str(port)]
        with serve(argv, port, env, "/api/ready"):
            found = asyncio.run(time_connects(port, args.connects))

    open_, gated = found["open"], found["gated"]
    m_open, m_gated = statistics.median(open_), statistics.median(gated)
    print(f"connect, open : median {m_open:.0f} µs, p90 {p90(open_):.0f} µs ({len(open_)} sockets)")
    print(
        f"connect, gated: median {m_gated:.0f} µs, p90 {p90(gated):.0f} µs ({len(gated)} sockets)"
    )
    print(f"ratio gated/open connect (median): {m_gated / m_open:.3f}x")
    print(f"ratio 5-rule check / open connect: {checks['5 rules'] / m_open:.5f}")


if __name__ == "__main__":
    main()
