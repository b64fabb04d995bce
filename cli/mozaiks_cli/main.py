"""The `mozaiks` console script.

    mozaiks runtime [--host H] [--port P] [--dev]
    mozaiks token mint --user U --app A [--admin] [--ttl 15m] [--chat C] [--claim N=V] [--broker]
    mozaiks workflow validate FILE...
    mozaiks operator [...]          (the kopf operator)

The runtime's commands live in mozaiks_runtime.cli, the operator's in mozaiks_operator.main.
Only this package imports both, so the dependency between the two runs one way: the operator
uses the runtime's workflow package, the runtime never imports the operator.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mozaiks_runtime import cli as runtime_cli


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mozaiks", description="Mozaiks chat runtime")
    commands = parser.add_subparsers(dest="command", required=True)
    runtime_cli.add_commands(commands)
    # Listed for --help only: main() hands `operator ...` to the operator's own parser.
    commands.add_parser("operator", help="run the Kubernetes operator", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["operator"]:  # everything after it (--help too) is the operator's
        from mozaiks_operator.main import run  # kopf is loaded for this command only

        run(argv[1:])
        return 0
    return runtime_cli.run(_parser().parse_args(argv))
