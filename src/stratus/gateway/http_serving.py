"""Serving an HTTP API stage: routes, CORS, throttling, Lambda and HTTP proxies.

Errors are answered as HTTP APIs answer them: 404 `{"message":"Not Found"}` for no
route, 500 `{"message":"Internal Server Error"}` when the function fails or returns a
malformed response (HTTP APIs answer 500 where REST APIs answer 502), 503
`{"message":"Service Unavailable"}` when the integration times out, 429
`{"message":"Too Many Requests"}` when a throttle says no.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

from stratus.gateway.access_logs import AccessLog, compile_access_log
from stratus.gateway.authorizers import AuthorizerCache
from stratus.gateway.context import authorizer_variables, context_variables
from stratus.gateway.events import RouteInfo, event_v1, event_v2
from stratus.gateway.http_authorizers import (
    ServedHttpAuthorizer,
    authorize_http,
    compile_http_authorizer,
)
from stratus.gateway.iam_auth import HTTP_FORBIDDEN, IamAuthorizer
from stratus.gateway.integrations import (
    Backends,
    Integration,
    IntegrationFailure,
    IntegrationTimeout,
)
from stratus.gateway.parameters import map_parameters
from stratus.gateway.requests import GatewayRequest
from stratus.gateway.responses import (
    GatewayResponse,
    MalformedResponse,
    error_response,
    from_lambda_v1,
    from_lambda_v2,
)
from stratus.gateway.routes import PathTemplate, RouteTable, parse_template
from stratus.gateway.targets import function_target
from stratus.gateway.throttle import Bucket, bucket_for
from stratus.gateway.workflows import CONTENT_TYPE, SUBTYPES, request_from_parameters

log = logging.getLogger(__name__)

NOT_FOUND = error_response(404, "Not Found")
INTERNAL = error_response(500, "Internal Server Error")
UNAVAILABLE = error_response(503, "Service Unavailable")
THROTTLED = error_response(429, "Too Many Requests")


@dataclass(frozen=True)
class ServedRoute:
    """One route of a deployment."""

    route_key: str
    template: PathTemplate | None
    integration: Integration | None
    bucket: Bucket | None
    authorizer: ServedHttpAuthorizer | None = None
    scopes: tuple[str, ...] = ()
    #: AuthorizationType AWS_IAM: the request must carry a valid SigV4 signature.
    iam: bool = False


@dataclass(frozen=True)
class Cors:
    """An HTTP API's CorsConfiguration."""

    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    expose: tuple[str, ...]
    max_age: int | None
    credentials: bool

    def allow_origin(self, origin: str) -> str | None:
        if "*" in self.origins:
            return "*" if not self.credentials else origin
        return origin if origin in self.origins else None

    def response_headers(self, origin: str) -> list[tuple[str, str]]:
        allowed = self.allow_origin(origin)
        if allowed is None:
            return []
        out = [("access-control-allow-origin", allowed)]
        if self.credentials:
            out.append(("access-control-allow-credentials", "true"))
        if self.expose:
            out.append(("access-control-expose-headers", ",".join(self.expose)))
        return out

    def preflight(self, origin: str, method: str, asked_headers: str) -> GatewayResponse:
        headers = self.response_headers(origin)
        if headers and (method in self.methods or "*" in self.methods):
            headers.append(("access-control-allow-methods", ",".join(self.methods)))
            if self.headers:
                allowed = asked_headers if "*" in self.headers else ",".join(self.headers)
                if allowed:
                    headers.append(("access-control-allow-headers", allowed))
            if self.max_age is not None:
                headers.append(("access-control-max-age", str(self.max_age)))
        else:
            headers = []
        return GatewayResponse(204, headers, b"")


@dataclass(frozen=True)
class HttpStage:
    """A stage of an HTTP API, compiled from its deployment's snapshot."""

    name: str
    deployment_id: str
    variables: dict[str, str]
    table: RouteTable[ServedRoute]
    default_route: ServedRoute | None
    cors: Cors | None
    bucket: Bucket | None
    access_log: AccessLog | None = None


