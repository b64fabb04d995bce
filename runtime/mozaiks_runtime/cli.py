"""The runtime's commands of the `mozaiks` console script (mozaiks_cli builds the command line).

    mozaiks runtime [--host H] [--port P] [--dev]
    mozaiks token mint --user U --app A [--admin] [--ttl 15m] [--chat C] [--claim N=V] [--broker]
    mozaiks workflow validate FILE...

`--dev` (what `make run` uses) turns the dev page on and, when no JWT key is configured, makes a
random HS256 secret for this process and prints a dev token: auth stays on. Only an explicit
MOZAIKS_DEV_AUTH=true turns auth off, and then a warning banner says so.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from mozaiks_runtime.config import Settings, SettingsError

DEV_USER = "dev"
DEV_TTL = "12h"
BANNER_WIDTH = 72


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `runtime`, `token mint` and `workflow validate` to the console script's parser."""
    serve = commands.add_parser("runtime", help="serve the chat runtime (HTTP + WebSocket)")
    # The defaults come from MOZAIKS_HOST / MOZAIKS_PORT, which the image's HEALTHCHECK reads too.
    serve.add_argument(
        "--host",
        default=os.environ.get("MOZAIKS_HOST", "0.0.0.0"),
        help="interface to bind (default $MOZAIKS_HOST, else 0.0.0.0)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("MOZAIKS_PORT", "8080")),
        help="port (default $MOZAIKS_PORT, else 8080)",
    )
    serve.add_argument("--dev", action="store_true", help="dev page and a printed dev token")

    token = commands.add_parser("token", help="dev tokens").add_subparsers(
        dest="token_command", required=True
    )
    mint = token.add_parser("mint", help="mint an HS256 token with MOZAIKS_JWT_SECRET")
    mint.add_argument("--user", required=True)
    mint.add_argument("--app", required=True)
    mint.add_argument("--admin", action="store_true", help="add the admin scope")
    mint.add_argument("--ttl", default="15m", help="lifetime: 90s, 15m, 2h, 1d (default 15m)")
    mint.add_argument("--chat", help="bind the token to one chat id")
    mint.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra claim (VALUE as JSON if it parses), e.g. roles='[\"pro\"]'; repeatable",
    )
    mint.add_argument(
        "--broker",
        action="store_true",
        help="a session broker's service token (--user names the service), signed with "
        "MOZAIKS_BROKER_JWT_SECRET",
    )

    workflow = commands.add_parser("workflow", help="workflow files").add_subparsers(
        dest="workflow_command", required=True
    )
    validate = workflow.add_parser("validate", help="check workflow JSON files")
    validate.add_argument("files", nargs="+", type=Path)


def run(args: argparse.Namespace) -> int:
    """Run the runtime command `args` names (parsed with the parsers add_commands added)."""
    try:
        if args.command == "runtime":
            return _runtime(args.host, args.port, dev=args.dev)
        if args.command == "token":
            return _mint(args)
        return _validate(args.files)
    except SettingsError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _runtime(host: str, port: int, *, dev: bool) -> int:
    from mozaiks_runtime.app import create_app
    from mozaiks_runtime.logs import configure_logging
    from mozaiks_runtime.serving import serve

    overrides: dict[str, object] = {}
    generated = False
    if dev:
        overrides["dev_page"] = True
        try:
            Settings.load(**overrides)
        except SettingsError:
            # No key source (any other problem fails again, with its message, just below).
            overrides["jwt_secret"] = secrets.token_urlsafe(32)
            generated = True
    settings = Settings.load(**overrides)
    if settings.dev_auth and host not in LOOPBACK:
        # Auth off is for one developer's machine: never on an address others can reach (a
        # container binds 0.0.0.0, so an image cannot be talked into serving without auth).
        raise SettingsError(
            f"MOZAIKS_DEV_AUTH=true turns every token check off; it is refused on {host}. "
            "Bind 127.0.0.1 for local development, or configure a JWT key source."
        )
    configure_logging(settings)
    _raise_fd_limit(settings.max_connections)
    _announce(settings, host, port, generated=generated, out=sys.stdout)
    started = serve(create_app(settings), settings, host=host, port=port)
    return 0 if started else 3  # 3: uvicorn's code for an app that failed to start


