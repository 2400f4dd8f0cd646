"""`stratus functions` and the commands that manage what is deployed: publish, versions,
alias (with canary weights), delete, concurrency and provisioned."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError, EndpointConnectionError
from rich.table import Table

from stratus.cli.app import app
from stratus.cli.common import DataDirOpt, EndpointOpt, out
from stratus.cli.common import aws_error as _aws_error
from stratus.cli.common import connection as _connection
from stratus.cli.common import fail as _fail
from stratus.cli.common import lambda_call as _call
from stratus.cli.common import lambda_items as _items
from stratus.cli.common import unreachable as _unreachable


@app.command()
def functions(endpoint_url: EndpointOpt = None, data_dir: DataDirOpt = None) -> None:
    """List functions (a table on a terminal, tab-separated lines otherwise)."""
    conn = _connection(endpoint_url, data_dir)
    header = ("name", "runtime", "handler", "memory", "timeout", "state", "last modified")
    rows: list[tuple[str, ...]] = []
    try:
        client = conn.client("lambda")
        for page in client.get_paginator("list_functions").paginate():
            rows += [
                (
                    fn["FunctionName"],
                    fn["Runtime"],
                    fn["Handler"],
                    f"{fn['MemorySize']} MB",
                    f"{fn['Timeout']} s",
                    _state(client, fn["FunctionName"]),
                    fn["LastModified"],
                )
                for fn in page["Functions"]
            ]
    except ClientError as exc:
        raise _aws_error(exc) from exc
    except EndpointConnectionError as exc:
        raise _unreachable(conn) from exc
    if out.is_terminal:
        table = Table(*header)
        for row in rows:
            table.add_row(*row)
        out.print(table)
    else:
        for row in [header, *rows]:
            print("\t".join(row))


def _state(client: Any, name: str) -> str:
    """A function's state: ListFunctions leaves it out, as Lambda's does."""
    try:
        return str(client.get_function_configuration(FunctionName=name).get("State", ""))
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return "Deleted"  # between the listing and this call
        raise


@app.command()
def publish(
    name: Annotated[str, typer.Argument(help="Function name.")],
    description: Annotated[str | None, typer.Option(help="Version description.")] = None,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Publish $LATEST as a new version (or name the last one if nothing changed)."""
    args: dict[str, Any] = {"FunctionName": name}
    if description is not None:
        args["Description"] = description
    version = _call(endpoint_url, data_dir, "publish_version", **args)
    out.print(f"version {version['Version']} of {name} (CodeSha256 {version['CodeSha256']})")


