"""A REST API stage as served: `RestStage` and its `ServedMethod`s, compiled from a
deployment by `rest_serving.compile_rest_stage`, and the error answers serving gives
(as REST APIs give them, with `x-amzn-ErrorType`).

They sit apart from `rest_serving.py` so that both it and the mapped integrations of
`rest_mapping.py` can read them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stratus.gateway.access_logs import AccessLog
from stratus.gateway.authorizers import ServedAuthorizer
from stratus.gateway.integrations import Integration
from stratus.gateway.responses import GatewayResponse, error_response
from stratus.gateway.routes import RouteTable
from stratus.gateway.stage_cache import CachePolicy
from stratus.gateway.throttle import Bucket

MISSING_TOKEN = error_response(
    403, "Missing Authentication Token", "MissingAuthenticationTokenException"
)
BAD_GATEWAY = error_response(502, "Internal server error", "InternalServerErrorException")
INTERNAL = error_response(500, "Internal server error", "InternalServerErrorException")
TIMED_OUT = error_response(504, "Endpoint request timed out", "InternalServerErrorException")
THROTTLED = error_response(429, "Too Many Requests", "TooManyRequestsException")
UNSUPPORTED_MEDIA_TYPE = error_response(
    415, "Unsupported Media Type", "UnsupportedMediaTypeException"
)


@dataclass(frozen=True)
class ServedMethod:
    """One method of one resource in a deployment."""

    resource_id: str
    resource_path: str
    http_method: str
    integration: Integration
    bucket: Bucket | None
    api_key_required: bool = False
    authorizer: ServedAuthorizer | None = None
    #: authorizationType AWS_IAM: the request must carry a valid SigV4 signature.
    iam: bool = False
    #: None: not cached (no stage cache, caching off for the method, or TTL 0).
    cache: CachePolicy | None = None
    #: A MOCK integration's answer when no request can change it (see
    #: `rest_mapping._constant_mock`).
    mock_answer: GatewayResponse | None = None


@dataclass(frozen=True)
class RestStage:
    """A REST API stage compiled from its deployment."""

    name: str
    deployment_id: str
    variables: dict[str, str]
    table: RouteTable[ServedMethod]
    bucket: Bucket | None
    binary_types: tuple[str, ...] = field(default=())
    access_log: AccessLog | None = None
