"""`stratus workflows`: state machines from files, executions started, watched, read back."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError

from stratus.cli.client import Connection
from stratus.cli.common import (
    DataDirOpt,
    EndpointOpt,
    calling,
    connection,
    every_item,
    fail,
)

workflows_app = typer.Typer(
    help="Step Functions: state machines from files; start, watch and read executions.",
    no_args_is_help=True,
)

DEFAULT_ROLE = "arn:aws:iam::000000000000:role/stratus-workflows"


def _machine_arn(sfn: Any, name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name_or_arn:
                return str(machine["stateMachineArn"])
    raise fail(f"no state machine named {name_or_arn}")


@workflows_app.command("create")
def create(
    file: Annotated[Path, typer.Argument(help="The definition (Amazon States Language JSON).")],
    name: Annotated[str | None, typer.Option(help="Default: the file's name.")] = None,
    kind: Annotated[str, typer.Option("--type", help="STANDARD or EXPRESS.")] = "STANDARD",
    role: Annotated[str, typer.Option(help="Role ARN recorded with it.")] = DEFAULT_ROLE,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create a state machine from a file, or update the one of that name."""
    definition = file.read_text()
    name = name or file.stem
    conn = connection(endpoint_url, data_dir)
    sfn = conn.client("stepfunctions")
    with calling(conn):
        try:
            arn = sfn.create_state_machine(
                name=name, definition=definition, roleArn=role, type=kind.upper()
            )["stateMachineArn"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "StateMachineAlreadyExists":
                raise
            arn = _machine_arn(sfn, name)
            sfn.update_state_machine(stateMachineArn=arn, definition=definition)
    typer.echo(arn)


@workflows_app.command("list")
def list_machines(endpoint_url: EndpointOpt = None, data_dir: DataDirOpt = None) -> None:
    """List state machines."""
    conn = connection(endpoint_url, data_dir)
    sfn = conn.client("stepfunctions")
    with calling(conn):
        machines = every_item(sfn, "list_state_machines", "stateMachines")
    if not machines:
        typer.echo("No state machines yet.")
    for machine in machines:
        typer.echo(f"{machine['name']}\t{machine['type']}\t{machine['stateMachineArn']}")


@workflows_app.command("start")
def start(
    machine: Annotated[str, typer.Argument(help="State machine name or ARN.")],
    input_json: Annotated[str, typer.Option("--input", help="Execution input (JSON).")] = "{}",
    name: Annotated[str | None, typer.Option(help="Execution name.")] = None,
    watch_it: Annotated[
        bool, typer.Option("--watch", help="Follow a Standard execution to its end.")
    ] = False,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Start an execution. Express machines run to their end and print the output;
    Standard ones print the execution ARN (and with --watch, its states live)."""
    conn = connection(endpoint_url, data_dir)
    sfn = conn.client("stepfunctions")
    with calling(conn):
        arn = _machine_arn(sfn, machine)
        kind = sfn.describe_state_machine(stateMachineArn=arn)["type"]
        extra = {"name": name} if name else {}
        if kind == "EXPRESS":
            result = sfn.start_sync_execution(stateMachineArn=arn, input=input_json, **extra)
            _print_end(result)
            return
        execution = sfn.start_execution(stateMachineArn=arn, input=input_json, **extra)
    typer.echo(execution["executionArn"])
    if watch_it:
        _watch(conn, sfn, execution["executionArn"])


@workflows_app.command("watch")
def watch(
    execution: Annotated[str, typer.Argument(help="Execution ARN.")],
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Follow an execution live: its states as they are entered and exited, then its end."""
    conn = connection(endpoint_url, data_dir)
    _watch(conn, conn.client("stepfunctions"), execution)


@workflows_app.command("history")
def history(
    execution: Annotated[str, typer.Argument(help="Execution ARN.")],
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Print an execution's history, one event per line."""
    conn = connection(endpoint_url, data_dir)
    sfn = conn.client("stepfunctions")
    with calling(conn):
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution):
            for event in page["events"]:
                typer.echo(_line(event))


def _watch(conn: Connection, sfn: Any, execution: str) -> None:
    seen = 0
    with calling(conn):
        while True:
            events: list[dict[str, Any]] = []
            for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution):
                events.extend(page["events"])
            for event in events[seen:]:
                kind = event["type"]
                if kind.endswith(("StateEntered", "StateExited")) or kind.startswith("Execution"):
                    typer.echo(_line(event))
            seen = len(events)
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING" and seen >= len(events):
                _print_end(described)
                return
            time.sleep(0.5)


def _line(event: dict[str, Any]) -> str:
    details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
    what = details.get("name") or details.get("error") or ""
    stamp = event["timestamp"].strftime("%H:%M:%S.%f")[:-3]
    return f"{event['id']:>5}  {stamp}  {event['type']:<28} {what}".rstrip()


def _print_end(result: dict[str, Any]) -> None:
    status = result["status"]
    if status == "SUCCEEDED":
        typer.echo(json.dumps(json.loads(result.get("output", "null")), indent=2))
        return
    raise fail(f"{status}: {result.get('error', '')} {result.get('cause', '')}".strip())
