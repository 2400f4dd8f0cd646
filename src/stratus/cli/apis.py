"""`stratus apis`: API Gateway's REST and HTTP APIs and the invoke URLs of their stages."""

from __future__ import annotations

import typer

from stratus.cli.app import app
from stratus.cli.common import DataDirOpt, EndpointOpt, calling, every_item
from stratus.cli.common import connection as _connection

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
    with calling(conn):
        v2 = conn.client("apigatewayv2")
        for api in every_item(v2, "get_apis", "Items"):
            stages = every_item(v2, "get_stages", "Items", ApiId=api["ApiId"])
            listing.append((api["ApiId"], api["Name"], "HTTP", [s["StageName"] for s in stages]))
        v1 = conn.client("apigateway")
        for api in every_item(v1, "get_rest_apis", "items"):
            stages = v1.get_stages(restApiId=api["id"]).get("item", [])
            listing.append((api["id"], api["name"], "REST", [s["stageName"] for s in stages]))
    if not listing:
        print("No APIs yet.")
    for api_id, name, kind, stage_names in listing:
        print(f"{api_id}\t{kind}\t{name}")
        if not stage_names:
            print("  (no stages: nothing is served until one is created)")
        for stage in stage_names:
            by_host, by_path = stage_urls(conn.endpoint, api_id, stage)
            print(f"  {stage}\t{by_host}\t{by_path}")
