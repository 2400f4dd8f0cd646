"""Authorizers for HTTP APIs: JWT and Lambda (REQUEST), control plane and serving.

A JWT authorizer validates the token in its identity source against the issuer's keys
(jwt_tokens.py) and passes the claims on as `requestContext.authorizer.jwt`. A Lambda
authorizer gets the 2.0 or 1.0 authorizer event and answers `{"isAuthorized": ...}`
(2.0 with `EnableSimpleResponses`) or an IAM policy evaluated against the `routeArn`;
its answer is cached per identity-source values for `AuthorizerResultTtlInSeconds`.

Answers as HTTP APIs give them: 401 `{"message":"Unauthorized"}` for a missing identity
or an invalid token (with a `www-authenticate` header saying why, for JWT), 403
`{"message":"Forbidden"}` for a refusal or missing scopes, 500 `{"message":"Internal
Server Error"}` when a Lambda authorizer fails or answers something else.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stratus.gateway.authorizers import (
    AUTHORIZER_TIMEOUT,
    AuthorizerCache,
    Verdict,
    evaluate_policy,
    policy_verdict,
)
from stratus.gateway.context import context_variables
from stratus.gateway.errors import BadRequestException, GatewayUnsupported, NotFoundException
from stratus.gateway.events import RouteInfo, event_v1, event_v2
from stratus.gateway.http_apis import HttpApis
from stratus.gateway.http_records import HTTP_AUTHORIZER, ROUTE, _listing
from stratus.gateway.integrations import Backends, IntegrationFailure, IntegrationTimeout
from stratus.gateway.jwt_tokens import InsufficientScope, InvalidToken, claims_as_text, validate
from stratus.gateway.parameters import evaluate
from stratus.gateway.records import GatewayStore, Record, new_id
from stratus.gateway.requests import GatewayRequest
from stratus.gateway.responses import GatewayResponse, error_response
from stratus.gateway.targets import FunctionTarget, function_target
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

UNAUTHORIZED = error_response(401, "Unauthorized")
FORBIDDEN = error_response(403, "Forbidden")
FAILED = error_response(500, "Internal Server Error")

_UPDATABLE = (
    "Name",
    "IdentitySource",
    "JwtConfiguration",
    "AuthorizerUri",
    "AuthorizerPayloadFormatVersion",
    "EnableSimpleResponses",
    "AuthorizerResultTtlInSeconds",
    "AuthorizerCredentialsArn",
    "IdentityValidationExpression",
)
_SOURCE_PREFIXES = ("$request.header.", "$request.querystring.", "$context.", "$stageVariables.")


class HttpAuthorizers:
    """The `apigatewayv2` authorizer operations."""

    def __init__(self, store: GatewayStore, apis: HttpApis) -> None:
        self.store = store
        self.apis = apis

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "CreateAuthorizer": self.create,
            "GetAuthorizer": self.get,
            "GetAuthorizers": self.list,
            "UpdateAuthorizer": self.update,
            "DeleteAuthorizer": self.delete,
        }

    def authorizer(self, api_id: str, authorizer_id: str) -> Record:
        self.apis.api(api_id)
        found = self.store.get(HTTP_AUTHORIZER, api_id, authorizer_id)
        if found is None:
            raise NotFoundException(f"Invalid Authorizer identifier specified {authorizer_id}")
        return found

    def create(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.apis.api(api_id)
        record: Record = {
            "AuthorizerId": new_id(6),
            "AuthorizerType": params["AuthorizerType"],
            "Name": params["Name"],
            "IdentitySource": list(params.get("IdentitySource") or []),
        }
        for member in _UPDATABLE:
            if member not in record and params.get(member) is not None:
                record[member] = params[member]
        check_authorizer(record)
        self.store.insert(HTTP_AUTHORIZER, api_id, record["AuthorizerId"], record)
        self.apis.changed(api_id)
        return record

    def get(self, params: Params, ctx: RequestContext) -> Result:
        return self.authorizer(params["ApiId"], params["AuthorizerId"])

    def list(self, params: Params, ctx: RequestContext) -> Result:
        self.apis.api(params["ApiId"])
        return _listing(self.store.list(HTTP_AUTHORIZER, params["ApiId"]), params)

    def update(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        record = self.authorizer(api_id, params["AuthorizerId"])
        if params.get("AuthorizerType") and params["AuthorizerType"] != record["AuthorizerType"]:
            raise BadRequestException("An authorizer's AuthorizerType cannot be changed")
        merged = {**record, **{m: params[m] for m in _UPDATABLE if m in params}}
        check_authorizer(merged)
        self.store.replace(HTTP_AUTHORIZER, api_id, record["AuthorizerId"], merged)
        self.apis.changed(api_id)
        return merged

    def delete(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        record = self.authorizer(api_id, params["AuthorizerId"])
        for route in self.store.list(ROUTE, api_id):
            if route.get("AuthorizerId") == record["AuthorizerId"]:
                raise BadRequestException(
                    f"Cannot delete authorizer '{record['Name']}', is referenced in route: "
                    f"{route['RouteKey']}"
                )
        self.store.delete(HTTP_AUTHORIZER, api_id, record["AuthorizerId"])
        self.apis.changed(api_id)
        return {}


def check_authorizer(record: Record) -> None:
    """AWS's rules for a JWT or REQUEST authorizer of an HTTP API."""
    kind = record["AuthorizerType"]
    sources = record.get("IdentitySource") or []
    for source in sources:
        if not source.startswith(_SOURCE_PREFIXES):
            raise BadRequestException(f"Invalid identity source specified: {source}")
    if record.get("IdentityValidationExpression"):
        raise BadRequestException("IdentityValidationExpression is supported only for WebSocket")
    if kind == "JWT":
        config = record.get("JwtConfiguration") or {}
        if not config.get("Issuer"):
            raise BadRequestException("JwtConfiguration.Issuer is required for JWT authorizers")
        if len(sources) != 1 or not sources[0].startswith("$request."):
            raise BadRequestException(
                "A JWT authorizer needs exactly one identity source, e.g. "
                "$request.header.Authorization"
            )
        if record.get("AuthorizerUri"):
            raise BadRequestException("AuthorizerUri is not supported for JWT authorizers")
        return
    if kind != "REQUEST":
        raise BadRequestException(f"Invalid authorizer type {kind}; use JWT or REQUEST")
    if record.get("AuthorizerCredentialsArn"):
        raise GatewayUnsupported("AuthorizerCredentialsArn (authorizers run with no role)")
    function_target(record.get("AuthorizerUri") or "")
    version = record.get("AuthorizerPayloadFormatVersion")
    if version not in ("1.0", "2.0"):
        raise BadRequestException(
            "AuthorizerPayloadFormatVersion is required for REQUEST authorizers: 1.0 or 2.0"
        )
    if record.get("EnableSimpleResponses") and version != "2.0":
        raise BadRequestException("Simple responses are supported only for payload format 2.0")
    ttl = record.setdefault("AuthorizerResultTtlInSeconds", 0)
    if not 0 <= ttl <= 3600:
        raise BadRequestException("AuthorizerResultTtlInSeconds must be between 0 and 3600")
    if ttl > 0 and not sources:
        raise BadRequestException("Identity source is required when caching is enabled")


