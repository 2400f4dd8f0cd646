"""The root `stratus` command that every command module registers on.

It lives apart from `main.py` so those modules can import it without importing the
entry point: `python -m stratus.cli.main` runs that module as `__main__`, and a second
copy of it would hold a second, empty `app`.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Stratus: a self-hosted serverless platform that speaks the AWS APIs.",
    no_args_is_help=True,
    add_completion=False,
)
