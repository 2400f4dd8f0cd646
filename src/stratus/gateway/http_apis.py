"""The `apigatewayv2` control plane for HTTP APIs: APIs, routes and integrations.

Stages and deployments are in `http_stages.py`; both write through `GatewayStore` and
tell the data plane (`Registry.invalidate`) which API changed; integrations are in
`http_integrations.py` and authorizers in `http_authorizers.py`. WebSocket APIs, IAM
authorization, models and domain names are not implemented: their operations answer 501
by name, and a route asking for IAM authorization is refused rather than served open.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from stratus.gateway.errors import (
    BadRequestException,
    ConflictException,
    GatewayUnsupported,
    NotFoundException,
)
from stratus.gateway.http_integrations import HttpIntegrations
from stratus.gateway.http_records import (
    HTTP_API,
    HTTP_AUTHORIZER,
    INTEGRATION,
    ROUTE,
    _int,
    _listing,
)
from stratus.gateway.paging import page
from stratus.gateway.records import GatewayStore, Record, new_id
from stratus.gateway.routes import parse_template
from stratus.gateway.urls import host_base
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

ROUTE_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})

_API_UPDATABLE = (
    "Name",
    "Description",
    "CorsConfiguration",
    "DisableExecuteApiEndpoint",
    "DisableSchemaValidation",
    "RouteSelectionExpression",
    "ApiKeySelectionExpression",
    "Version",
)
_ROUTE_UPDATABLE = (
    "RouteKey",
    "Target",
    "OperationName",
    "RequestParameters",
    "ApiKeyRequired",
    "AuthorizationType",
    "AuthorizerId",
    "AuthorizationScopes",
)


class HttpApis(HttpIntegrations):
    """APIs, routes and integrations of HTTP APIs."""

    def __init__(
        self,
        store: GatewayStore,
        endpoint_url: Callable[[], str],
        changed: Callable[[str], None],
    ) -> None:
        self.store = store
        self.endpoint_url = endpoint_url
        #: Called with an API id after a change that an auto-deploy stage must pick up.
        self.changed = changed

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "CreateApi": self.create_api,
            "GetApi": self.get_api,
            "GetApis": self.get_apis,
            "UpdateApi": self.update_api,
            "DeleteApi": self.delete_api,
            "CreateRoute": self.create_route,
            "GetRoute": self.get_route,
            "GetRoutes": self.get_routes,
            "UpdateRoute": self.update_route,
            "DeleteRoute": self.delete_route,
            "CreateIntegration": self.create_integration,
            "GetIntegration": self.get_integration,
            "GetIntegrations": self.get_integrations,
            "UpdateIntegration": self.update_integration,
            "DeleteIntegration": self.delete_integration,
        }

    # --- APIs ------------------------------------------------------------------------

    def api(self, api_id: str) -> Record:
        found = self.store.get(HTTP_API, api_id, "")
        if found is None:
            raise NotFoundException(f"Invalid API identifier specified {api_id}")
        return found

    def _api_out(self, record: Record) -> Record:
        return {**record, "ApiEndpoint": host_base(self.endpoint_url(), record["ApiId"])}

    def create_api(self, params: Params, ctx: RequestContext) -> Result:
        protocol = params["ProtocolType"]
        if protocol != "HTTP":
            raise GatewayUnsupported(f"{protocol} APIs (only HTTP APIs are served)")
        for member in ("CredentialsArn",):
            if params.get(member):
                raise GatewayUnsupported(f"CreateApi's {member}")
        api_id = new_id()
        record: Record = {
            "ApiId": api_id,
            "Name": params["Name"],
            "ProtocolType": "HTTP",
            "RouteSelectionExpression": params.get("RouteSelectionExpression")
            or "$request.method $request.path",
            "ApiKeySelectionExpression": params.get("ApiKeySelectionExpression")
            or "$request.header.x-api-key",
            "CreatedDate": time.time(),
            "DisableExecuteApiEndpoint": bool(params.get("DisableExecuteApiEndpoint", False)),
            "DisableSchemaValidation": bool(params.get("DisableSchemaValidation", False)),
            "Tags": params.get("Tags") or {},
        }
        for member in ("Description", "Version", "CorsConfiguration", "IpAddressType"):
            if params.get(member) is not None:
                record[member] = params[member]
        self.store.insert(HTTP_API, api_id, "", record)
        if params.get("Target"):
            self._quick_create(api_id, params["Target"], params.get("RouteKey") or "$default")
        return self._api_out(record)

    def _quick_create(self, api_id: str, target: str, route_key: str) -> None:
        """CreateApi's "quick create": an integration, a route and an auto-deploy stage."""
        kind = "HTTP_PROXY" if target.startswith(("http://", "https://")) else "AWS_PROXY"
        integration = self._new_integration(
            api_id,
            {
                "IntegrationType": kind,
                "IntegrationUri": target,
                "PayloadFormatVersion": "2.0" if kind == "AWS_PROXY" else "1.0",
                "IntegrationMethod": "ANY" if kind == "HTTP_PROXY" else None,
            },
        )
        self._new_route(
            api_id,
            {"RouteKey": route_key, "Target": f"integrations/{integration['IntegrationId']}"},
        )
        stage: Record = {
            "StageName": "$default",
            "AutoDeploy": True,
            "CreatedDate": time.time(),
            "LastUpdatedDate": time.time(),
            "DefaultRouteSettings": {"DetailedMetricsEnabled": False},
            "RouteSettings": {},
            "StageVariables": {},
            "Tags": {},
            "ApiGatewayManaged": True,
        }
        self.store.insert("stage", api_id, "$default", stage)
        self.changed(api_id)

    def get_api(self, params: Params, ctx: RequestContext) -> Result:
        return self._api_out(self.api(params["ApiId"]))

    def get_apis(self, params: Params, ctx: RequestContext) -> Result:
        items, token = page(
            self.store.list(HTTP_API), params.get("NextToken"), _int(params.get("MaxResults"))
        )
        out: dict[str, Any] = {"Items": [self._api_out(item) for item in items]}
        if token:
            out["NextToken"] = token
        return out

    def update_api(self, params: Params, ctx: RequestContext) -> Result:
        record = self.api(params["ApiId"])
        for member in _API_UPDATABLE:
            if member in params:
                record[member] = params[member]
        if params.get("Target") or params.get("RouteKey") or params.get("CredentialsArn"):
            raise GatewayUnsupported("quick-create members (Target, RouteKey) in UpdateApi")
        self.store.replace(HTTP_API, record["ApiId"], "", record)
        self.changed(record["ApiId"])
        return self._api_out(record)

    def delete_api(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.api(api_id)
        self.store.delete_api(api_id)
        self.changed(api_id)
        return {}

    # --- routes ----------------------------------------------------------------------

    def route(self, api_id: str, route_id: str) -> Record:
        found = self.store.get(ROUTE, api_id, route_id)
        if found is None:
            raise NotFoundException(f"Invalid Route identifier specified {route_id}")
        return found

    def create_route(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.api(api_id)
        record = self._new_route(api_id, params)
        self.changed(api_id)
        return record

    def _new_route(self, api_id: str, params: Params) -> Record:
        route_key = params["RouteKey"]
        check_route_key(route_key)
        self._check_auth(params)
        self._check_unique_key(api_id, route_key, None)
        record: Record = {
            "RouteId": new_id(7),
            "RouteKey": route_key,
            "ApiKeyRequired": False,
            "AuthorizationType": params.get("AuthorizationType") or "NONE",
        }
        for member in (
            "Target",
            "OperationName",
            "RequestParameters",
            "AuthorizerId",
            "AuthorizationScopes",
        ):
            if params.get(member) is not None:
                record[member] = params[member]
        check_route_auth(self.store, api_id, record)
        if "Target" in record:
            self._check_target(api_id, record["Target"])
        self.store.insert(ROUTE, api_id, record["RouteId"], record)
        return record

    def _check_auth(self, params: Params) -> None:
        if params.get("ApiKeyRequired"):
            raise BadRequestException("API keys are not supported for HTTP APIs")
        if params.get("RequestModels") or params.get("ModelSelectionExpression"):
            raise BadRequestException("Request models are not supported for HTTP APIs")

    def _check_unique_key(self, api_id: str, route_key: str, route_id: str | None) -> None:
        for other in self.store.list(ROUTE, api_id):
            if other["RouteKey"] == route_key and other["RouteId"] != route_id:
                raise ConflictException(f"Route with key {route_key} already exists for this API")

    def _check_target(self, api_id: str, target: str) -> None:
        prefix, _, integration_id = target.partition("/")
        if prefix != "integrations" or self.store.get(INTEGRATION, api_id, integration_id) is None:
            raise BadRequestException(f"Invalid integration specified for target: {target}")

    def get_route(self, params: Params, ctx: RequestContext) -> Result:
        self.api(params["ApiId"])
        return self.route(params["ApiId"], params["RouteId"])

    def get_routes(self, params: Params, ctx: RequestContext) -> Result:
        self.api(params["ApiId"])
        return _listing(self.store.list(ROUTE, params["ApiId"]), params)

    def update_route(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.api(api_id)
        record = self.route(api_id, params["RouteId"])
        self._check_auth(params)
        if "RouteKey" in params:
            check_route_key(params["RouteKey"])
            self._check_unique_key(api_id, params["RouteKey"], record["RouteId"])
        if params.get("Target"):
            self._check_target(api_id, params["Target"])
        for member in _ROUTE_UPDATABLE:
            if member in params:
                record[member] = params[member]
        if params.get("AuthorizationType") in ("NONE", "AWS_IAM"):
            record.pop("AuthorizerId", None)
            record.pop("AuthorizationScopes", None)
        check_route_auth(self.store, api_id, record)
        self.store.replace(ROUTE, api_id, record["RouteId"], record)
        self.changed(api_id)
        return record

    def delete_route(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.api(api_id)
        if not self.store.delete(ROUTE, api_id, params["RouteId"]):
            raise NotFoundException(f"Invalid Route identifier specified {params['RouteId']}")
        self.changed(api_id)
        return {}


def check_route_auth(store: GatewayStore, api_id: str, route: Record) -> None:
    """A route's AuthorizationType, AuthorizerId and AuthorizationScopes fit together."""
    kind = route.get("AuthorizationType") or "NONE"
    authorizer_id = route.get("AuthorizerId")
    if kind in ("NONE", "AWS_IAM"):
        if authorizer_id:
            raise BadRequestException("An AuthorizerId needs AuthorizationType JWT or CUSTOM")
        if route.get("AuthorizationScopes"):
            raise BadRequestException("AuthorizationScopes need a JWT authorizer")
        return
    if kind not in ("JWT", "CUSTOM"):
        raise BadRequestException(f"Invalid AuthorizationType {kind}")
    found = store.get(HTTP_AUTHORIZER, api_id, authorizer_id) if authorizer_id else None
    if found is None:
        raise BadRequestException(f"Invalid authorizer ID specified: {authorizer_id}")
    wanted = "JWT" if kind == "JWT" else "REQUEST"
    if found["AuthorizerType"] != wanted:
        raise BadRequestException(
            f"AuthorizationType {kind} needs a {wanted} authorizer; "
            f"{authorizer_id} is {found['AuthorizerType']}"
        )
    if kind == "CUSTOM" and route.get("AuthorizationScopes"):
        raise BadRequestException("AuthorizationScopes are supported only for JWT authorizers")


def check_route_key(route_key: str) -> None:
    """`$default`, or `METHOD /path` with a valid method and path template."""
    if route_key == "$default":
        return
    method, _, path = route_key.partition(" ")
    if method not in ROUTE_METHODS or not path:
        raise BadRequestException(f"Unable to create route {route_key}: invalid route key")
    try:
        parse_template(path)
    except ValueError as error:
        raise BadRequestException(f"Unable to create route {route_key}: {error}") from None
