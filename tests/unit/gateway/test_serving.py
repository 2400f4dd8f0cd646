"""The data plane's ASGI app on compiled REST stages: constant MOCK answers, throttling,
the URL forms, bodies in several messages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

import pytest

from stratus.gateway.rest_apis import REST_API
from stratus.gateway.rest_serving import answer_directly, compile_rest_stage
from stratus.gateway.rest_stages import REST_DEPLOYMENT, REST_STAGE
from stratus.gateway.serving import GatewayApp, Registry

pytestmark = pytest.mark.timeout(10)

API = "abc123"
HOST = f"{API}.execute-api.localhost:4566".encode()


def mock_method(request_templates: dict[str, str], *responses: dict[str, Any]) -> dict[str, Any]:
    return {
        "authorizationType": "NONE",
        "methodIntegration": {
            "type": "MOCK",
            "requestTemplates": request_templates,
            "integrationResponses": {r["statusCode"]: r for r in responses},
        },
    }


OK = {"statusCode": "200", "responseTemplates": {"application/json": '{"ok": true}'}}
DOWN = {
    "statusCode": "503",
    "selectionPattern": "5\\d\\d",
    "responseTemplates": {"application/json": '{"ok": false}'},
}

RESOURCES = [
    {
        "id": "root",
        "path": "/",
        "resourceMethods": {"POST": mock_method({"application/json": '{"statusCode": 200}'}, OK)},
    },
    {
        "id": "echo",
        "path": "/echo",
        "resourceMethods": {
            "GET": mock_method(
                {"application/json": "{\"statusCode\": $input.params('code')}"}, OK, DOWN
            )
        },
    },
    {
        "id": "typed",
        "path": "/typed",
        "resourceMethods": {
            "POST": mock_method(
                {"application/json": '{"statusCode": 200}', "text/plain": '{"statusCode": 503}'},
                OK,
                DOWN,
            )
        },
    },
]


def stage_record(burst: int | None = None, access_log: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {"stageName": "prod", "deploymentId": "d1"}
    if burst is not None:
        record["methodSettings"] = {
            "*/*": {"throttlingBurstLimit": burst, "throttlingRateLimit": 0.001}
        }
    if access_log:
        record["accessLogSettings"] = {
            "destinationArn": "arn:aws:logs:us-east-1:000000000000:log-group:access",
            "format": "$context.requestId",
        }
    return record


DEPLOYMENT = {"id": "d1", "_snapshot": {"resources": RESOURCES}}


class Records:
    """The few store reads the registry makes, from memory."""

    def __init__(self, stage: dict[str, Any]) -> None:
        self.stage = stage

    def get(self, kind: str, api_id: str, object_id: str) -> dict[str, Any] | None:
        if api_id != API:
            return None
        if kind == REST_API:
            return {"id": API}
        if kind == REST_DEPLOYMENT and object_id == "d1":
            return DEPLOYMENT
        return None

    def list(self, kind: str, api_id: str) -> list[dict[str, Any]]:
        return [self.stage] if kind == REST_STAGE and api_id == API else []


def app_for(stage: dict[str, Any]) -> GatewayApp:
    registry = Registry(Records(stage))  # type: ignore[arg-type]
    return GatewayApp(registry, None, "000000000000", None)  # type: ignore[arg-type]


def call(
    app: GatewayApp,
    method: str,
    path: str,
    body: list[bytes] | None = None,
    host: bytes = HOST,
    content_type: bytes = b"application/json",
) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request through the ASGI app: (status, headers, body)."""
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "method": method,
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", host), (b"content-type", content_type)],
        "client": ("127.0.0.1", 50000),
        "http_version": "1.1",
    }
    parts = body or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, answer = sent
    headers = dict(start["headers"])
    assert int(headers[b"content-length"]) == len(answer["body"])
    return start["status"], headers, answer["body"]


def test_a_constant_mock_answer_is_worked_out_once_and_throttled() -> None:
    app = app_for(stage_record(burst=2))
    status, headers, body = call(app, "POST", "/prod/")
    assert (status, headers[b"content-type"], body) == (200, b"application/json", b'{"ok": true}')
    path_based = b"localhost:4566"
    assert call(app, "POST", f"/_stratus/execute-api/{API}/prod", host=path_based)[0] == 200
    status, headers, body = call(app, "POST", "/prod/")
    assert (status, json.loads(body)) == (429, {"message": "Too Many Requests"})
    assert headers[b"x-amzn-ErrorType"] == b"TooManyRequestsException"


def test_requests_that_match_nothing() -> None:
    app = app_for(stage_record())
    status, _, body = call(app, "GET", "/prod/")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert call(app, "POST", "/nostage/")[0] == 403
    assert call(app, "POST", "/prod/", host=b"zzz999.execute-api.localhost")[0] == 404


def test_templates_that_read_the_request_are_rendered_per_request() -> None:
    app = app_for(stage_record())
    status, _, body = call(app, "GET", "/prod/echo?code=200")
    assert (status, body) == (200, b'{"ok": true}')
    status, _, body = call(app, "GET", "/prod/echo?code=503")
    assert (status, body) == (503, b'{"ok": false}')


def test_a_mock_whose_answer_depends_on_the_content_type() -> None:
    app = app_for(stage_record())
    assert call(app, "POST", "/prod/typed")[0] == 200
    assert call(app, "POST", "/prod/typed", content_type=b"text/plain")[0] == 503
    assert call(app, "POST", "/prod/typed", content_type=b"application/xml")[0] == 200


def test_a_stage_with_access_logs_builds_every_request() -> None:
    direct = compile_rest_stage(stage_record(), DEPLOYMENT)
    assert answer_directly(direct, "POST", "/") is not None
    assert answer_directly(direct, "GET", "/echo") is None  # its template reads the request
    logged = compile_rest_stage(stage_record(access_log=True), DEPLOYMENT)
    assert answer_directly(logged, "POST", "/") is None


def test_a_body_in_several_messages_is_read_whole() -> None:
    app = app_for(stage_record())
    assert call(app, "POST", "/prod/", body=[b'{"a"', b": 1}"])[0] == 200


def test_an_invalid_selection_pattern_fails_its_requests_only() -> None:
    broken = {"statusCode": "500", "selectionPattern": "(", "responseTemplates": {}}
    resources = [
        *RESOURCES,
        {
            "id": "broken",
            "path": "/broken",
            "resourceMethods": {
                "GET": mock_method({"application/json": '{"statusCode": 200}'}, broken)
            },
        },
    ]
    stage = compile_rest_stage(stage_record(), {"_snapshot": {"resources": resources}})
    assert answer_directly(stage, "GET", "/broken") is None
    assert answer_directly(stage, "POST", "/") is not None
