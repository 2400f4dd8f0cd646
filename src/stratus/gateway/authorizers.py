"""Lambda authorizers for REST APIs (TOKEN and REQUEST), with result caching.

Control plane: `CreateAuthorizer` ... `DeleteAuthorizer`. Data plane: before a method
with `authorizationType: CUSTOM` runs, its authorizer function gets AWS's TOKEN or
REQUEST event with the `methodArn` of the call, and answers a principal and an IAM
policy. The policy is evaluated against the `methodArn` (a matching Deny wins, then a
matching Allow admits); the result is cached per identity for
`authorizerResultTtlInSeconds` (default 300, 0 disables), and the principal and context
reach the integration as `requestContext.authorizer`.

Answers as AWS gives them: 401 `{"message":"Unauthorized"}` for a missing identity, a
failed validation expression or an authorizer raising "Unauthorized"; 403 `{"Message":
"User is not authorized to access this resource with an explicit deny"}` for a Deny, 403
`{"Message":"User is not authorized to access this resource"}` when nothing allows; 500
`{"message": null}` (AuthorizerConfigurationException) when the authorizer fails or
answers something that is not a policy. Cognito user pool authorizers and
`authorizerCredentials` are not implemented and are refused when configured.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stratus.gateway.errors import BadRequestException, GatewayUnsupported, NotFoundException
from stratus.gateway.events import RouteInfo, event_v1
from stratus.gateway.integrations import Backends, IntegrationFailure, IntegrationTimeout
from stratus.gateway.paging import rest_listing
from stratus.gateway.patch import apply_patch, as_int, as_text
from stratus.gateway.records import GatewayStore, Record, new_id
from stratus.gateway.requests import GatewayRequest
from stratus.gateway.responses import GatewayResponse, error_response
from stratus.gateway.rest_apis import AUTHORIZER
from stratus.gateway.targets import FunctionTarget, function_target
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

UNAUTHORIZED = error_response(401, "Unauthorized", "UnauthorizedException")
EXPLICIT_DENY = GatewayResponse(
    403,
    [("content-type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException")],
    b'{"Message":"User is not authorized to access this resource with an explicit deny"}',
)
NOT_ALLOWED = GatewayResponse(
    403,
    [("content-type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException")],
    b'{"Message":"User is not authorized to access this resource"}',
)
MISCONFIGURED = GatewayResponse(
    500,
    [
        ("content-type", "application/json"),
        ("x-amzn-ErrorType", "AuthorizerConfigurationException"),
    ],
    b'{"message": null}',
)
#: How long an authorizer may take (API Gateway's fixed limit).
AUTHORIZER_TIMEOUT = 10.0


class Authorizers:
    """The REST API authorizer operations."""

    def __init__(self, store: GatewayStore, api: Callable[[str], Record]) -> None:
        self.store = store
        self.api = api

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "CreateAuthorizer": self.create,
            "GetAuthorizer": self.get,
            "GetAuthorizers": self.list,
            "UpdateAuthorizer": self.update,
            "DeleteAuthorizer": self.delete,
        }

    def authorizer(self, api_id: str, authorizer_id: str) -> Record:
        self.api(api_id)
        found = self.store.get(AUTHORIZER, api_id, authorizer_id)
        if found is None:
            raise NotFoundException("Invalid Authorizer identifier specified")
        return found

    def create(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        self.api(api_id)
        record: Record = {
            "id": new_id(6),
            "name": params["name"],
            "type": params["type"],
            "authType": params.get("authType") or "custom",
            "authorizerResultTtlInSeconds": params.get("authorizerResultTtlInSeconds", 300),
        }
        for member in ("authorizerUri", "identitySource", "identityValidationExpression"):
            if params.get(member):
                record[member] = params[member]
        if params.get("authorizerCredentials"):
            raise GatewayUnsupported("authorizerCredentials (authorizers run with no role)")
        if params.get("providerARNs"):
            raise GatewayUnsupported("Cognito user pool authorizers")
        _check(record)
        self.store.insert(AUTHORIZER, api_id, record["id"], record)
        return record

    def get(self, params: Params, ctx: RequestContext) -> Result:
        return self.authorizer(params["restApiId"], params["authorizerId"])

    def list(self, params: Params, ctx: RequestContext) -> Result:
        self.api(params["restApiId"])
        return rest_listing(self.store.list(AUTHORIZER, params["restApiId"]), params)

    def update(self, params: Params, ctx: RequestContext) -> Result:
        record = self.authorizer(params["restApiId"], params["authorizerId"])
        updated = apply_patch(
            record,
            params.get("patchOperations") or [],
            {
                "name": as_text,
                "authorizerUri": as_text,
                "identitySource": as_text,
                "identityValidationExpression": as_text,
                "authorizerResultTtlInSeconds": as_int,
                "type": as_text,
            },
        )
        _check(updated)
        self.store.replace(AUTHORIZER, params["restApiId"], record["id"], updated)
        return updated

    def delete(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        record = self.authorizer(api_id, params["authorizerId"])
        self.store.delete(AUTHORIZER, api_id, record["id"])
        return {}


def _check(record: Record) -> None:
    kind = record["type"]
    if kind == "COGNITO_USER_POOLS":
        raise GatewayUnsupported("Cognito user pool authorizers")
    if kind not in ("TOKEN", "REQUEST"):
        raise BadRequestException(f"Invalid authorizer type: {kind}")
    function_target(record.get("authorizerUri") or "")
    ttl = record["authorizerResultTtlInSeconds"]
    if not 0 <= ttl <= 3600:
        raise BadRequestException("authorizerResultTtlInSeconds must be between 0 and 3600")
    if kind == "TOKEN" and not (record.get("identitySource") or "").startswith(
        "method.request.header."
    ):
        raise BadRequestException(
            "A TOKEN authorizer's identitySource must be method.request.header.<name>"
        )
    if kind == "REQUEST" and ttl > 0 and not record.get("identitySource"):
        raise BadRequestException("identitySource is required when caching is enabled")


# --- serving --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServedAuthorizer:
    """An authorizer as a deployment serves it."""

    authorizer_id: str
    kind: str
    function: FunctionTarget
    sources: tuple[str, ...]
    validation: re.Pattern[str] | None
    ttl: float


def compile_authorizer(record: Record) -> ServedAuthorizer:
    expression = record.get("identityValidationExpression")
    return ServedAuthorizer(
        authorizer_id=record["id"],
        kind=record["type"],
        function=function_target(record["authorizerUri"]),
        sources=tuple(
            s.strip() for s in (record.get("identitySource") or "").split(",") if s.strip()
        ),
        validation=re.compile(expression) if expression else None,
        ttl=float(record.get("authorizerResultTtlInSeconds", 300)),
    )


@dataclass(frozen=True)
class Verdict:
    """A cached authorizer answer."""

    expires: float
    statements: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
    context: dict[str, Any]


class AuthorizerCache:
    """Authorizer results by (authorizer, identity values), until their TTL."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, tuple[str, ...]], Verdict] = {}

    def get(self, key: tuple[str, tuple[str, ...]]) -> Verdict | None:
        found = self._entries.get(key)
        if found is not None and found.expires < time.monotonic():
            del self._entries[key]
            return None
        return found

    def put(self, key: tuple[str, tuple[str, ...]], verdict: Verdict) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = verdict


