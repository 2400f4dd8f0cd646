"""`stratus permissions`: a function's resource policy, statement by statement.

Stratus stores the policy as Lambda returns it; it does not enforce it yet."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from stratus.cli.app import app
from stratus.cli.common import DataDirOpt, EndpointOpt, lambda_call, out

permissions_app = typer.Typer(
    help="A function's resource policy: list, add and remove statements.",
    no_args_is_help=True,
)
app.add_typer(permissions_app, name="permissions")

QualifierOpt = Annotated[str | None, typer.Option(help="Version or alias.")]


@permissions_app.command("list")
def list_statements(
    name: Annotated[str, typer.Argument(help="Function name.")],
    qualifier: QualifierOpt = None,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Print each statement: id, effect, principal, action, condition."""
    args: dict[str, Any] = {"FunctionName": name}
    if qualifier is not None:
        args["Qualifier"] = qualifier
    policy = json.loads(lambda_call(endpoint_url, data_dir, "get_policy", **args)["Policy"])
    for statement in policy["Statement"]:
        principal = statement.get("Principal", {})
        if isinstance(principal, dict):
            principal = ",".join(str(v) for v in principal.values())
        condition = json.dumps(statement["Condition"]) if "Condition" in statement else ""
        print(
            f"{statement.get('Sid', '')}\t{statement.get('Effect', '')}\t{principal}\t"
            f"{statement.get('Action', '')}\t{condition}".rstrip("\t")
        )


@permissions_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Function name.")],
    statement_id: Annotated[str, typer.Argument(metavar="SID", help="Statement id.")],
    principal: Annotated[
        str, typer.Option(help="Who may call: a service, an account id or an ARN.")
    ],
    action: Annotated[str, typer.Option(help="What they may do.")] = "lambda:InvokeFunction",
    source_arn: Annotated[str | None, typer.Option(help="Only on behalf of this resource.")] = None,
    source_account: Annotated[
        str | None, typer.Option(help="Only on behalf of this account.")
    ] = None,
    qualifier: QualifierOpt = None,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Add a statement to the function's resource policy."""
    args: dict[str, Any] = {
        "FunctionName": name,
        "StatementId": statement_id,
        "Action": action,
        "Principal": principal,
    }
    for key, value in (
        ("SourceArn", source_arn),
        ("SourceAccount", source_account),
        ("Qualifier", qualifier),
    ):
        if value is not None:
            args[key] = value
    added = lambda_call(endpoint_url, data_dir, "add_permission", **args)
    print(added["Statement"])


@permissions_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="Function name.")],
    statement_id: Annotated[str, typer.Argument(metavar="SID", help="Statement id.")],
    qualifier: QualifierOpt = None,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Remove a statement from the function's resource policy."""
    args: dict[str, Any] = {"FunctionName": name, "StatementId": statement_id}
    if qualifier is not None:
        args["Qualifier"] = qualifier
    lambda_call(endpoint_url, data_dir, "remove_permission", **args)
    out.print(f"removed {statement_id} from {name}'s policy")
