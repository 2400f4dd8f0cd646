"""HTTP APIs (apigatewayv2) end to end: boto3 control plane, plain HTTP invoke URLs.

Also holds the helpers the REST API tests share (ECHO, call, http_backend)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, SECRET_KEY, StratusServer, create_function, unique

pytestmark = pytest.mark.timeout(180)

#: A function whose answer depends on the `mode` query parameter (both event formats).
ECHO = """
import base64, json, time

def handler(event, context):
    query = event.get("queryStringParameters") or {}
    mode = query.get("mode")
    if mode == "raise":
        raise RuntimeError("boom")
    if mode == "malformed":
        return {"statusCode": "not a status", "body": 1}
    if mode == "extra":
        return {"statusCode": 200, "body": "x", "unexpected": True}
    if mode == "plain":
        return {"hello": "world"}
    if mode == "sleep":
        time.sleep(2)
        return {"statusCode": 200, "body": "late"}
    if mode == "binary":
        return {
            "statusCode": 200,
            "headers": {"content-type": "image/png"},
            "body": base64.b64encode(bytes(range(256))).decode(),
            "isBase64Encoded": True,
        }
    if mode == "rich":
        return {
            "statusCode": 201,
            "headers": {"x-one": "1", "content-type": "text/plain"},
            "multiValueHeaders": {"x-many": ["a", "b"]},
            "cookies": ["c1=v1", "c2=v2; Path=/"],
            "body": "made",
        }
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(event),
    }
"""


def call(
    server: StratusServer,
    api_id: str,
    method: str,
    path: str,
    *,
    host_based: bool = True,
    **kwargs: Any,
) -> httpx.Response:
    """Call an invoke URL on 127.0.0.1, by Host header or by the path-based form."""
    headers = dict(kwargs.pop("headers", {}) or {})
    if host_based:
        headers["Host"] = f"{api_id}.execute-api.localhost:{server.port}"
        url = f"{server.endpoint}{path}"
    else:
        url = f"{server.endpoint}/_stratus/execute-api/{api_id}{path}"
    return httpx.request(method, url, headers=headers, timeout=60, **kwargs)


def event_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(json.loads(response.text))


@contextmanager
def http_backend() -> Iterator[str]:
    """A plain HTTP server that answers with what it received, as JSON."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            payload = json.dumps(
                {
                    "method": self.command,
                    "path": self.path,
                    "body": body,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                }
            ).encode()
            self.send_response(207)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Backend", "yes")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args: Any) -> None:
            return

    backend = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=backend.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{backend.server_address[1]}"
    finally:
        backend.shutdown()
        backend.server_close()