def _raise_fd_limit(connections: int) -> None:
    """Each socket is a file descriptor; many hosts start processes with a soft limit of 1024.
    Raise it (up to the hard limit) to fit the configured connections plus some headroom."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _announce(settings: Settings, host: str, port: int, *, generated: bool, out: TextIO) -> None:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    url = f"http://{shown}:{port}"
    if settings.dev_auth:
        line = "!" * BANNER_WIDTH
        out.write(
            f"{line}\n!! AUTH IS OFF (MOZAIKS_DEV_AUTH=true): anyone can act as any user.\n"
            f"!! Never run like this outside your own machine.\n{line}\n"
        )
    if settings.dev_page:
        if settings.jwt_secret is not None and not settings.dev_auth:
            from mozaiks_runtime.auth.mint import mint_token, parse_ttl

            token = mint_token(
                settings.jwt_secret.get_secret_value(),
                user=DEV_USER,
                app=settings.app_id,
                ttl=parse_ttl(DEV_TTL),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
            )
            origin = "a random secret for this run" if generated else "MOZAIKS_JWT_SECRET"
            out.write(
                f"dev token (user {DEV_USER}, app {settings.app_id}, {DEV_TTL}, from {origin}):\n"
                f"{token}\n"
                f"e.g. curl -H 'Authorization: Bearer <token>' {url}/api/sessions\n"
            )
        out.write(f"open {url}\n")  # last, so it is what a newcomer reads
    else:
        out.write(f"serving on {url}\n")
    out.flush()


def _mint(args: argparse.Namespace) -> int:
    from mozaiks_runtime.auth.mint import mint_broker_token, mint_token, parse_claim, parse_ttl

    settings = Settings.load(dev_auth=True)  # only the JWT settings matter here
    if args.broker:
        if settings.broker_jwt_secret is None:
            sys.stderr.write("MOZAIKS_BROKER_JWT_SECRET is not set: it signs broker tokens\n")
            return 2
        try:
            ttl = parse_ttl(args.ttl)
        except ValueError as exc:
            sys.stderr.write(f"{exc}\n")
            return 2
        secret = settings.broker_jwt_secret.get_secret_value()
        scope = settings.broker_scope
        token = mint_broker_token(secret, service=args.user, app=args.app, ttl=ttl, scope=scope)
        sys.stdout.write(token + "\n")
        return 0
    if settings.jwt_secret is None:
        sys.stderr.write("MOZAIKS_JWT_SECRET is not set: it is the HS256 secret to sign with\n")
        return 2
    try:
        ttl = parse_ttl(args.ttl)
        extra = dict(parse_claim(c) for c in args.claim)
    except ValueError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    token = mint_token(
        settings.jwt_secret.get_secret_value(),
        user=args.user,
        app=args.app,
        admin=args.admin,
        ttl=ttl,
        chat_id=args.chat,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        admin_scope=settings.admin_scope,
        extra=extra,
    )
    sys.stdout.write(token + "\n")
    return 0


def _validate(files: Sequence[Path]) -> int:
    from mozaiks_runtime.workflows.plugins import installed_tool_names
    from mozaiks_runtime.workflows.schema import WorkflowInvalid, load_definition_file

    failed = 0
    plugins = installed_tool_names()
    for path in files:
        try:
            definition = load_definition_file(path, plugins=plugins)
        except WorkflowInvalid as exc:
            failed += 1
            sys.stderr.write("\n".join(exc.errors) + "\n")
        else:
            sys.stdout.write(f"{path}: ok ({definition.name} version {definition.version})\n")
    return 1 if failed else 0
