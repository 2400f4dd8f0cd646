"""`stratus layers`: layer versions published from directories, listed and deleted; and
how `stratus deploy --layer` turns a layer's name into the ARN of a version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from stratus.cli.app import app
from stratus.cli.common import DataDirOpt, EndpointOpt, fail, lambda_call, lambda_items, out
from stratus.functions.packaging import zip_directory

layers_app = typer.Typer(
    help="Layers: publish a directory as a layer version; list and delete them."
)
app.add_typer(layers_app, name="layers")


@layers_app.callback(invoke_without_command=True)
def layers(
    ctx: typer.Context, endpoint_url: EndpointOpt = None, data_dir: DataDirOpt = None
) -> None:
    """List layers with their latest version."""
    if ctx.invoked_subcommand is not None:
        return
    listed = lambda_items(endpoint_url, data_dir, "list_layers", "Layers")
    if not listed:
        print("No layers yet: `stratus layers publish DIRECTORY --name NAME` makes one.")
    for layer in listed:
        latest = layer["LatestMatchingVersion"]
        runtimes = ",".join(latest.get("CompatibleRuntimes", [])) or "any runtime"
        print(f"{layer['LayerName']}\t{latest['Version']}\t{runtimes}\t{latest['LayerVersionArn']}")


@layers_app.command("publish")
def publish(
    directory: Annotated[
        Path,
        typer.Argument(help="What goes under /opt; its python/ directory is importable."),
    ],
    name: Annotated[str | None, typer.Option(help="Layer name (default: directory name).")] = None,
    runtime: Annotated[list[str] | None, typer.Option(help="A compatible runtime; repeat.")] = None,
    description: Annotated[str | None, typer.Option(help="Version description.")] = None,
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Zip a directory into a new version of a layer; print its ARN."""
    if not directory.is_dir():
        raise fail(f"{directory} is not a directory")
    args: dict[str, Any] = {
        "LayerName": name or directory.resolve().name,
        "Content": {"ZipFile": zip_directory(directory)},
    }
    if runtime:
        args["CompatibleRuntimes"] = runtime
    if description is not None:
        args["Description"] = description
    published = lambda_call(endpoint_url, data_dir, "publish_layer_version", **args)
    out.print(f"version {published['Version']} of layer {args['LayerName']}")
    print(published["LayerVersionArn"])


@layers_app.command("versions")
def versions(
    name: Annotated[str, typer.Argument(help="Layer name or ARN.")],
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List a layer's versions, newest first."""
    listed = lambda_items(
        endpoint_url, data_dir, "list_layer_versions", "LayerVersions", LayerName=name
    )
    if not listed:
        print(f"No versions of layer {name}.")
    for version in listed:
        print(f"{version['Version']}\t{version['CreatedDate']}\t{version['LayerVersionArn']}")


@layers_app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="Layer name or ARN.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Delete one version of a layer (functions that use it keep their copy)."""
    lambda_call(
        endpoint_url, data_dir, "delete_layer_version", LayerName=name, VersionNumber=version
    )
    out.print(f"deleted version {version} of layer {name}")


def layer_version_arn(client: Any, layer: str) -> str:
    """A layer version's ARN from `NAME`, `NAME:VERSION` or the ARN itself (`NAME` alone
    means its latest version)."""
    if layer.startswith("arn:"):
        return layer
    name, _, number = layer.partition(":")
    if number:
        if not number.isdigit():
            raise fail(f"--layer wants NAME, NAME:VERSION or an ARN, got {layer!r}")
        got = client.get_layer_version(LayerName=name, VersionNumber=int(number))
        return str(got["LayerVersionArn"])
    listed = client.list_layer_versions(LayerName=name, MaxItems=1)["LayerVersions"]
    if not listed:
        raise fail(f"no layer named {name}: publish one with `stratus layers publish`")
    return str(listed[0]["LayerVersionArn"])
