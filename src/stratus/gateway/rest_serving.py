"""Serving a REST API stage: resources, methods, Lambda proxy, HTTP proxy, MOCK and AWS
(Step Functions) integrations.

Errors are answered as REST APIs answer them, with `x-amzn-ErrorType`: 403
`{"message":"Missing Authentication Token"}` when no resource and method match, 502
`{"message": "Internal server error"}` when the function fails or answers a malformed
proxy response, 504 `{"message": "Endpoint request timed out"}` on the integration
timeout, 429 `{"message":"Too Many Requests"}` from a throttle. The served form of a
stage and those answers are in `rest_served.py`; the mapping templates and integration
responses of MOCK and AWS integrations in `rest_mapping.py`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Any

import anyio.to_thread

from stratus.gateway.access_logs import compile_access_log
from stratus.gateway.authorizers import AuthorizerCache, authorize, compile_authorizer
from stratus.gateway.context import authorizer_variables
from stratus.gateway.events import RouteInfo, event_v1
from stratus.gateway.iam_auth import IamAuthorizer, rest_refusal
from stratus.gateway.integrations import (
    Backends,
    Integration,
    IntegrationFailure,
    IntegrationTimeout,
)
from stratus.gateway.requests import GatewayRequest
from stratus.gateway.responses import GatewayResponse, MalformedResponse, from_lambda_v1
from stratus.gateway.rest_mapping import _aws, _constant_mock, _mock
from stratus.gateway.rest_served import (
    BAD_GATEWAY,
    INTERNAL,
    MISSING_TOKEN,
    THROTTLED,
    TIMED_OUT,
    UNSUPPORTED_MEDIA_TYPE,
    RestStage,
    ServedMethod,
)
from stratus.gateway.rest_stages import snapshot_resources
from stratus.gateway.routes import RouteTable, parse_template
from stratus.gateway.stage_cache import StageCaches, cache_policy, through_cache
from stratus.gateway.targets import function_target
from stratus.gateway.throttle import bucket_for
from stratus.gateway.usage_meter import FORBIDDEN, Meter
from stratus.gateway.workflows import states_action

log = logging.getLogger(__name__)

_GATEWAY_ERRORS = (BAD_GATEWAY, INTERNAL, TIMED_OUT, UNSUPPORTED_MEDIA_TYPE)

_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


def compile_rest_stage(stage: dict[str, Any], deployment: dict[str, Any]) -> RestStage:
    """Build the served form of a stage."""
    variables = dict(stage.get("variables") or {})
    settings = stage.get("methodSettings") or {}
    authorizers = {
        record["id"]: compile_authorizer(record)
        for record in (deployment.get("_snapshot") or {}).get("authorizers") or []
    }
    everywhere = settings.get("*/*") or {}
    cached = bool(stage.get("cacheClusterEnabled"))
    routes = []
    for resource in snapshot_resources(deployment):
        template = parse_template(resource["path"])
        for verb, method in (resource.get("resourceMethods") or {}).items():
            key = resource["path"].replace("/", "~1") + "/" + verb
            own = settings.get(key) or {}
            integration = _integration(method["methodIntegration"], variables)
            routes.append(
                (
                    verb,
                    template,
                    ServedMethod(
                        resource_id=resource["id"],
                        resource_path=resource["path"],
                        http_method=verb,
                        integration=integration,
                        bucket=bucket_for(
                            own.get("throttlingRateLimit"), own.get("throttlingBurstLimit")
                        ),
                        api_key_required=bool(method.get("apiKeyRequired")),
                        authorizer=authorizers.get(method.get("authorizerId") or "")
                        if method.get("authorizationType") == "CUSTOM"
                        else None,
                        iam=method.get("authorizationType") == "AWS_IAM",
                        cache=cache_policy(
                            own,
                            everywhere,
                            method["methodIntegration"].get("cacheKeyParameters") or [],
                        )
                        if cached
                        else None,
                        mock_answer=_constant_mock(integration),
                    ),
                )
            )
    return RestStage(
        name=stage["stageName"],
        deployment_id=stage["deploymentId"],
        variables=variables,
        table=RouteTable.build(routes),
        bucket=bucket_for(
            everywhere.get("throttlingRateLimit"), everywhere.get("throttlingBurstLimit")
        ),
        access_log=compile_access_log(stage.get("accessLogSettings"), upper=False),
    )


def _integration(record: dict[str, Any], variables: dict[str, str]) -> Integration:
    kind = record["type"]
    uri = _STAGE_VARIABLE.sub(lambda m: variables.get(m.group(1), ""), record.get("uri", ""))
    function = None
    if kind == "AWS_PROXY":
        try:
            function = function_target(uri)
        except Exception:  # a stage variable naming no function: fails when called
            log.info("REST integration URI %s names no function", uri)
    return Integration(
        kind=kind,
        uri=uri,
        method=record.get("httpMethod", "POST"),
        payload_version="1.0",
        timeout=record.get("timeoutInMillis", 29000) / 1000,
        function=function,
        request_templates=dict(record.get("requestTemplates") or {}),
        responses=tuple((record.get("integrationResponses") or {}).values()),
        action=_action(uri) if kind == "AWS" else "",
        passthrough=record.get("passthroughBehavior") or "WHEN_NO_MATCH",
    )


async def serve_rest(
    stage: RestStage,
    request: GatewayRequest,
    backends: Backends,
    account_id: str,
    binary_types: tuple[str, ...] = (),
    meter: Meter | None = None,
    cache: AuthorizerCache | None = None,
    caches: StageCaches | None = None,
    iam: IamAuthorizer | None = None,
) -> GatewayResponse:
    """Answer one request to a REST API stage."""
    found = stage.table.match(request.method, request.path)
    if found is None:
        return MISSING_TOKEN
    method = found.target
    if stage.access_log is not None:
        request.log_context.update(resourcePath=method.resource_path, resourceId=method.resource_id)
    if method.iam:
        if iam is None:
            return MISSING_TOKEN  # nobody to check signatures: fail closed
        refusal = await iam.admit(request)
        if refusal is not None:
            return rest_refusal(refusal)
    # Built only for what reads it (an authorizer, a Lambda proxy event).
    info: RouteInfo | None = None
    if method.authorizer is not None:
        info = _route_info(stage, method, found.params, account_id)
        method_arn = (
            f"arn:aws:execute-api:{backends.invoker.region}:{account_id}:"
            f"{request.api_id}/{stage.name}/{request.method}{request.path}"
        )
        refused, passed = await authorize(
            method.authorizer, request, info, method_arn, backends, cache or AuthorizerCache()
        )
        if refused is not None:
            return refused
        info = replace(info, authorizer=passed)
        request.log_context.update(authorizer_variables(passed))
    if method.api_key_required:
        if meter is None:
            return FORBIDDEN
        if not meter.ready():
            await anyio.to_thread.run_sync(meter.load)
        refused = meter.admit(request.api_id, stage.name, request.header("x-api-key"))
        if refused is not None:
            return refused
    if stage.bucket is not None and not stage.bucket.take():
        return THROTTLED
    if method.bucket is not None and not method.bucket.take():
        return THROTTLED
    policy = method.cache
    if policy is None or caches is None or not policy.applies(request.method):
        return await _dispatch(
            stage, method, request, found.params, info, account_id, backends, binary_types
        )
    # The cache sits between the method request (authorized, metered, throttled) and
    # the integration, as on AWS.
    return await through_cache(
        policy,
        caches.stage(request.api_id, stage.name),
        policy.key(request, method.resource_path, found.params),
        request,
        lambda: _dispatch(
            stage, method, request, found.params, info, account_id, backends, binary_types
        ),
        _GATEWAY_ERRORS,
    )


def answer_directly(stage: RestStage, http_method: str, path: str) -> GatewayResponse | None:
    """The answer to a request whose answer depends on its method and path alone, worked
    out without building a `GatewayRequest`; None when `serve_rest` must answer.

    That is so on a stage without access logs (a log line reads the whole request) for
    a path that matches no method, or for a method with a constant MOCK answer that
    needs no authorization, API key or stage cache. Matching and throttling are as in
    `serve_rest`.
    """
    if stage.access_log is not None:
        return None
    found = stage.table.match(http_method, path)
    if found is None:
        return MISSING_TOKEN
    method = found.target
    if (
        method.mock_answer is None
        or method.iam
        or method.authorizer is not None
        or method.api_key_required
        or method.cache is not None
    ):
        return None
    if stage.bucket is not None and not stage.bucket.take():
        return THROTTLED
    if method.bucket is not None and not method.bucket.take():
        return THROTTLED
    return method.mock_answer


def _route_info(
    stage: RestStage, method: ServedMethod, params: dict[str, str], account_id: str
) -> RouteInfo:
    return RouteInfo(
        route_key="",
        resource_path=method.resource_path,
        path_params=params,
        stage_variables=stage.variables,
        account_id=account_id,
        resource_id=method.resource_id,
        deployment_id=stage.deployment_id,
        rest=True,
    )


async def _dispatch(
    stage: RestStage,
    method: ServedMethod,
    request: GatewayRequest,
    params: dict[str, str],
    info: RouteInfo | None,
    account_id: str,
    backends: Backends,
    binary_types: tuple[str, ...],
) -> GatewayResponse:
    """Call the method's integration and map its answer."""
    integration = method.integration
    if integration.kind == "MOCK":
        if method.mock_answer is not None:
            return method.mock_answer
        return _mock(stage, method, request, params)
    if integration.kind == "AWS":
        return await _aws(stage, method, request, params, backends)
    if integration.kind == "HTTP_PROXY":
        try:
            return await backends.proxy(integration, request, params)
        except IntegrationTimeout:
            return TIMED_OUT
        except IntegrationFailure as error:
            log.info("HTTP integration failed: %s", error)
            return INTERNAL
    if integration.function is None:
        return INTERNAL
    event = event_v1(request, info or _route_info(stage, method, params, account_id))
    if event["isBase64Encoded"] and not _is_binary(request.header("content-type"), binary_types):
        # REST APIs pass a body as text unless its type is one of the binary media types.
        event["body"] = request.body.decode("utf-8", "replace")
        event["isBase64Encoded"] = False
    try:
        result = await backends.invoke(
            integration.function, json.dumps(event).encode(), integration.timeout
        )
    except IntegrationTimeout:
        return TIMED_OUT
    except IntegrationFailure as error:
        log.info("Lambda integration failed: %s", error)
        return INTERNAL
    if result.function_error:
        return BAD_GATEWAY
    try:
        return from_lambda_v1(result.payload)
    except MalformedResponse as error:
        log.info("malformed Lambda proxy response: %s", error)
        return BAD_GATEWAY


def _action(uri: str) -> str:
    try:
        return states_action(uri) or ""
    except ValueError:  # a stage variable naming no action: fails when called
        log.info("REST integration URI %s names no Step Functions action", uri)
        return ""


def _is_binary(content_type: str | None, binary_types: tuple[str, ...]) -> bool:
    if not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    for pattern in binary_types:
        pattern = pattern.lower()
        if pattern == "*/*" or pattern == kind:
            return True
        if pattern.endswith("/*") and kind.startswith(pattern[:-1]):
            return True
    return False