def error_code(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    err = info.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def v2(server: StratusServer) -> Any:
    return server.client("apigatewayv2")


@pytest.fixture(scope="module")
def echo_arn(server: StratusServer) -> str:
    config = create_function(server.client("lambda"), ECHO, name=unique("gw-echo"), Timeout=10)
    return str(config["FunctionArn"])


def make_api(
    v2: Any, arn: str, version: str = "2.0", stage: str = "prod", **stage_args: Any
) -> Any:
    api = v2.create_api(Name=unique("api"), ProtocolType="HTTP")
    integration = v2.create_integration(
        ApiId=api["ApiId"],
        IntegrationType="AWS_PROXY",
        IntegrationUri=arn,
        PayloadFormatVersion=version,
    )
    target = f"integrations/{integration['IntegrationId']}"
    v2.create_route(ApiId=api["ApiId"], RouteKey="GET /items/{id}", Target=target)
    v2.create_route(ApiId=api["ApiId"], RouteKey="ANY /{proxy+}", Target=target)
    v2.create_stage(ApiId=api["ApiId"], StageName=stage, AutoDeploy=True, **stage_args)
    return api["ApiId"]


@pytest.fixture(scope="module")
def api_v2(v2: Any, echo_arn: str) -> str:
    return str(make_api(v2, echo_arn, "2.0", StageVariables={"env": "test"}))


@pytest.fixture(scope="module")
def api_v1(v2: Any, echo_arn: str) -> str:
    return str(make_api(v2, echo_arn, "1.0"))


# --- control plane -------------------------------------------------------------------------


def test_api_route_integration_crud(v2: Any, echo_arn: str) -> None:
    api = v2.create_api(Name="crud", ProtocolType="HTTP", Description="d")
    api_id = api["ApiId"]
    assert api["RouteSelectionExpression"] == "$request.method $request.path"
    assert api["ApiEndpoint"].startswith(f"http://{api_id}.execute-api.localhost:")
    assert v2.get_api(ApiId=api_id)["Name"] == "crud"
    assert api_id in [a["ApiId"] for a in v2.get_apis()["Items"]]
    assert v2.update_api(ApiId=api_id, Name="renamed")["Name"] == "renamed"

    integration = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=echo_arn,
        PayloadFormatVersion="2.0",
    )
    assert integration["IntegrationMethod"] == "POST"
    assert integration["TimeoutInMillis"] == 30000
    iid = integration["IntegrationId"]
    route = v2.create_route(ApiId=api_id, RouteKey="GET /items/{id}", Target=f"integrations/{iid}")
    assert route["AuthorizationType"] == "NONE"
    assert v2.get_route(ApiId=api_id, RouteId=route["RouteId"])["RouteKey"] == "GET /items/{id}"
    updated = v2.update_route(ApiId=api_id, RouteId=route["RouteId"], RouteKey="POST /items")
    assert updated["RouteKey"] == "POST /items"
    assert [r["RouteKey"] for r in v2.get_routes(ApiId=api_id)["Items"]] == ["POST /items"]
    assert v2.get_integration(ApiId=api_id, IntegrationId=iid)["IntegrationUri"] == echo_arn
    assert len(v2.get_integrations(ApiId=api_id)["Items"]) == 1

    with pytest.raises(ClientError) as info:
        v2.create_route(ApiId=api_id, RouteKey="POST /items", Target=f"integrations/{iid}")
    assert error_code(info)[:2] == ("ConflictException", 409)
    with pytest.raises(ClientError) as info:
        v2.create_route(ApiId=api_id, RouteKey="FETCH /x")
    assert error_code(info)[:2] == ("BadRequestException", 400)
    with pytest.raises(ClientError) as info:
        v2.create_route(ApiId=api_id, RouteKey="GET /x", Target="integrations/nope")
    assert error_code(info)[:2] == ("BadRequestException", 400)
    with pytest.raises(ClientError) as info:
        v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=echo_arn)
    assert error_code(info)[:2] == ("BadRequestException", 400)

    v2.delete_route(ApiId=api_id, RouteId=route["RouteId"])
    v2.delete_integration(ApiId=api_id, IntegrationId=iid)
    with pytest.raises(ClientError) as info:
        v2.get_route(ApiId=api_id, RouteId=route["RouteId"])
    assert error_code(info)[:2] == ("NotFoundException", 404)
    with pytest.raises(ClientError) as info:
        v2.create_deployment(ApiId=api_id)
    assert error_code(info)[:2] == ("BadRequestException", 400)
    v2.delete_api(ApiId=api_id)
    with pytest.raises(ClientError) as info:
        v2.get_api(ApiId=api_id)
    assert error_code(info) == (
        "NotFoundException",
        404,
        f"Invalid API identifier specified {api_id}",
    )


def test_unimplemented_features_answer_by_name(v2: Any) -> None:
    with pytest.raises(ClientError) as info:
        v2.create_api(
            Name="ws", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.a"
        )
    assert error_code(info)[1] == 501


# --- events ----------------------------------------------------------------------------