@app.command()
def versions(
    name: Annotated[str, typer.Argument(help="Function name.")],
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List a function's versions and aliases."""
    listed = _items(
        endpoint_url, data_dir, "list_versions_by_function", "Versions", FunctionName=name
    )
    aliases = _items(endpoint_url, data_dir, "list_aliases", "Aliases", FunctionName=name)
    for version in listed:
        print(f"{version['Version']}\t{version['LastModified']}\t{version.get('Description', '')}")
    for alias in aliases:
        print(_alias_line(alias))


@app.command()
def alias(
    name: Annotated[str, typer.Argument(help="Function name.")],
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="Alias name.")],
    version: Annotated[
        str | None,
        typer.Argument(help="Version the alias points to (omit to show the alias)."),
    ] = None,
    weight: Annotated[
        str | None, typer.Option(help="VERSION=WEIGHT: send that share (0-1) to a second version.")
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Delete the alias.")] = False,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create, move, show or delete an alias; --weight splits traffic for a canary release."""
    target = {"FunctionName": name, "Name": alias_name}
    if delete:
        if version is not None or weight is not None:
            raise _fail("--delete takes no version and no --weight")
        _call(endpoint_url, data_dir, "delete_alias", **target)
        out.print(f"deleted alias {alias_name} of {name}")
        return
    if version is None:
        if weight is not None:
            raise _fail("--weight needs the version the alias points to")
        print(_alias_line(_call(endpoint_url, data_dir, "get_alias", **target)))
        return
    args: dict[str, Any] = {**target, "FunctionVersion": version}
    weights: dict[str, float] = {}
    if weight:
        extra, _, share = weight.partition("=")
        try:
            weights[extra] = float(share)
        except ValueError as exc:
            raise _fail(f"--weight wants VERSION=WEIGHT, got {weight!r}") from exc
    args["RoutingConfig"] = {"AdditionalVersionWeights": weights}
    conn = _connection(endpoint_url, data_dir)
    client = conn.client("lambda")
    try:
        try:
            client.get_alias(**target)
            result = client.update_alias(**args)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            result = client.create_alias(**args)
    except ClientError as exc:
        raise _aws_error(exc) from exc
    except EndpointConnectionError as exc:
        raise _unreachable(conn) from exc
    out.print(f"alias {result['Name']} -> version {result['FunctionVersion']}")


def _alias_line(alias: dict[str, Any]) -> str:
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    split = "".join(f" + {v} at {w:.0%}" for v, w in weights.items())
    return f"alias {alias['Name']} -> {alias['FunctionVersion']}{split}"


@app.command()
def delete(
    name: Annotated[str, typer.Argument(help="Function name or ARN.")],
    qualifier: Annotated[
        str | None,
        typer.Option(help="Delete only this published version (not $LATEST, not an alias)."),
    ] = None,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Delete a function (every version and alias), or one published version of it."""
    args = {"FunctionName": name}
    if qualifier is not None:
        args["Qualifier"] = qualifier
    _call(endpoint_url, data_dir, "delete_function", **args)
    out.print(f"deleted version {qualifier} of {name}" if qualifier else f"deleted {name}")


@app.command()
def concurrency(
    name: Annotated[str, typer.Argument(help="Function name.")],
    reserved: Annotated[
        int | None, typer.Argument(help="Reserved concurrency to set (omit to show it).")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the reservation.")] = False,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Show, set or clear a function's reserved concurrency (and list what is provisioned)."""
    if clear:
        _call(endpoint_url, data_dir, "delete_function_concurrency", FunctionName=name)
    elif reserved is not None:
        _call(
            endpoint_url,
            data_dir,
            "put_function_concurrency",
            FunctionName=name,
            ReservedConcurrentExecutions=reserved,
        )
    current = _call(endpoint_url, data_dir, "get_function_concurrency", FunctionName=name)
    value = current.get("ReservedConcurrentExecutions")
    out.print(f"{name}: " + ("unreserved" if value is None else f"{value} reserved"))
    listed = _items(
        endpoint_url,
        data_dir,
        "list_provisioned_concurrency_configs",
        "ProvisionedConcurrencyConfigs",
        FunctionName=name,
    )
    for config in listed:
        qualifier = config["FunctionArn"].rsplit(":", 1)[1]
        print(f"  {qualifier}: {_provisioned(config)}")


@app.command()
def provisioned(
    name: Annotated[str, typer.Argument(help="Function name.")],
    qualifier: Annotated[str, typer.Argument(help="Published version or alias.")],
    count: Annotated[
        int | None, typer.Argument(help="Instances to keep warm (omit to show them).")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the configuration.")] = False,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Show, set or clear the provisioned concurrency of a version or alias."""
    args = {"FunctionName": name, "Qualifier": qualifier}
    if clear:
        _call(endpoint_url, data_dir, "delete_provisioned_concurrency_config", **args)
        out.print(f"{name}:{qualifier}: none provisioned")
        return
    if count is not None:
        config = _call(
            endpoint_url,
            data_dir,
            "put_provisioned_concurrency_config",
            ProvisionedConcurrentExecutions=count,
            **args,
        )
    else:
        config = _call(endpoint_url, data_dir, "get_provisioned_concurrency_config", **args)
    print(f"{name}:{qualifier}: {_provisioned(config)}")


def _provisioned(config: dict[str, Any]) -> str:
    text = (
        f"{config['AvailableProvisionedConcurrentExecutions']} of "
        f"{config['RequestedProvisionedConcurrentExecutions']} provisioned, {config['Status']}"
    )
    reason = config.get("StatusReason")
    return f"{text} ({reason})" if reason else text
