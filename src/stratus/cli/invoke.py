"""`stratus invoke`: call a function with an event, print its result and its log tail."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError, EndpointConnectionError

from stratus.cli.app import app
from stratus.cli.common import DataDirOpt, EndpointOpt, out
from stratus.cli.common import aws_error as _aws_error
from stratus.cli.common import connection as _connection
from stratus.cli.common import fail as _fail
from stratus.cli.common import unreachable as _unreachable


@app.command()
def invoke(
    name: Annotated[str, typer.Argument(help="Function name or ARN.")],
    payload: Annotated[str | None, typer.Option(help="The event as JSON text.")] = None,
    event: Annotated[Path | None, typer.Option(help="A file holding the event JSON.")] = None,
    qualifier: Annotated[str | None, typer.Option(help="Version or alias.")] = None,
    asynchronous: Annotated[
        bool, typer.Option("--async", help="Queue the event (InvocationType=Event) and return.")
    ] = False,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Invoke a function; print its result, and its log tail on stderr."""
    if payload is not None and event is not None:
        raise _fail("give --payload or --event, not both")
    body = event.read_bytes() if event is not None else (payload or "{}").encode()
    try:
        json.loads(body)
    except ValueError as exc:
        raise _fail(f"the event is not valid JSON: {exc}") from exc
    conn = _connection(endpoint_url, data_dir)
    args: dict[str, Any] = {"FunctionName": name, "Payload": body, "LogType": "Tail"}
    if qualifier:
        args["Qualifier"] = qualifier
    if asynchronous:
        args.update(InvocationType="Event", LogType="None")
    try:
        response = conn.client("lambda").invoke(**args)
    except ClientError as exc:
        raise _aws_error(exc) from exc
    except EndpointConnectionError as exc:
        raise _unreachable(conn) from exc
    if asynchronous:
        out.print(f"queued: request id {response['ResponseMetadata']['RequestId']}")
        return
    if response.get("LogResult"):
        # Plain writes: the log tail is data, not something to wrap or colour.
        sys.stderr.write(base64.b64decode(response["LogResult"]).decode(errors="replace"))
        sys.stderr.flush()
    result = response["Payload"].read()
    try:
        text = json.dumps(json.loads(result), indent=2)
    except ValueError:
        text = result.decode(errors="replace")
    print(text)
    if response.get("FunctionError"):
        raise typer.Exit(1)