async def authorize(
    authorizer: ServedAuthorizer,
    request: GatewayRequest,
    info: RouteInfo,
    method_arn: str,
    backends: Backends,
    cache: AuthorizerCache,
) -> tuple[GatewayResponse | None, dict[str, Any] | None]:
    """(a refusal, or None) and the `requestContext.authorizer` to pass on."""
    values = _identity(authorizer, request, info)
    if values is None:
        return UNAUTHORIZED, None
    key = (authorizer.authorizer_id, values)
    verdict = cache.get(key) if authorizer.ttl > 0 else None
    if verdict is None:
        if authorizer.kind == "TOKEN":
            event: dict[str, Any] = {
                "type": "TOKEN",
                "methodArn": method_arn,
                "authorizationToken": values[0],
            }
        else:
            event = {"type": "REQUEST", "methodArn": method_arn, **event_v1(request, info)}
        try:
            result = await backends.invoke(
                authorizer.function, json.dumps(event).encode(), AUTHORIZER_TIMEOUT
            )
        except (IntegrationTimeout, IntegrationFailure):
            return MISCONFIGURED, None
        if result.function_error:
            try:
                message = json.loads(result.payload).get("errorMessage")
            except (ValueError, AttributeError):
                message = None
            return (UNAUTHORIZED if message == "Unauthorized" else MISCONFIGURED), None
        parsed = _verdict(result.payload, authorizer.ttl)
        if parsed is None:
            return MISCONFIGURED, None
        verdict = parsed
        if authorizer.ttl > 0:
            cache.put(key, verdict)
    effect = evaluate_policy(verdict, method_arn)
    if effect == "Deny":
        return EXPLICIT_DENY, None
    if effect is None:
        return NOT_ALLOWED, None
    return None, dict(verdict.context)