def compile_http_stage(
    stage: dict[str, Any], snapshot: dict[str, Any], deployment_id: str
) -> HttpStage:
    """Build the served form of a stage from its record and its deployment's snapshot."""
    integrations = {
        key: _integration(record) for key, record in snapshot.get("integrations", {}).items()
    }
    authorizers = {
        record["AuthorizerId"]: compile_http_authorizer(record)
        for record in snapshot.get("authorizers") or []
    }
    defaults = stage.get("DefaultRouteSettings") or {}
    route_settings = stage.get("RouteSettings") or {}
    routes: list[tuple[str, PathTemplate, ServedRoute]] = []
    default_route: ServedRoute | None = None
    for record in snapshot.get("routes", []):
        key = record["RouteKey"]
        target = record.get("Target") or ""
        integration = integrations.get(target.partition("/")[2]) if target else None
        settings = route_settings.get(key) or {}
        bucket = bucket_for(
            settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")
        )
        auth = (
            authorizers.get(record.get("AuthorizerId") or "")
            if record.get("AuthorizationType") in ("JWT", "CUSTOM")
            else None
        )
        scopes = tuple(record.get("AuthorizationScopes") or ())
        iam = record.get("AuthorizationType") == "AWS_IAM"
        if key == "$default":
            default_route = ServedRoute(key, None, integration, bucket, auth, scopes, iam)
            continue
        method, _, path = key.partition(" ")
        template = parse_template(path)
        served = ServedRoute(key, template, integration, bucket, auth, scopes, iam)
        routes.append((method, template, served))
    return HttpStage(
        name=stage["StageName"],
        deployment_id=deployment_id,
        variables=dict(stage.get("StageVariables") or {}),
        table=RouteTable.build(routes),
        default_route=default_route,
        cors=_cors(snapshot.get("cors")),
        bucket=bucket_for(
            defaults.get("ThrottlingRateLimit"), defaults.get("ThrottlingBurstLimit")
        ),
        access_log=compile_access_log(stage.get("AccessLogSettings"), upper=True),
    )


def _integration(record: dict[str, Any]) -> Integration:
    kind = record["IntegrationType"]
    subtype = record.get("IntegrationSubtype")
    return Integration(
        kind=kind,
        uri=record.get("IntegrationUri", ""),
        method=record.get("IntegrationMethod", "POST"),
        payload_version=record.get("PayloadFormatVersion", "1.0"),
        timeout=record.get("TimeoutInMillis", 30000) / 1000,
        function=function_target(record["IntegrationUri"])
        if kind == "AWS_PROXY" and not subtype
        else None,
        action=SUBTYPES[subtype][0] if subtype else "",
        request_parameters=dict(record.get("RequestParameters") or {}) if subtype else {},
    )


def _cors(config: dict[str, Any] | None) -> Cors | None:
    if not config:
        return None
    return Cors(
        origins=tuple(config.get("AllowOrigins") or ()),
        methods=tuple(m.upper() for m in config.get("AllowMethods") or ()),
        headers=tuple(h.lower() for h in config.get("AllowHeaders") or ()),
        expose=tuple(config.get("ExposeHeaders") or ()),
        max_age=config.get("MaxAge"),
        credentials=bool(config.get("AllowCredentials")),
    )


async def serve_http(
    stage: HttpStage,
    request: GatewayRequest,
    backends: Backends,
    account_id: str,
    cache: AuthorizerCache | None = None,
    iam: IamAuthorizer | None = None,
) -> GatewayResponse:
    """Answer one request to an HTTP API stage."""
    cors = stage.cors
    origin = request.header("origin") if cors is not None else None
    if cors is not None and origin and request.method == "OPTIONS":
        asked = request.header("access-control-request-method")
        if asked:
            return cors.preflight(
                origin, asked.upper(), request.header("access-control-request-headers") or ""
            )
    response = await _route(stage, request, backends, account_id, cache or AuthorizerCache(), iam)
    if cors is not None and origin:
        extra = cors.response_headers(origin)
        if extra:
            kept = [
                (k, v) for k, v in response.headers if not k.lower().startswith("access-control-")
            ]
            response = GatewayResponse(response.status, kept + extra, response.body)
    return response


