"""OpenAPI import and export for HTTP APIs: `ImportApi`, `ReimportApi`, `ExportApi`.

Each operation of the document becomes a route (`GET /items/{id}`; the path `$default`
with `x-amazon-apigateway-any-method` is the `$default` route) with an integration of
its own from `x-amazon-apigateway-integration`; `x-amazon-apigateway-cors` becomes the
API's `CorsConfiguration`. `ReimportApi` replaces every route and integration and keeps
the stages (an auto-deploy stage picks the new definition up). An export describes the
API as defined, or, given `StageName`, the deployment that stage serves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from stratus.gateway.errors import BadRequestException, GatewayUnsupported, NotFoundException
from stratus.gateway.http_apis import HttpApis
from stratus.gateway.http_records import INTEGRATION, ROUTE
from stratus.gateway.http_stages import DEPLOYMENT, STAGE, snapshot_of
from stratus.gateway.openapi import (
    ANY_METHOD,
    Findings,
    api_key_required,
    dump_document,
    load_document,
    operations,
    path_parameters,
    scan_extensions,
)
from stratus.gateway.openapi import INTEGRATION as INTEGRATION_EXTENSION
from stratus.gateway.records import Record
from stratus.gateway.urls import host_base
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

CORS = "x-amazon-apigateway-cors"
VERSION = "x-amazon-apigateway-importexport-version"
HONOURED = frozenset({INTEGRATION_EXTENSION, ANY_METHOD, CORS, VERSION})
_CORS_MEMBERS = {
    "allowOrigins": "AllowOrigins",
    "allowMethods": "AllowMethods",
    "allowHeaders": "AllowHeaders",
    "exposeHeaders": "ExposeHeaders",
    "maxAge": "MaxAge",
    "allowCredentials": "AllowCredentials",
}


class HttpDefinitions:
    """HTTP APIs to and from OpenAPI documents."""

    def __init__(self, apis: HttpApis, endpoint_url: Callable[[], str]) -> None:
        self.apis = apis
        self.store = apis.store
        self.endpoint_url = endpoint_url

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "ImportApi": self.import_api,
            "ReimportApi": self.reimport_api,
            "ExportApi": self.export_api,
        }

    def import_api(self, params: Params, ctx: RequestContext) -> Result:
        document, findings = _read(params)
        created = self.apis.create_api({"ProtocolType": "HTTP", **_api_members(document)}, ctx)
        api_id = created["ApiId"]
        try:
            self._apply(api_id, document)
        except Exception:
            self.store.delete_api(api_id)
            raise
        return _with_warnings(self.apis.get_api({"ApiId": api_id}, ctx), findings)

    def reimport_api(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        record = self.apis.api(api_id)
        document, findings = _read(params)
        for kind in (ROUTE, INTEGRATION):
            for found in self.store.list(kind, api_id):
                key = found["RouteId"] if kind == ROUTE else found["IntegrationId"]
                self.store.delete(kind, api_id, key)
        record.pop("CorsConfiguration", None)
        record.update(_api_members(document))
        self.store.replace("http_api", api_id, "", record)
        self._apply(api_id, document)
        self.apis.changed(api_id)
        return _with_warnings(self.apis.get_api({"ApiId": api_id}, ctx), findings)

    def _apply(self, api_id: str, document: dict[str, Any]) -> None:
        # The private builders skip the per-call auto-deploy; the caller deploys once.
        for operation in operations(document):
            if api_key_required(document, operation.spec):
                raise BadRequestException("API keys are not supported for HTTP APIs")
            if operation.path == "$default":
                route_key = "$default"
            else:
                route_key = f"{operation.verb} {operation.path}"
            route: dict[str, Any] = {"RouteKey": route_key}
            if operation.spec.get("operationId"):
                route["OperationName"] = operation.spec["operationId"]
            given = operation.spec.get(INTEGRATION_EXTENSION)
            if isinstance(given, dict):
                integration = self.apis._new_integration(api_id, _integration_in(given))
                route["Target"] = f"integrations/{integration['IntegrationId']}"
            self.apis._new_route(api_id, route)

    def export_api(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        api = self.apis.api(api_id)
        if params["Specification"] != "OAS30":
            raise BadRequestException(f"Invalid Specification {params['Specification']}")
        output = params.get("OutputType") or "JSON"
        if output not in ("JSON", "YAML"):
            raise BadRequestException(f"Invalid OutputType {output}")
        stage_name = params.get("StageName")
        if stage_name:
            stage = self.store.get(STAGE, api_id, stage_name)
            if stage is None:
                raise NotFoundException(f"Invalid stage identifier specified {stage_name}")
            deployment = self.store.get(DEPLOYMENT, api_id, stage.get("DeploymentId") or "")
            snapshot = snapshot_of(deployment) if deployment else {}
            routes = list(snapshot.get("routes") or [])
            integrations = dict(snapshot.get("integrations") or {})
            cors = snapshot.get("cors")
        else:
            routes = self.store.list(ROUTE, api_id)
            integrations = {i["IntegrationId"]: i for i in self.store.list(INTEGRATION, api_id)}
            cors = api.get("CorsConfiguration")
        extensions = params.get("IncludeExtensions")
        document = _describe(
            api,
            routes,
            integrations,
            cors,
            host_base(self.endpoint_url(), api_id),
            stage_name,
            extensions is None or bool(extensions),
        )
        return {"body": dump_document(document, output == "YAML")}


def _read(params: Params) -> tuple[dict[str, Any], Findings]:
    if params.get("Basepath"):
        raise GatewayUnsupported("ImportApi's Basepath")
    document = load_document(params.get("Body"), swagger=False)
    findings = Findings()
    scan_extensions(document, HONOURED, findings)
    findings.check(bool(params.get("FailOnWarnings")))
    return document, findings


def _api_members(document: dict[str, Any]) -> dict[str, Any]:
    info = document.get("info") or {}
    out: dict[str, Any] = {"Name": info.get("title") or "imported"}
    if info.get("description"):
        out["Description"] = info["description"]
    if info.get("version"):
        out["Version"] = str(info["version"])
    cors = document.get(CORS)
    if isinstance(cors, dict):
        out["CorsConfiguration"] = {
            _CORS_MEMBERS[k]: v for k, v in cors.items() if k in _CORS_MEMBERS
        }
    return out


def _integration_in(given: dict[str, Any]) -> dict[str, Any]:
    kind = str(given.get("type") or "").upper()
    if not kind:
        raise BadRequestException("Missing type in x-amazon-apigateway-integration")
    params: dict[str, Any] = {
        "IntegrationType": kind,
        "IntegrationUri": given.get("uri"),
        "PayloadFormatVersion": str(given.get("payloadFormatVersion") or "1.0"),
    }
    if given.get("httpMethod"):
        params["IntegrationMethod"] = str(given["httpMethod"]).upper()
    if given.get("timeoutInMillis") is not None:
        params["TimeoutInMillis"] = int(given["timeoutInMillis"])
    for source, target in (
        ("requestParameters", "RequestParameters"),
        ("integrationSubtype", "IntegrationSubtype"),
        ("credentials", "CredentialsArn"),
        ("connectionType", "ConnectionType"),
        ("connectionId", "ConnectionId"),
        ("tlsConfig", "TlsConfig"),
    ):
        if given.get(source) is not None:
            params[target] = given[source]
    return params


def _with_warnings(record: Result, findings: Findings) -> Record:
    out = dict(record)
    if findings.warnings:
        out["Warnings"] = findings.warnings
    return out


def _describe(
    api: Record,
    routes: list[Record],
    integrations: dict[str, Record],
    cors: dict[str, Any] | None,
    base: str,
    stage: str | None,
    extensions: bool,
) -> dict[str, Any]:
    """The OpenAPI 3.0.1 document of an HTTP API's routes."""
    info: dict[str, Any] = {
        "title": api["Name"],
        "version": api.get("Version")
        or time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(api["CreatedDate"])),
    }
    if api.get("Description"):
        info["description"] = api["Description"]
    server: dict[str, Any] = {"url": base + "/"}
    if stage and stage != "$default":
        server = {"url": base + "/{basePath}", "variables": {"basePath": {"default": stage}}}
    document: dict[str, Any] = {"openapi": "3.0.1", "info": info, "servers": [server]}
    paths: dict[str, Any] = {}
    for route in sorted(routes, key=lambda r: r["RouteKey"]):
        if (route.get("AuthorizationType") or "NONE") != "NONE":
            raise GatewayUnsupported("exporting routes with authorizers")
        key = route["RouteKey"]
        if key == "$default":
            verb, path = "ANY", "$default"
        else:
            verb, _, path = key.partition(" ")
        operation: dict[str, Any] = {}
        if route.get("OperationName"):
            operation["operationId"] = route["OperationName"]
        names = path_parameters(path)
        if names:
            operation["parameters"] = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                for n in names
            ]
        operation["responses"] = {"default": {"description": f"Default response for {key}"}}
        target = route.get("Target") or ""
        integration = integrations.get(target.partition("/")[2]) if target else None
        if extensions and integration:
            operation[INTEGRATION_EXTENSION] = _integration_out(integration)
        paths.setdefault(path, {})[ANY_METHOD if verb == "ANY" else verb.lower()] = operation
    document["paths"] = paths
    if extensions:
        if cors:
            document[CORS] = {
                source: cors[target]
                for source, target in _CORS_MEMBERS.items()
                if cors.get(target) is not None
            }
        document[VERSION] = "1.0"
    return document


def _integration_out(record: Record) -> dict[str, Any]:
    out: dict[str, Any] = {"type": record["IntegrationType"].lower()}
    for source, target in (
        ("IntegrationSubtype", "integrationSubtype"),
        ("IntegrationUri", "uri"),
        ("IntegrationMethod", "httpMethod"),
        ("PayloadFormatVersion", "payloadFormatVersion"),
        ("RequestParameters", "requestParameters"),
        ("CredentialsArn", "credentials"),
        ("ConnectionType", "connectionType"),
        ("TimeoutInMillis", "timeoutInMillis"),
    ):
        if record.get(source) is not None:
            out[target] = record[source]
    return out