def test_event_v2_exact_shape(server: StratusServer, api_v2: str) -> None:
    response = call(
        server,
        api_v2,
        "GET",
        "/prod/items/42?a=1&a=2&b=x%20y",
        headers={"X-Custom": "v", "Cookie": "s=1; t=2", "User-Agent": "probe/1"},
    )
    event = event_of(response)
    context = event.pop("requestContext")
    headers = event.pop("headers")
    assert event == {
        "version": "2.0",
        "routeKey": "GET /items/{id}",
        "rawPath": "/prod/items/42",
        "rawQueryString": "a=1&a=2&b=x%20y",
        "cookies": ["s=1", "t=2"],
        "queryStringParameters": {"a": "1,2", "b": "x y"},
        "pathParameters": {"id": "42"},
        "stageVariables": {"env": "test"},
        "isBase64Encoded": False,
    }
    assert headers["x-custom"] == "v"
    assert headers["user-agent"] == "probe/1"
    assert headers["host"] == f"{api_v2}.execute-api.localhost:{server.port}"
    assert "cookie" not in headers
    assert set(context) == {
        "accountId",
        "apiId",
        "domainName",
        "domainPrefix",
        "http",
        "requestId",
        "routeKey",
        "stage",
        "time",
        "timeEpoch",
    }
    assert context["apiId"] == api_v2
    assert context["domainName"] == f"{api_v2}.execute-api.localhost"
    assert context["domainPrefix"] == api_v2
    assert context["http"] == {
        "method": "GET",
        "path": "/prod/items/42",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "probe/1",
    }
    assert context["routeKey"] == "GET /items/{id}"
    assert context["stage"] == "prod"
    assert isinstance(context["timeEpoch"], int)
    assert context["time"].endswith(" +0000")


