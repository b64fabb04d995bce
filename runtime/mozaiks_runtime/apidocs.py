"""`python -m mozaiks_runtime.apidocs [--check] [--out docs/api]`: publish the wire contract.

Writes `openapi.json` (from create_app) and `events/*.json` (the WebSocket messages, from
ws/messages.py). With `--check` it writes nothing and exits 1 when the committed files differ
from what the code produces, naming each stale file. The documents come from fixed settings (not
the environment), so every machine exports the same bytes. It sits beside app.py, not in api/:
it builds the whole app, routes and sockets included.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from mozaiks_runtime.app import create_app
from mozaiks_runtime.config import Settings
from mozaiks_runtime.ws.messages import export_schemas

DEFAULT_OUT = Path("docs/api")


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the runtime as a tenant deploys it (no dev page)."""
    settings = Settings.model_construct(app_id="demo", jwt_secret=SecretStr("export-only"))
    return create_app(settings).openapi()


def export(out: Path) -> list[Path]:
    """Write every contract document under `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    openapi = out / "openapi.json"
    openapi.write_text(json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n")
    return [openapi, *export_schemas(out / "events")]


def stale_files(out: Path) -> list[str]:
    """Relative paths under `out` that are missing, different, or no longer produced."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        export(fresh)
        wanted = {p.relative_to(fresh): p.read_bytes() for p in fresh.rglob("*.json")}
    present = (
        {p.relative_to(out): p.read_bytes() for p in out.rglob("*.json")} if out.exists() else {}
    )
    stale = [str(rel) for rel, body in wanted.items() if present.get(rel) != body]
    stale += [str(rel) for rel in present if rel not in wanted]
    return sorted(stale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mozaiks_runtime.apidocs")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail when the files are stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.out)
        for rel in stale:
            sys.stderr.write(f"stale: {args.out / rel}\n")
        if stale:
            sys.stderr.write("run: python -m mozaiks_runtime.apidocs\n")
        return 1 if stale else 0
    for path in export(args.out):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