def evaluate_policy(verdict: Verdict, arn: str) -> str | None:
    """ "Deny" if a statement denies `arn`, else "Allow" if one allows it, else None."""
    allowed = False
    for effect, actions, resources in verdict.statements:
        if not any(_matches(a, "execute-api:Invoke") for a in actions):
            continue
        if not any(_matches(r, arn) for r in resources):
            continue
        if effect == "Deny":
            return "Deny"
        allowed = True
    return "Allow" if allowed else None


def policy_verdict(payload: bytes, ttl: float) -> Verdict | None:
    """A Lambda authorizer's IAM policy answer, or None if it is not one."""
    return _verdict(payload, ttl)


def _identity(
    authorizer: ServedAuthorizer, request: GatewayRequest, info: RouteInfo
) -> tuple[str, ...] | None:
    values: list[str] = []
    query = dict(request.query_pairs)
    for source in authorizer.sources:
        value: str | None
        if source.startswith("method.request.header."):
            value = request.header(source[len("method.request.header.") :])
        elif source.startswith("method.request.querystring."):
            value = query.get(source[len("method.request.querystring.") :])
        elif source.startswith("stageVariables."):
            value = info.stage_variables.get(source[len("stageVariables.") :])
        elif source == "context.httpMethod":
            value = request.method
        else:
            value = None
        if not value:
            return None
        values.append(value)
    validation = authorizer.validation
    if (
        authorizer.kind == "TOKEN"
        and validation is not None
        and not validation.fullmatch(values[0])
    ):
        return None
    return tuple(values)


def _verdict(payload: bytes, ttl: float) -> Verdict | None:
    try:
        answer = json.loads(payload)
        principal = answer["principalId"]
        document = answer["policyDocument"]
        raw = document["Statement"]
    except (ValueError, KeyError, TypeError):
        return None
    statements = raw if isinstance(raw, list) else [raw]
    parsed = []
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            return None
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        parsed.append(
            (
                statement["Effect"],
                tuple([actions] if isinstance(actions, str) else actions),
                tuple([resources] if isinstance(resources, str) else resources),
            )
        )
    context: dict[str, Any] = {"principalId": principal}
    for name, value in (answer.get("context") or {}).items():
        if isinstance(value, dict | list):
            return None  # AWS allows only string, number and boolean values
        context[name] = value if isinstance(value, str) else json.dumps(value)
    return Verdict(time.monotonic() + ttl, tuple(parsed), context)


def _matches(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value) is not None
