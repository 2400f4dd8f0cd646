"""`stratus serve` and `stratus env`: run a server, and point AWS tools at one."""

from __future__ import annotations

import dataclasses
import shlex
from typing import Annotated

import typer

from stratus.cli.app import app
from stratus.cli.common import DataDirOpt, EndpointOpt
from stratus.cli.common import connection as _connection
from stratus.config import DEFAULT_HOST, DEFAULT_PORT, Settings, default_data_dir


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to bind.")] = DEFAULT_PORT,
    data_dir: DataDirOpt = None,
    demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="Deploy the `hello` demo function.")
    ] = False,
    sandbox: Annotated[
        str | None,
        typer.Option(
            help="auto (isolate where the host allows), isolated (or refuse to start), or "
            "process (no isolation). Default: $STRATUS_SANDBOX or auto."
        ),
    ] = None,
) -> None:
    """Run a Stratus server (embedded SQLite in the data directory)."""
    from stratus.cli.serve import run

    settings = Settings(data_dir=data_dir or default_data_dir(), host=host, port=port, demo=demo)
    if sandbox is not None:
        settings = dataclasses.replace(settings, sandbox=sandbox)
    run(settings)


@app.command()
def env(endpoint_url: EndpointOpt = None, data_dir: DataDirOpt = None) -> None:
    """Print shell exports that point the AWS CLI and SDKs at Stratus (and, with
    --data-dir, the stratus CLI at that server too)."""
    conn = _connection(endpoint_url, data_dir)
    if data_dir is not None:
        # So that the stratus CLI in this shell finds the same server and keys.
        print(f"export STRATUS_DATA_DIR={shlex.quote(str(data_dir.resolve()))}")
    print(f"export AWS_ACCESS_KEY_ID={conn.keys.access_key_id}")
    print(f"export AWS_SECRET_ACCESS_KEY={conn.keys.secret_access_key}")
    print(f"export AWS_DEFAULT_REGION={conn.region}")
    print(f"export AWS_ENDPOINT_URL={conn.endpoint}")
    # StartSyncExecution and TestState carry a "sync-" host prefix that botocore puts
    # even in front of a custom endpoint's host (sync-127.0.0.1 does not resolve).
    print("export AWS_DISABLE_HOST_PREFIX_INJECTION=true")
