"""`python -m tests.integration.runtime.server --port P`: the runtime with the scripted runner,
in its own process (for the SIGKILL tests). Settings come from MOZAIKS_* like `mozaiks runtime`."""

from __future__ import annotations

import argparse

import uvicorn

from mozaiks_runtime.app import create_app
from mozaiks_runtime.config import Settings
from mozaiks_runtime.serving import RuntimeServer, server_options
from tests.integration.runtime.scripted import build_runner


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = Settings.load()
    app = create_app(settings, runner_factory=build_runner)
    options = server_options(settings) | {"log_config": None, "log_level": "warning"}
    RuntimeServer(uvicorn.Config(app, host="127.0.0.1", port=args.port, **options)).run()


if __name__ == "__main__":
    main()
