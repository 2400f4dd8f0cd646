"""HTTP API integrations (CreateIntegration ... DeleteIntegration): Lambda proxy, HTTP
proxy and AWS service (Step Functions) integrations, and the checks on their members.

A mixin of `HttpApis`, which finds the API an operation names and tells the data plane
of a change; an integration a route still targets cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Callable

from stratus.gateway.errors import (
    BadRequestException,
    ConflictException,
    GatewayUnsupported,
    NotFoundException,
)
from stratus.gateway.http_records import INTEGRATION, ROUTE, _listing
from stratus.gateway.parameters import check_mapping
from stratus.gateway.records import GatewayStore, Record, new_id
from stratus.gateway.targets import check_http_uri, function_target
from stratus.gateway.workflows import SUBTYPES
from stratus.wire.types import Params, RequestContext, Result

_INTEGRATION_UPDATABLE = (
    "Description",
    "IntegrationMethod",
    "IntegrationUri",
    "PayloadFormatVersion",
    "TimeoutInMillis",
    "RequestParameters",
    "CredentialsArn",
)


class HttpIntegrations:
    """CreateIntegration ... DeleteIntegration, mixed into `HttpApis`."""

    # Provided by `HttpApis`.
    store: GatewayStore
    changed: Callable[[str], None]
    api: Callable[[str], Record]

    # --- integrations ----------------------------------------------------------------

    def integration(self, api_id: str, integration_id: str) -> Record:
        found = self.store.get(INTEGRATION, api_id, integration_id)
        if found is None:
            raise NotFoundException(f"Invalid Integration identifier specified {integration_id}")
        return found

    def create_integration(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.api(api_id)
        record = self._new_integration(api_id, params)
        self.changed(api_id)
        return record

    def _new_integration(self, api_id: str, params: Params) -> Record:
        kind = params["IntegrationType"]
        for member in ("ConnectionId", "TlsConfig"):
            if params.get(member):
                raise GatewayUnsupported(f"integration member {member}")
        if params.get("ConnectionType", "INTERNET") != "INTERNET":
            raise GatewayUnsupported("VPC link integrations")
        record: Record = {
            "IntegrationId": new_id(7),
            "IntegrationType": kind,
            "ConnectionType": "INTERNET",
            "TimeoutInMillis": params.get("TimeoutInMillis", 30000),
        }
        for member in ("Description", "RequestParameters", "ResponseParameters"):
            if params.get(member) is not None:
                record[member] = params[member]
        if params.get("CredentialsArn") and not params.get("IntegrationSubtype"):
            raise GatewayUnsupported("CredentialsArn on integrations other than AWS services")
        if params.get("IntegrationSubtype"):
            if kind != "AWS_PROXY":
                raise BadRequestException(
                    "IntegrationSubtype is supported only for AWS_PROXY integrations"
                )
            record.update(
                IntegrationSubtype=params["IntegrationSubtype"],
                PayloadFormatVersion=params.get("PayloadFormatVersion") or "1.0",
            )
            if params.get("CredentialsArn"):
                record["CredentialsArn"] = params["CredentialsArn"]
            check_subtype(record)
        elif kind == "AWS_PROXY":
            version = params.get("PayloadFormatVersion")
            if version not in ("1.0", "2.0"):
                raise BadRequestException(
                    "PayloadFormatVersion is required for AWS_PROXY integrations of HTTP APIs "
                    "and must be 1.0 or 2.0"
                )
            uri = params.get("IntegrationUri") or ""
            function_target(uri)
            record.update(
                IntegrationUri=uri,
                IntegrationMethod="POST",
                PayloadFormatVersion=version,
            )
        elif kind == "HTTP_PROXY":
            method = params.get("IntegrationMethod")
            if not method:
                raise BadRequestException("IntegrationMethod is required for HTTP_PROXY")
            if params.get("PayloadFormatVersion", "1.0") != "1.0":
                raise BadRequestException("HTTP_PROXY integrations support payload format 1.0")
            record.update(
                IntegrationUri=check_http_uri(params.get("IntegrationUri")),
                IntegrationMethod=method,
                PayloadFormatVersion="1.0",
            )
        elif kind in ("AWS", "HTTP", "MOCK"):
            raise BadRequestException(
                f"Integration type {kind} is not supported for HTTP APIs; use AWS_PROXY or "
                "HTTP_PROXY"
            )
        else:
            raise BadRequestException(f"Invalid integration type {kind}")
        timeout = record["TimeoutInMillis"]
        if not 50 <= timeout <= 30000:
            raise BadRequestException("TimeoutInMillis must be between 50 and 30000")
        self.store.insert(INTEGRATION, api_id, record["IntegrationId"], record)
        return record

    def get_integration(self, params: Params, ctx: RequestContext) -> Result:
        self.api(params["ApiId"])
        return self.integration(params["ApiId"], params["IntegrationId"])

    def get_integrations(self, params: Params, ctx: RequestContext) -> Result:
        self.api(params["ApiId"])
        return _listing(self.store.list(INTEGRATION, params["ApiId"]), params)

    def update_integration(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.api(api_id)
        record = self.integration(api_id, params["IntegrationId"])
        if params.get("IntegrationType") and params["IntegrationType"] != record["IntegrationType"]:
            raise GatewayUnsupported("changing an integration's IntegrationType")
        merged = {**record, **{m: params[m] for m in _INTEGRATION_UPDATABLE if m in params}}
        if merged.get("IntegrationSubtype"):
            check_subtype(merged)
        elif params.get("CredentialsArn"):
            raise GatewayUnsupported("CredentialsArn on integrations other than AWS services")
        elif merged["IntegrationType"] == "AWS_PROXY":
            function_target(merged["IntegrationUri"])
            if merged.get("PayloadFormatVersion") not in ("1.0", "2.0"):
                raise BadRequestException("PayloadFormatVersion must be 1.0 or 2.0")
        else:
            check_http_uri(merged.get("IntegrationUri"))
        if not 50 <= merged["TimeoutInMillis"] <= 30000:
            raise BadRequestException("TimeoutInMillis must be between 50 and 30000")
        self.store.replace(INTEGRATION, api_id, record["IntegrationId"], merged)
        self.changed(api_id)
        return merged

    def delete_integration(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.api(api_id)
        integration_id = params["IntegrationId"]
        self.integration(api_id, integration_id)
        for route in self.store.list(ROUTE, api_id):
            if route.get("Target") == f"integrations/{integration_id}":
                raise ConflictException(
                    f"Integration {integration_id} is in use by route {route['RouteKey']}; "
                    "remove it from the route first"
                )
        self.store.delete(INTEGRATION, api_id, integration_id)
        self.changed(api_id)
        return {}


def check_subtype(record: Record) -> None:
    """An AWS service integration's subtype, payload version and request parameters."""
    subtype = record["IntegrationSubtype"]
    found = SUBTYPES.get(subtype)
    if found is None:
        if subtype.startswith("StepFunctions-"):
            raise BadRequestException(f"Invalid IntegrationSubtype {subtype}")
        raise GatewayUnsupported(f"AWS service integrations of subtype {subtype}")
    _, required, optional = found
    if record.get("PayloadFormatVersion") != "1.0":
        raise BadRequestException("PayloadFormatVersion must be 1.0 for AWS service integrations")
    mapping = record.get("RequestParameters") or {}
    for name in required:
        if not mapping.get(name):
            raise BadRequestException(
                f"Missing required request parameter {name} for integration subtype {subtype}"
            )
    for name, value in mapping.items():
        if name not in required and name not in optional:
            raise BadRequestException(
                f"Invalid request parameter {name} for integration subtype {subtype}"
            )
        if not check_mapping(value):
            raise BadRequestException(f"Invalid mapping expression specified: {value}")
