"""`stratus deploy`: zip a directory into a function, creating it or updating its code
and settings, with defaults (name, handler, runtime) found from the directory and the
server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError, EndpointConnectionError

from stratus.cli.app import app
from stratus.cli.client import Connection
from stratus.cli.common import DataDirOpt, EndpointOpt, out
from stratus.cli.common import aws_error as _aws_error
from stratus.cli.common import connection as _connection
from stratus.cli.common import fail as _fail
from stratus.cli.common import unreachable as _unreachable
from stratus.cli.layers import layer_version_arn
from stratus.functions.packaging import zip_directory


def _default_handler(directory: Path) -> str:
    for module in ("lambda_function", "handler", "app", "main"):
        if (directory / f"{module}.py").exists():
            return f"{module}.handler"
    raise _fail(
        f"no lambda_function.py, handler.py, app.py or main.py in {directory}: "
        "say which with --handler module.function"
    )


def _function_name(directory: Path) -> str:
    name = re.sub(r"[^a-zA-Z0-9_-]", "-", directory.resolve().name)[:64]
    return name or "function"


@app.command()
def deploy(
    directory: Annotated[Path, typer.Argument(help="Directory holding the function's code.")],
    name: Annotated[
        str | None, typer.Option(help="Function name (default: directory name).")
    ] = None,
    handler: Annotated[
        str | None, typer.Option(help="module.function (default: found in the directory).")
    ] = None,
    runtime: Annotated[
        str | None, typer.Option(help="Runtime (default: the newest the server has).")
    ] = None,
    timeout: Annotated[int | None, typer.Option(help="Timeout in seconds (1-900).")] = None,
    memory: Annotated[int | None, typer.Option(help="Memory in MB (128-10240).")] = None,
    env_var: Annotated[
        list[str] | None, typer.Option("--env", help="KEY=VALUE environment variable; repeat.")
    ] = None,
    layer: Annotated[
        list[str] | None,
        typer.Option(
            help="A layer: NAME (its latest version), NAME:VERSION or an ARN; repeat, in "
            "order (up to 5). Given, it replaces the function's layers."
        ),
    ] = None,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Zip a directory into a function: create it, or update its code and settings."""
    if not directory.is_dir():
        raise _fail(f"{directory} is not a directory")
    conn = _connection(endpoint_url, data_dir)
    client = conn.client("lambda")
    name = name or _function_name(directory)
    zip_bytes = zip_directory(directory)
    environment = _parse_env(env_var or [])
    config: dict[str, Any] = {}
    if handler:
        config["Handler"] = handler
    if runtime:
        config["Runtime"] = runtime
    if timeout is not None:
        config["Timeout"] = timeout
    if memory is not None:
        config["MemorySize"] = memory
    if environment is not None:
        config["Environment"] = {"Variables": environment}
    try:
        if layer is not None:
            config["Layers"] = [layer_version_arn(client, each) for each in layer]
        existing = _get_function(client, name)
        if existing is None:
            config.setdefault("Handler", _default_handler(directory))
            if "Runtime" not in config:
                config["Runtime"] = _newest_runtime(conn)
            account = conn.info().get("accountId", "000000000000")
            client.create_function(
                FunctionName=name,
                Role=f"arn:aws:iam::{account}:role/stratus-function",
                Code={"ZipFile": zip_bytes},
                **config,
            )
            client.get_waiter("function_active_v2").wait(
                FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
            )
            verb = "created"
        else:
            client.update_function_code(FunctionName=name, ZipFile=zip_bytes)
            _wait_updated(client, name)
            if config:
                client.update_function_configuration(FunctionName=name, **config)
                _wait_updated(client, name)
            verb = "updated"
        final = client.get_function_configuration(FunctionName=name)
    except ClientError as exc:
        raise _aws_error(exc) from exc
    except EndpointConnectionError as exc:
        raise _unreachable(conn) from exc
    out.print(
        f"[green]{verb}[/green] {final['FunctionName']} ({final['Runtime']}, "
        f"{final['Handler']}, {final['MemorySize']} MB, {final['Timeout']} s) "
        f"CodeSha256 {final['CodeSha256']}"
    )
    out.print(f"  invoke it: stratus invoke {name} --payload '{{}}'")


def _parse_env(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    environment = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise _fail(f"--env wants KEY=VALUE, got {pair!r}")
        environment[key] = value
    return environment


def _get_function(client: Any, name: str) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = client.get_function_configuration(FunctionName=name)
        return result
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def _wait_updated(client: Any, name: str) -> None:
    client.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )


def _newest_runtime(conn: Connection) -> str:
    runtimes = conn.info().get("runtimes") or []
    if not runtimes:
        raise _fail("the server has no Python runtime available")
    return str(runtimes[-1])