def test_event_v2_body_text_and_binary(server: StratusServer, api_v2: str) -> None:
    event = event_of(
        call(
            server,
            api_v2,
            "POST",
            "/prod/things/a/b",
            content=b'{"k": 1}',
            headers={"Content-Type": "application/json"},
        )
    )
    assert event["routeKey"] == "ANY /{proxy+}"
    assert event["pathParameters"] == {"proxy": "things/a/b"}
    assert event["body"] == '{"k": 1}'
    assert event["isBase64Encoded"] is False
    assert "queryStringParameters" not in event
    raw = bytes(range(256))
    event = event_of(
        call(
            server,
            api_v2,
            "PUT",
            "/prod/blob",
            content=raw,
            headers={"Content-Type": "application/octet-stream"},
        )
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_event_v1_exact_shape(server: StratusServer, api_v1: str) -> None:
    event = event_of(
        call(
            server,
            api_v1,
            "GET",
            "/prod/items/7?a=1&a=2",
            headers={"User-Agent": "probe/1"},
        )
    )
    context = event.pop("requestContext")
    headers = event.pop("headers")
    multi = event.pop("multiValueHeaders")
    assert event == {
        "version": "1.0",
        "resource": "/items/{id}",
        "path": "/prod/items/7",
        "httpMethod": "GET",
        "queryStringParameters": {"a": "2"},
        "multiValueQueryStringParameters": {"a": ["1", "2"]},
        "pathParameters": {"id": "7"},
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
    }
    assert headers["user-agent"] == "probe/1"
    assert multi["user-agent"] == ["probe/1"]
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/prod/items/7"
    assert context["resourcePath"] == "/items/{id}"
    assert context["stage"] == "prod"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "probe/1"
    assert context["requestTime"].endswith(" +0000")
    assert context["authorizer"] == {"claims": None, "scopes": None}


# --- responses -------------------------------------------------------------------------


def test_response_mapping(server: StratusServer, api_v2: str, api_v1: str) -> None:
    plain = call(server, api_v2, "GET", "/prod/x?mode=plain")
    assert plain.status_code == 200
    assert plain.headers["content-type"] == "application/json"
    assert plain.json() == {"hello": "world"}

    rich = call(server, api_v2, "GET", "/prod/x?mode=rich")
    assert rich.status_code == 201
    assert rich.text == "made"
    assert rich.headers["x-one"] == "1"
    assert rich.headers.get_list("x-many") == ["a", "b"]
    assert rich.headers.get_list("set-cookie") == ["c1=v1", "c2=v2; Path=/"]

    binary = call(server, api_v2, "GET", "/prod/x?mode=binary")
    assert binary.status_code == 200
    assert binary.headers["content-type"] == "image/png"
    assert binary.content == bytes(range(256))

    # payload 1.0: a result without statusCode is malformed
    assert call(server, api_v1, "GET", "/prod/x?mode=plain").status_code == 500


def test_errors_as_http_apis_answer(server: StratusServer, api_v2: str, api_v1: str) -> None:
    for api in (api_v2, api_v1):
        for mode in ("raise", "malformed"):
            answer = call(server, api, "GET", f"/prod/x?mode={mode}")
            assert (answer.status_code, answer.json()) == (
                500,
                {"message": "Internal Server Error"},
            ), mode
    missing = call(server, api_v2, "GET", "/")
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    unknown = call(server, "nosuchapi0", "GET", "/prod/x")
    assert unknown.status_code == 404


def test_a_function_of_another_region_or_account_is_not_called(
    server: StratusServer, v2: Any, echo_arn: str
) -> None:
    # The echo function exists here; ARNs naming it in another region or account name
    # no function of this node, so the call fails as one to a missing function does.
    elsewhere = [
        echo_arn.replace(":us-east-1:", ":eu-west-1:"),
        echo_arn.replace(":000000000000:", ":999999999999:"),
    ]
    assert all(arn != echo_arn for arn in elsewhere)
    for arn in elsewhere:
        answer = call(server, make_api(v2, arn), "GET", "/prod/x")
        assert (answer.status_code, answer.json()) == (500, {"message": "Internal Server Error"})
    assert event_of(call(server, make_api(v2, echo_arn), "GET", "/prod/x"))["rawPath"] == "/prod/x"


def test_integration_timeout(server: StratusServer, v2: Any, echo_arn: str) -> None:
    api_id = v2.create_api(Name=unique("api"), ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=echo_arn,
        PayloadFormatVersion="2.0",
        TimeoutInMillis=300,
    )
    v2.create_route(
        ApiId=api_id, RouteKey="$default", Target=f"integrations/{integration['IntegrationId']}"
    )
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    answer = call(server, api_id, "GET", "/anything?mode=sleep")
    assert (answer.status_code, answer.json()) == (503, {"message": "Service Unavailable"})


# --- stages and deployments ------------------------------------------------------------


def test_default_stage_and_path_based_urls(server: StratusServer, v2: Any, echo_arn: str) -> None:
    api = v2.create_api(Name=unique("quick"), ProtocolType="HTTP", Target=echo_arn)
    api_id = api["ApiId"]
    stage = v2.get_stage(ApiId=api_id, StageName="$default")
    assert stage["AutoDeploy"] is True
    assert stage["DeploymentId"]
    for host_based in (True, False):
        event = event_of(call(server, api_id, "GET", "/some/path?q=1", host_based=host_based))
        assert event["routeKey"] == "$default"
        assert event["rawPath"] == "/some/path"
        assert event["requestContext"]["stage"] == "$default"
        assert "pathParameters" not in event


def test_only_deployed_routes_are_served(server: StratusServer, v2: Any, echo_arn: str) -> None:
    api_id = v2.create_api(Name=unique("api"), ProtocolType="HTTP")["ApiId"]
    iid = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=echo_arn,
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /one", Target=f"integrations/{iid}")
    v2.create_stage(ApiId=api_id, StageName="live")
    assert call(server, api_id, "GET", "/live/one").status_code == 404  # nothing deployed
    first = v2.create_deployment(ApiId=api_id, StageName="live")
    assert first["DeploymentStatus"] == "DEPLOYED"
    assert event_of(call(server, api_id, "GET", "/live/one"))["routeKey"] == "GET /one"

    v2.create_route(ApiId=api_id, RouteKey="GET /two", Target=f"integrations/{iid}")
    assert call(server, api_id, "GET", "/live/two").status_code == 404
    second = v2.create_deployment(ApiId=api_id, StageName="live", Description="two")
    assert event_of(call(server, api_id, "GET", "/live/two"))["routeKey"] == "GET /two"
    ids = [d["DeploymentId"] for d in v2.get_deployments(ApiId=api_id)["Items"]]
    assert ids == [first["DeploymentId"], second["DeploymentId"]]

    # rolling the stage back to the first deployment switches what is served
    v2.update_stage(ApiId=api_id, StageName="live", DeploymentId=first["DeploymentId"])
    assert call(server, api_id, "GET", "/live/two").status_code == 404
    assert v2.get_stages(ApiId=api_id)["Items"][0]["DeploymentId"] == first["DeploymentId"]
    with pytest.raises(ClientError) as info:
        v2.create_stage(ApiId=api_id, StageName="live")
    assert error_code(info)[:2] == ("ConflictException", 409)
    v2.delete_stage(ApiId=api_id, StageName="live")
    assert call(server, api_id, "GET", "/live/one").status_code == 404


# --- throttling, CORS, HTTP proxy --------------------------------------------------------


def test_route_throttling(server: StratusServer, v2: Any, echo_arn: str) -> None:
    api_id = make_api(
        v2,
        echo_arn,
        "2.0",
        stage="slow",
        RouteSettings={
            "GET /items/{id}": {"ThrottlingBurstLimit": 1, "ThrottlingRateLimit": 0.001}
        },
    )
    assert call(server, api_id, "GET", "/slow/items/1").status_code == 200
    limited = call(server, api_id, "GET", "/slow/items/1")
    assert (limited.status_code, limited.json()) == (429, {"message": "Too Many Requests"})
    assert call(server, api_id, "GET", "/slow/other").status_code == 200


def test_cors(server: StratusServer, v2: Any, echo_arn: str) -> None:
    api = v2.create_api(
        Name=unique("cors"),
        ProtocolType="HTTP",
        Target=echo_arn,
        CorsConfiguration={
            "AllowOrigins": ["https://app.example"],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["content-type"],
            "MaxAge": 300,
        },
    )
    preflight = call(
        server,
        api["ApiId"],
        "OPTIONS",
        "/x",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert preflight.headers["access-control-allow-methods"] == "GET,POST"
    assert preflight.headers["access-control-allow-headers"] == "content-type"
    assert preflight.headers["access-control-max-age"] == "300"
    simple = call(server, api["ApiId"], "GET", "/x", headers={"Origin": "https://app.example"})
    assert simple.headers["access-control-allow-origin"] == "https://app.example"
    other = call(server, api["ApiId"], "GET", "/x", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_http_proxy_integration(server: StratusServer, v2: Any) -> None:
    with http_backend() as backend:
        api_id = v2.create_api(Name=unique("proxy"), ProtocolType="HTTP")["ApiId"]
        iid = v2.create_integration(
            ApiId=api_id,
            IntegrationType="HTTP_PROXY",
            IntegrationMethod="ANY",
            IntegrationUri=backend + "/base/{proxy}",
        )["IntegrationId"]
        v2.create_route(ApiId=api_id, RouteKey="ANY /svc/{proxy+}", Target=f"integrations/{iid}")
        v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        answer = call(
            server,
            api_id,
            "POST",
            "/svc/a/b?x=1",
            content=b"payload",
            headers={"X-Trace": "t1"},
        )
        assert answer.status_code == 207
        assert answer.headers["x-backend"] == "yes"
        seen = answer.json()
        assert seen["method"] == "POST"
        assert seen["path"] == "/base/a/b?x=1"
        assert seen["body"] == "payload"
        assert seen["headers"]["x-trace"] == "t1"
        assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"


def test_boto3_default_client_not_needed_for_v2(server: StratusServer) -> None:
    # The control plane is reachable from a plain boto3 client with only endpoint_url set.
    client = boto3.client(
        "apigatewayv2",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    assert "Items" in client.get_apis()


def test_cli_lists_apis_with_invoke_urls(server: StratusServer, v2: Any, echo_arn: str) -> None:
    api_id = v2.create_api(Name=unique("cli"), ProtocolType="HTTP", Target=echo_arn)["ApiId"]
    result = subprocess.run(
        [sys.executable, "-m", "stratus.cli.main", "apis", "--endpoint-url", server.endpoint],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "STRATUS_ACCESS_KEY_ID": ACCESS_KEY,
            "STRATUS_SECRET_ACCESS_KEY": SECRET_KEY,
        },
    )
    assert result.returncode == 0, result.stderr
    host = f"http://{api_id}.execute-api.localhost:{server.port}/"
    path = f"{server.endpoint}/_stratus/execute-api/{api_id}/"
    assert f"  $default\t{host}\t{path}" in result.stdout.splitlines()
    # the printed URL works
    assert call(server, api_id, "GET", "/hello", host_based=False).status_code == 200
