"""The `stratus` command: run a server, deploy and call functions, read their logs.

Every command except `serve` talks to a running server through the AWS API with boto3,
exactly as any other client would.
"""

from __future__ import annotations

# The command modules register on `app` as they are imported, and `stratus --help` lists
# commands in that order: keep it, and keep import sorting away from it.
# isort: off
from stratus.cli import server  # noqa: F401
from stratus.cli import deploy  # noqa: F401
from stratus.cli import invoke  # noqa: F401
from stratus.cli import logs  # noqa: F401
from stratus.cli import functions  # noqa: F401
from stratus.cli import layers  # noqa: F401
from stratus.cli import async_config  # noqa: F401
from stratus.cli import permissions  # noqa: F401
from stratus.cli import apis  # noqa: F401

# isort: on
from stratus.cli.app import app
from stratus.cli.workflows import workflows_app

app.add_typer(workflows_app, name="workflows")


def main() -> None:
    app(prog_name="stratus")


if __name__ == "__main__":
    main()