# --- serving --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServedHttpAuthorizer:
    """An authorizer as a deployment serves it."""

    authorizer_id: str
    kind: str
    sources: tuple[str, ...]
    issuer: str = ""
    audiences: tuple[str, ...] = ()
    function: FunctionTarget | None = None
    payload_version: str = "2.0"
    simple: bool = False
    ttl: float = 0.0


def compile_http_authorizer(record: Record) -> ServedHttpAuthorizer:
    sources = tuple(record.get("IdentitySource") or ())
    if record["AuthorizerType"] == "JWT":
        config = record.get("JwtConfiguration") or {}
        return ServedHttpAuthorizer(
            record["AuthorizerId"],
            "JWT",
            sources,
            issuer=config["Issuer"],
            audiences=tuple(config.get("Audience") or ()),
        )
    return ServedHttpAuthorizer(
        record["AuthorizerId"],
        "REQUEST",
        sources,
        function=function_target(record["AuthorizerUri"]),
        payload_version=record["AuthorizerPayloadFormatVersion"],
        simple=bool(record.get("EnableSimpleResponses")),
        ttl=float(record.get("AuthorizerResultTtlInSeconds") or 0),
    )


async def authorize_http(
    authorizer: ServedHttpAuthorizer,
    scopes: tuple[str, ...],
    request: GatewayRequest,
    info: RouteInfo,
    route_arn: str,
    backends: Backends,
    cache: AuthorizerCache,
) -> tuple[GatewayResponse | None, dict[str, Any] | None]:
    """(a refusal, or None) and the `requestContext.authorizer` (2.0 form) to pass on."""
    context = context_variables(request, route_key=info.route_key, account_id=info.account_id)
    values = tuple(
        evaluate(source, request, info.path_params, info.stage_variables, context)
        for source in authorizer.sources
    )
    if any(not value for value in values):
        return UNAUTHORIZED, None
    if authorizer.kind == "JWT":
        return await _jwt(authorizer, scopes, values[0], backends)
    key = (authorizer.authorizer_id, values)
    verdict = cache.get(key) if authorizer.ttl > 0 else None
    if verdict is None:
        verdict = await _ask(authorizer, request, info, route_arn, values, backends)
        if verdict is None:
            return FAILED, None
        if authorizer.ttl > 0:
            cache.put(key, verdict)
    if evaluate_policy(verdict, route_arn) != "Allow":
        return FORBIDDEN, None
    passed = dict(verdict.context)
    if authorizer.payload_version == "2.0":
        passed.pop("principalId", None)
    return None, {"lambda": passed}


