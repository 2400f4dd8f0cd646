"""What every `stratus` command group shares: options, the connection, error output."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError, EndpointConnectionError
from rich.console import Console
from rich.markup import escape

from stratus.cli.client import Connection, connect
from stratus.config import DEFAULT_HOST, DEFAULT_PORT

# soft_wrap: a long line (an ARN, a hash, an error) stays one line when piped, as scripts
# expect.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="Server URL (default: $STRATUS_ENDPOINT, else the running server's, "
        f"else http://{DEFAULT_HOST}:{DEFAULT_PORT}).",
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $STRATUS_DATA_DIR or ~/.stratus)."),
]


def connection(endpoint: str | None, data_dir: Path | None) -> Connection:
    """The server the command talks to, and its keys."""
    return connect(endpoint, data_dir)


def fail(message: str) -> typer.Exit:
    """Print an error; the exit to raise. The message is text, not markup: AWS's own
    messages hold brackets ("... the following aliases reference it: [live]")."""
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(1)


def unreachable(conn: Connection) -> typer.Exit:
    return fail(f"cannot reach Stratus at {conn.endpoint}: is `stratus serve` running?")


def aws_error(exc: ClientError) -> typer.Exit:
    error = exc.response.get("Error", {})
    # A throttle says which limit it hit ("Rate Exceeded." alone does not).
    reason = exc.response.get("Reason")
    return fail(
        f"{error.get('Code')}: {error.get('Message')}" + (f" (Reason: {reason})" if reason else "")
    )


@contextmanager
def calling(conn: Connection) -> Iterator[None]:
    """Calls to `conn`'s server inside it have their errors printed the CLI's way."""
    try:
        yield
    except ClientError as exc:
        raise aws_error(exc) from exc
    except EndpointConnectionError as exc:
        raise unreachable(conn) from exc


def lambda_call(endpoint: str | None, data_dir: Path | None, operation: str, **args: Any) -> Any:
    """One Lambda API call (the boto3 method's name), with errors printed the CLI's way."""
    conn = connection(endpoint, data_dir)
    with calling(conn):
        result = getattr(conn.client("lambda"), operation)(**args)
    return result


def lambda_items(
    endpoint: str | None, data_dir: Path | None, operation: str, key: str, **args: Any
) -> list[Any]:
    """Every item of a paged Lambda listing (`key` of each page), not just its first
    page: Lambda answers 50 at a time."""
    conn = connection(endpoint, data_dir)
    with calling(conn):
        items = every_item(conn.client("lambda"), operation, key, **args)
    return items


def every_item(client: Any, operation: str, key: str, **args: Any) -> list[Any]:
    """Every item of a paged listing, through the client's paginator (a page may leave
    an empty list out)."""
    pages = client.get_paginator(operation).paginate(**args)
    return [item for page in pages for item in page.get(key, [])]
