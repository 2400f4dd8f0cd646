"""`stratus async-config`: how a function's asynchronous invocations are retried, how old
an event may get, and which function hears of each success or failure."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError, EndpointConnectionError

from stratus.cli.app import app
from stratus.cli.common import DataDirOpt, EndpointOpt, aws_error, connection, unreachable

NONE = "none"


@app.command("async-config")
def async_config(
    name: Annotated[str, typer.Argument(help="Function name.")],
    qualifier: Annotated[str | None, typer.Option(help="Version or alias.")] = None,
    retries: Annotated[
        int | None, typer.Option(help="Retries after a function error (0-2).")
    ] = None,
    max_age: Annotated[
        int | None, typer.Option(help="Drop events older than this, in seconds (60-21600).")
    ] = None,
    on_success: Annotated[
        str | None,
        typer.Option(help=f"Function (name or ARN) given each success record; '{NONE}' clears."),
    ] = None,
    on_failure: Annotated[
        str | None,
        typer.Option(help=f"Function (name or ARN) given each failure record; '{NONE}' clears."),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Remove the settings (back to Lambda's defaults).")
    ] = False,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Show or change how asynchronous invocations are retried and where records go."""
    conn = connection(endpoint_url, data_dir)
    client = conn.client("lambda")
    target: dict[str, Any] = {"FunctionName": name}
    if qualifier is not None:
        target["Qualifier"] = qualifier
    try:
        if clear:
            client.delete_function_event_invoke_config(**target)
            config = None
        else:
            config = _current(client, target)
            if (retries, max_age, on_success, on_failure) != (None, None, None, None):
                settings = _merged(client, config, retries, max_age, on_success, on_failure)
                config = client.put_function_event_invoke_config(**target, **settings)
    except ClientError as exc:
        raise aws_error(exc) from exc
    except EndpointConnectionError as exc:
        raise unreachable(conn) from exc
    shown = f"{name}:{qualifier}" if qualifier else name
    if config is None:
        print(f"{shown}: Lambda's defaults (2 retries, events kept 6 hours, no destinations)")
        return
    retried = config.get("MaximumRetryAttempts", 2)
    age = config.get("MaximumEventAgeInSeconds", 21600)
    print(f"{shown}: {retried} retries, events kept {age} s")
    for outcome, key in (("success", "OnSuccess"), ("failure", "OnFailure")):
        destination = config["DestinationConfig"].get(key, {}).get("Destination")
        if destination:
            print(f"  on {outcome} -> {destination}")


def _current(client: Any, target: dict[str, Any]) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = client.get_function_event_invoke_config(**target)
        return found
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def _merged(
    client: Any,
    current: dict[str, Any] | None,
    retries: int | None,
    max_age: int | None,
    on_success: str | None,
    on_failure: str | None,
) -> dict[str, Any]:
    """The whole configuration to put: what is asked, over what there is."""
    current = current or {}
    settings: dict[str, Any] = {}
    for key, value in (
        ("MaximumRetryAttempts", retries),
        ("MaximumEventAgeInSeconds", max_age),
    ):
        if value is not None:
            settings[key] = value
        elif key in current:
            settings[key] = current[key]
    destinations = current.get("DestinationConfig", {})
    for key, asked in (("OnSuccess", on_success), ("OnFailure", on_failure)):
        destination = destinations.get(key, {}).get("Destination")
        if asked is not None:
            destination = None if asked == NONE else _function_arn(client, asked)
        settings.setdefault("DestinationConfig", {})[key] = (
            {"Destination": destination} if destination else {}
        )
    return settings


def _function_arn(client: Any, name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return str(client.get_function_configuration(FunctionName=name_or_arn)["FunctionArn"])
