"""`stratus apis`: API Gateway's REST and HTTP APIs and the invoke URLs of their stages."""

from __future__ import annotations

import typer
from botocore.exceptions import ClientError, EndpointConnectionError

from stratus.cli.app import app
from stratus.cli.common import DataDirOpt, EndpointOpt
from stratus.cli.common import aws_error as _aws_error
from stratus.cli.common import connection as _connection
from stratus.cli.common import every_item as _every
from stratus.cli.common import unreachable as _unreachable

apis_app = typer.Typer(help="API Gateway: REST and HTTP APIs and their invoke URLs.")
app.add_typer(apis_app, name="apis")


@apis_app.callback(invoke_without_command=True)
def apis(ctx: typer.Context, endpoint_url: EndpointOpt = None, data_dir: DataDirOpt = None) -> None:
    """List APIs and the host- and path-based invoke URLs of each stage."""
    if ctx.invoked_subcommand is not None:
        return
    from stratus.gateway.urls import stage_urls

    conn = _connection(endpoint_url, data_dir)
    listing: list[tuple[str, str, str, list[str]]] = []
    try:
        v2 = conn.client("apigatewayv2")
        for api in _every(v2, "get_apis", "Items"):
            stages = _every(v2, "get_stages", "Items", ApiId=api["ApiId"])
            listing.append((api["ApiId"], api["Name"], "HTTP", [s["StageName"] for s in stages]))
        v1 = conn.client("apigateway")
        for api in _every(v1, "get_rest_apis", "items"):
            stages = v1.get_stages(restApiId=api["id"]).get("item", [])
            listing.append((api["id"], api["name"], "REST", [s["stageName"] for s in stages]))
    except ClientError as exc:
        raise _aws_error(exc) from exc
    except EndpointConnectionError as exc:
        raise _unreachable(conn) from exc
    if not listing:
        print("No APIs yet.")
    for api_id, name, kind, stage_names in listing:
        print(f"{api_id}\t{kind}\t{name}")
        if not stage_names:
            print("  (no stages: nothing is served until one is created)")
        for stage in stage_names:
            by_host, by_path = stage_urls(conn.endpoint, api_id, stage)
            print(f"  {stage}\t{by_host}\t{by_path}")