async def _jwt(
    authorizer: ServedHttpAuthorizer, scopes: tuple[str, ...], token: str, backends: Backends
) -> tuple[GatewayResponse | None, dict[str, Any] | None]:
    try:
        valid = await validate(
            token, authorizer.issuer, authorizer.audiences, scopes, backends.key_sets
        )
    except InvalidToken as error:
        return _challenge(UNAUTHORIZED, scopes, "invalid_token", str(error)), None
    except InsufficientScope as error:
        return _challenge(FORBIDDEN, scopes, "insufficient_scope", str(error)), None
    return None, {
        "jwt": {"claims": claims_as_text(valid.claims), "scopes": list(valid.scopes) or None}
    }


def _challenge(
    refusal: GatewayResponse, scopes: tuple[str, ...], error: str, description: str
) -> GatewayResponse:
    header = f'Bearer scope="{" ".join(scopes)}" error="{error}" error_description="{description}"'
    return GatewayResponse(
        refusal.status, [*refusal.headers, ("www-authenticate", header)], refusal.body
    )


async def _ask(
    authorizer: ServedHttpAuthorizer,
    request: GatewayRequest,
    info: RouteInfo,
    route_arn: str,
    values: tuple[str, ...],
    backends: Backends,
) -> Verdict | None:
    """Invoke the authorizer function; its answer as a verdict, None if it failed."""
    if authorizer.payload_version == "2.0":
        event = event_v2(request, info)
        event.update(type="REQUEST", routeArn=route_arn, identitySource=list(values) or None)
    else:
        event = event_v1(request, info)
        joined = ",".join(values)
        event.update(
            type="REQUEST", methodArn=route_arn, identitySource=joined, authorizationToken=joined
        )
    event.pop("body", None)
    event.pop("isBase64Encoded", None)
    assert authorizer.function is not None
    try:
        result = await backends.invoke(
            authorizer.function, json.dumps(event).encode(), AUTHORIZER_TIMEOUT
        )
    except (IntegrationTimeout, IntegrationFailure):
        return None
    if result.function_error:
        return None
    if not authorizer.simple:
        return policy_verdict(result.payload, authorizer.ttl)
    try:
        answer = json.loads(result.payload)
    except ValueError:
        return None
    if not isinstance(answer, dict) or not isinstance(answer.get("isAuthorized"), bool):
        return None
    context = answer.get("context") or {}
    if not isinstance(context, dict):
        return None
    effect = "Allow" if answer["isAuthorized"] else "Deny"
    return Verdict(
        time.monotonic() + authorizer.ttl,
        ((effect, ("execute-api:Invoke",), ("*",)),),
        dict(context),
    )