async def _route(
    stage: HttpStage,
    request: GatewayRequest,
    backends: Backends,
    account_id: str,
    cache: AuthorizerCache,
    iam: IamAuthorizer | None,
) -> GatewayResponse:
    found = stage.table.match(request.method, request.path)
    if found is not None:
        route = found.target
        params = found.params
    elif stage.default_route is not None:
        route = stage.default_route
        params = {}
    else:
        return NOT_FOUND
    info = RouteInfo(
        route_key=route.route_key,
        resource_path=route.template.text if route.template else "$default",
        path_params=params,
        stage_variables=stage.variables,
        account_id=account_id,
    )
    if stage.access_log is not None:
        request.log_context.update(routeKey=route.route_key, resourcePath=info.resource_path)
    if route.iam and (iam is None or await iam.admit(request) is not None):
        return HTTP_FORBIDDEN
    if route.authorizer is not None:
        route_arn = (
            f"arn:aws:execute-api:{backends.invoker.region}:{account_id}:"
            f"{request.api_id}/{stage.name}/{request.method}{request.path}"
        )
        refused, passed = await authorize_http(
            route.authorizer, route.scopes, request, info, route_arn, backends, cache
        )
        if refused is not None:
            return refused
        info = replace(info, authorizer=passed)
        request.log_context.update(authorizer_variables(passed))
    if stage.bucket is not None and not stage.bucket.take():
        return THROTTLED
    if route.bucket is not None and not route.bucket.take():
        return THROTTLED
    integration = route.integration
    if integration is None:
        return NOT_FOUND
    if integration.kind == "HTTP_PROXY":
        try:
            return await backends.proxy(integration, request, params)
        except IntegrationTimeout:
            return UNAVAILABLE
        except IntegrationFailure as error:
            log.info("HTTP integration of %s failed: %s", route.route_key, error)
            return INTERNAL
    if integration.action:
        return await _states(stage, route, request, info, backends)
    assert integration.function is not None
    v2 = integration.payload_version == "2.0"
    event = event_v2(request, info) if v2 else event_v1(request, info)
    try:
        result = await backends.invoke(
            integration.function, json.dumps(event).encode(), integration.timeout
        )
    except IntegrationTimeout:
        return UNAVAILABLE
    except IntegrationFailure as error:
        log.info("Lambda integration of %s failed: %s", route.route_key, error)
        return INTERNAL
    if result.function_error:
        return INTERNAL
    try:
        return from_lambda_v2(result.payload) if v2 else from_lambda_v1(result.payload)
    except MalformedResponse as error:
        log.info("malformed Lambda proxy response on %s: %s", route.route_key, error)
        return INTERNAL


async def _states(
    stage: HttpStage,
    route: ServedRoute,
    request: GatewayRequest,
    info: RouteInfo,
    backends: Backends,
) -> GatewayResponse:
    """A Step Functions subtype: map the parameters, pass Step Functions' answer through."""
    integration = route.integration
    assert integration is not None
    context = context_variables(
        request,
        route_key=route.route_key,
        resource_path=info.resource_path,
        account_id=info.account_id,
        authorizer=info.authorizer,
    )
    values = map_parameters(
        integration.request_parameters, request, info.path_params, stage.variables, context
    )
    try:
        answer = await backends.call_states(
            integration.action,
            request_from_parameters(integration.action, values),
            integration.timeout,
        )
    except IntegrationTimeout:
        return UNAVAILABLE
    except IntegrationFailure as error:
        log.info("Step Functions integration of %s failed: %s", route.route_key, error)
        return INTERNAL
    return GatewayResponse(answer.status, [("content-type", CONTENT_TYPE)], answer.body)
