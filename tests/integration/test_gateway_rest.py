"""REST APIs (apigateway) end to end: resources, methods, deployments, stages, serving."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import StratusServer, create_function, unique
from tests.integration.test_gateway_http import ECHO, call, error_code, event_of, http_backend

pytestmark = pytest.mark.timeout(180)

REGION = "us-east-1"


@pytest.fixture(scope="module")
def v1(server: StratusServer) -> Any:
    return server.client("apigateway")


@pytest.fixture(scope="module")
def echo_arn(server: StratusServer) -> str:
    config = create_function(server.client("lambda"), ECHO, name=unique("gw-rest"), Timeout=10)
    return str(config["FunctionArn"])


def invocation_uri(arn: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"


def lambda_method(
    v1: Any, api_id: str, resource_id: str, verb: str, arn: str, **extra: Any
) -> None:
    v1.put_method(
        restApiId=api_id, resourceId=resource_id, httpMethod=verb, authorizationType="NONE"
    )
    v1.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod=verb,
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=invocation_uri(arn),
        **extra,
    )


@pytest.fixture(scope="module")
def rest_api(v1: Any, echo_arn: str) -> dict[str, str]:
    api = v1.create_rest_api(name=unique("rest"))
    api_id = api["id"]
    items = v1.create_resource(restApiId=api_id, parentId=api["rootResourceId"], pathPart="items")
    item = v1.create_resource(restApiId=api_id, parentId=items["id"], pathPart="{id}")
    proxy = v1.create_resource(
        restApiId=api_id, parentId=api["rootResourceId"], pathPart="{proxy+}"
    )
    lambda_method(v1, api_id, item["id"], "GET", echo_arn)
    lambda_method(v1, api_id, proxy["id"], "ANY", echo_arn)
    v1.create_deployment(restApiId=api_id, stageName="dev", variables={"color": "blue"})
    return {"id": api_id, "item": item["id"], "items": items["id"], "root": api["rootResourceId"]}


def test_rest_api_control_plane(v1: Any, rest_api: dict[str, str]) -> None:
    api_id = rest_api["id"]
    resources = v1.get_resources(restApiId=api_id)["items"]  # wire key "item"
    assert sorted(r["path"] for r in resources) == ["/", "/items", "/items/{id}", "/{proxy+}"]
    item = next(r for r in resources if r["path"] == "/items/{id}")
    assert item["pathPart"] == "{id}"
    assert item["resourceMethods"]["GET"]["methodIntegration"]["type"] == "AWS_PROXY"
    integration = v1.get_integration(
        restApiId=api_id, resourceId=rest_api["item"], httpMethod="GET"
    )
    assert integration["httpMethod"] == "POST"
    assert integration["timeoutInMillis"] == 29000
    listed = v1.get_paginator("get_rest_apis").paginate(limit=500)
    assert api_id in [a["id"] for page in listed for a in page["items"]]
    renamed = v1.update_rest_api(
        restApiId=api_id,
        patchOperations=[
            {"op": "replace", "path": "/description", "value": "patched"},
            {"op": "add", "path": "/binaryMediaTypes/image~1png"},
        ],
    )
    assert renamed["description"] == "patched"
    assert renamed["binaryMediaTypes"] == ["image/png"]
    stage = v1.get_stage(restApiId=api_id, stageName="dev")
    assert stage["variables"] == {"color": "blue"}
    assert [s["stageName"] for s in v1.get_stages(restApiId=api_id)["item"]] == ["dev"]

    with pytest.raises(ClientError) as info:
        v1.create_resource(restApiId=api_id, parentId=rest_api["root"], pathPart="items")
    assert error_code(info)[:2] == ("ConflictException", 409)
    with pytest.raises(ClientError) as info:
        v1.get_rest_api(restApiId="missing123")
    assert error_code(info) == ("NotFoundException", 404, "Invalid API identifier specified")
    with pytest.raises(ClientError) as info:
        v1.update_rest_api(
            restApiId=api_id, patchOperations=[{"op": "replace", "path": "/nope", "value": "x"}]
        )
    assert error_code(info)[:2] == ("BadRequestException", 400)
    with pytest.raises(ClientError) as info:
        v1.put_method(
            restApiId=api_id,
            resourceId=rest_api["items"],
            httpMethod="GET",
            authorizationType="COGNITO_USER_POOLS",
        )
    code, status, message = error_code(info)
    assert (code, status) == ("NotImplementedException", 501)
    assert "authorizationType COGNITO_USER_POOLS" in message
    with pytest.raises(ClientError) as info:
        v1.create_authorizer(
            restApiId=api_id,
            name="a",
            type="COGNITO_USER_POOLS",
            providerARNs=["arn:aws:cognito-idp:us-east-1:000000000000:userpool/x"],
        )
    assert error_code(info)[1] == 501
    with pytest.raises(ClientError) as info:
        v1.get_export(restApiId=api_id, stageName="dev", exportType="postman")
    assert error_code(info)[1] == 501
    assert "postman" in error_code(info)[2]


def test_collections_page_as_api_gateway_does(new_server: Any) -> None:
    """A REST collection answers 25 items unless asked for another `limit`, with the
    `position` of the next page; botocore's paginators walk them to the end."""
    v1 = new_server().client("apigateway")
    for index in range(27):
        v1.create_rest_api(name=f"paged-{index}")
    first = v1.get_rest_apis()
    assert len(first["items"]) == 25 and first["position"]
    rest = v1.get_rest_apis(position=first["position"])
    assert len(rest["items"]) == 2 and "position" not in rest
    names = [
        api["name"]
        for page in v1.get_paginator("get_rest_apis").paginate()
        for api in page["items"]
    ]
    assert sorted(names) == sorted(f"paged-{index}" for index in range(27))

    api_id = first["items"][0]["id"]
    for index in range(3):
        v1.create_authorizer(
            restApiId=api_id,
            name=f"auth-{index}",
            type="TOKEN",
            authorizerUri=invocation_uri("arn:aws:lambda:us-east-1:000000000000:function:a"),
            identitySource="method.request.header.Authorization",
        )
        v1.create_api_key(name=f"key-{index}")
        v1.create_usage_plan(name=f"plan-{index}")
    for listed in (
        lambda **page: v1.get_authorizers(restApiId=api_id, **page),
        v1.get_api_keys,
        v1.get_usage_plans,
    ):
        head = listed(limit=2)
        assert len(head["items"]) == 2
        tail = listed(limit=2, position=head["position"])
        assert len(tail["items"]) == 1 and "position" not in tail


def test_rest_event_exact_shape(server: StratusServer, rest_api: dict[str, str]) -> None:
    api_id = rest_api["id"]
    event = event_of(
        call(
            server,
            api_id,
            "GET",
            "/dev/items/9?x=1&x=2",
            headers={"User-Agent": "probe/1"},
        )
    )
    context = event.pop("requestContext")
    headers = event.pop("headers")
    multi = event.pop("multiValueHeaders")
    assert event == {
        "resource": "/items/{id}",
        "path": "/items/9",
        "httpMethod": "GET",
        "queryStringParameters": {"x": "2"},
        "multiValueQueryStringParameters": {"x": ["1", "2"]},
        "pathParameters": {"id": "9"},
        "stageVariables": {"color": "blue"},
        "body": None,
        "isBase64Encoded": False,
    }
    # ASGI servers lower-case header names, so REST events carry them lower-cased.
    assert headers["user-agent"] == "probe/1"
    assert multi["user-agent"] == ["probe/1"]
    assert context["resourceId"] == rest_api["item"]
    assert context["resourcePath"] == "/items/{id}"
    assert context["path"] == "/dev/items/9"
    assert context["stage"] == "dev"
    assert context["httpMethod"] == "GET"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["apiKey"] is None
    assert context["deploymentId"]

    proxied = event_of(
        call(
            server,
            api_id,
            "POST",
            "/dev/a/b/c",
            content=b"hi",
            host_based=False,
            headers={"Content-Type": "text/plain"},
        )
    )
    assert proxied["resource"] == "/{proxy+}"
    assert proxied["pathParameters"] == {"proxy": "a/b/c"}
    assert proxied["body"] == "hi"


def test_rest_errors(server: StratusServer, v1: Any, rest_api: dict[str, str]) -> None:
    api_id = rest_api["id"]
    # no POST on /items/{id}: the method-aware match falls to ANY /{proxy+}
    assert call(server, api_id, "POST", "/dev/items/1").status_code == 200
    no_method = call(server, api_id, "GET", "/dev/")  # the root resource has no method
    assert (no_method.status_code, no_method.json()) == (
        403,
        {"message": "Missing Authentication Token"},
    )
    assert no_method.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert call(server, api_id, "GET", "/nostage/x").status_code == 403
    for mode in ("raise", "malformed", "extra", "plain"):
        answer = call(server, api_id, "GET", f"/dev/x?mode={mode}")
        assert (answer.status_code, answer.json()) == (502, {"message": "Internal server error"}), (
            mode
        )


def test_only_deployed_and_stage_patches(
    server: StratusServer, v1: Any, echo_arn: str, rest_api: dict[str, str]
) -> None:
    api = v1.create_rest_api(name=unique("rest"))
    api_id = api["id"]
    lambda_method(v1, api_id, api["rootResourceId"], "GET", echo_arn)
    first = v1.create_deployment(restApiId=api_id, stageName="v1")
    assert event_of(call(server, api_id, "GET", "/v1/"))["resource"] == "/"
    new = v1.create_resource(restApiId=api_id, parentId=api["rootResourceId"], pathPart="new")
    lambda_method(v1, api_id, new["id"], "GET", echo_arn)
    assert call(server, api_id, "GET", "/v1/new").status_code == 403
    second = v1.create_deployment(restApiId=api_id, stageName="v1")
    assert event_of(call(server, api_id, "GET", "/v1/new"))["resource"] == "/new"
    assert len(v1.get_deployments(restApiId=api_id)["items"]) == 2

    patched = v1.update_stage(
        restApiId=api_id,
        stageName="v1",
        patchOperations=[
            {"op": "replace", "path": "/deploymentId", "value": first["id"]},
            {"op": "replace", "path": "/variables/tier", "value": "gold"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "1"},
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.001"},
        ],
    )
    assert patched["deploymentId"] == first["id"]
    assert patched["variables"] == {"tier": "gold"}
    assert patched["methodSettings"]["*/*"]["throttlingBurstLimit"] == 1
    assert call(server, api_id, "GET", "/v1/new").status_code == 403  # rolled back
    assert event_of(call(server, api_id, "GET", "/v1/"))["stageVariables"] == {"tier": "gold"}
    limited = call(server, api_id, "GET", "/v1/")
    assert (limited.status_code, limited.json()) == (429, {"message": "Too Many Requests"})
    assert second["id"] != first["id"]
    with pytest.raises(ClientError) as info:
        v1.update_stage(
            restApiId=api_id,
            stageName="v1",
            patchOperations=[
                {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "10"}
            ],
        )
    assert error_code(info)[1] == 501 and "canary deployments" in error_code(info)[2]
    v1.delete_stage(restApiId=api_id, stageName="v1")
    assert call(server, api_id, "GET", "/v1/").status_code == 403
    v1.delete_rest_api(restApiId=api_id)


def test_mock_integration_and_options(server: StratusServer, v1: Any) -> None:
    api = v1.create_rest_api(name=unique("mock"))
    api_id, root = api["id"], api["rootResourceId"]
    health = v1.create_resource(restApiId=api_id, parentId=root, pathPart="health")
    for verb in ("GET", "OPTIONS"):
        v1.put_method(
            restApiId=api_id, resourceId=health["id"], httpMethod=verb, authorizationType="NONE"
        )
        v1.put_method_response(
            restApiId=api_id, resourceId=health["id"], httpMethod=verb, statusCode="200"
        )
    v1.put_integration(
        restApiId=api_id,
        resourceId=health["id"],
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": "{\"statusCode\": $input.params('code')}"},
    )
    v1.put_integration_response(
        restApiId=api_id,
        resourceId=health["id"],
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": '{"ok": true, "stage": "$context.stage"}'},
    )
    v1.put_integration_response(
        restApiId=api_id,
        resourceId=health["id"],
        httpMethod="GET",
        statusCode="503",
        selectionPattern="5\\d\\d",
        responseTemplates={"application/json": '{"ok": false}'},
    )
    v1.put_integration(
        restApiId=api_id,
        resourceId=health["id"],
        httpMethod="OPTIONS",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    v1.put_integration_response(
        restApiId=api_id,
        resourceId=health["id"],
        httpMethod="OPTIONS",
        statusCode="200",
        responseParameters={
            "method.response.header.Access-Control-Allow-Origin": "'*'",
            "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'",
        },
    )
    with pytest.raises(ClientError) as info:
        v1.put_integration_response(
            restApiId=api_id,
            resourceId=health["id"],
            httpMethod="GET",
            statusCode="200",
            responseTemplates={"application/json": "#set($x = 1)"},
        )
    assert error_code(info)[1] == 501
    v1.create_deployment(restApiId=api_id, stageName="prod")

    ok = call(server, api_id, "GET", "/prod/health?code=200")
    assert (ok.status_code, ok.json()) == (200, {"ok": True, "stage": "prod"})
    down = call(server, api_id, "GET", "/prod/health?code=503")
    assert (down.status_code, down.json()) == (503, {"ok": False})
    options = call(server, api_id, "OPTIONS", "/prod/health")
    assert options.status_code == 200
    assert options.headers["access-control-allow-origin"] == "*"
    assert options.headers["access-control-allow-methods"] == "GET,OPTIONS"


def test_rest_http_proxy_and_timeout(server: StratusServer, v1: Any, echo_arn: str) -> None:
    with http_backend() as backend:
        api = v1.create_rest_api(name=unique("proxy"))
        api_id, root = api["id"], api["rootResourceId"]
        proxy = v1.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")
        v1.put_method(
            restApiId=api_id, resourceId=proxy["id"], httpMethod="ANY", authorizationType="NONE"
        )
        v1.put_integration(
            restApiId=api_id,
            resourceId=proxy["id"],
            httpMethod="ANY",
            type="HTTP_PROXY",
            integrationHttpMethod="ANY",
            uri=backend + "/up/{proxy}",
        )
        slow = v1.create_resource(restApiId=api_id, parentId=root, pathPart="slow")
        lambda_method(v1, api_id, slow["id"], "GET", echo_arn, timeoutInMillis=300)
        v1.create_deployment(restApiId=api_id, stageName="s")
        answer = call(server, api_id, "PUT", "/s/x/y", content=b"data")
        assert answer.status_code == 207
        assert answer.json()["path"] == "/up/x/y"
        assert answer.json()["body"] == "data"
        late = call(server, api_id, "GET", "/s/slow?mode=sleep")
        assert (late.status_code, late.json()) == (504, {"message": "Endpoint request timed out"})


def test_rest_binary_media_types(server: StratusServer, v1: Any, echo_arn: str) -> None:
    api = v1.create_rest_api(name=unique("bin"), binaryMediaTypes=["application/octet-stream"])
    lambda_method(v1, api["id"], api["rootResourceId"], "POST", echo_arn)
    v1.create_deployment(restApiId=api["id"], stageName="b")
    raw = bytes(range(200, 256))
    event = event_of(
        call(
            server,
            api["id"],
            "POST",
            "/b/",
            content=raw,
            headers={"Content-Type": "application/octet-stream"},
        )
    )
    assert event["isBase64Encoded"] is True
    text = event_of(
        call(
            server,
            api["id"],
            "POST",
            "/b/",
            content=b"plain",
            headers={"Content-Type": "text/csv"},
        )
    )
    assert (text["body"], text["isBase64Encoded"]) == ("plain", False)
    assert json.loads(json.dumps(event))["httpMethod"] == "POST"


def test_api_keys_and_usage_plans(server: StratusServer, v1: Any, echo_arn: str) -> None:
    api = v1.create_rest_api(name=unique("keys"))
    api_id, root = api["id"], api["rootResourceId"]
    v1.put_method(
        restApiId=api_id,
        resourceId=root,
        httpMethod="GET",
        authorizationType="NONE",
        apiKeyRequired=True,
    )
    v1.put_integration(
        restApiId=api_id,
        resourceId=root,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=invocation_uri(echo_arn),
    )
    v1.create_deployment(restApiId=api_id, stageName="paid")
    key = v1.create_api_key(name=unique("key"), enabled=True, value="k" * 20 + unique())
    assert "value" not in v1.get_api_key(apiKey=key["id"])
    assert v1.get_api_key(apiKey=key["id"], includeValue=True)["value"] == key["value"]
    other = v1.create_api_key(name=unique("key"), enabled=True)
    assert len(other["value"]) >= 20

    def get(value: str | None) -> Any:
        headers = {"x-api-key": value} if value else {}
        return call(server, api_id, "GET", "/paid/", headers=headers)

    forbidden = get(None)
    assert (forbidden.status_code, forbidden.json()) == (403, {"message": "Forbidden"})
    assert get(key["value"]).status_code == 403  # not in a usage plan yet
    with pytest.raises(ClientError) as info:
        v1.create_usage_plan(name="bad", apiStages=[{"apiId": api_id, "stage": "nope"}])
    assert error_code(info)[:2] == ("BadRequestException", 400)
    plan = v1.create_usage_plan(
        name=unique("plan"),
        apiStages=[{"apiId": api_id, "stage": "paid"}],
        quota={"limit": 2, "period": "DAY"},
        throttle={"burstLimit": 100, "rateLimit": 100.0},
    )
    link = v1.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert (link["id"], link["type"], link["value"]) == (key["id"], "API_KEY", key["value"])
    assert [k["id"] for k in v1.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [key["id"]]
    assert get(key["value"]).status_code == 200
    assert get(key["value"]).status_code == 200
    over = get(key["value"])
    assert (over.status_code, over.json()) == (429, {"message": "Limit Exceeded"})
    assert get(other["value"]).status_code == 403  # a key of no plan
    assert get("no-such-key-000000000000").status_code == 403

    v1.update_api_key(
        apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
    )
    assert get(key["value"]).status_code == 403
    v1.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
    v1.delete_usage_plan(usagePlanId=plan["id"])
    v1.delete_api_key(apiKey=key["id"])
    with pytest.raises(ClientError) as info:
        v1.get_api_key(apiKey=key["id"])
    assert error_code(info)[:2] == ("NotFoundException", 404)


AUTHORIZER = """
CALLS = 0

def handler(event, context):
    global CALLS
    CALLS += 1
    token = event.get("authorizationToken") or (event.get("headers") or {}).get("x-token")
    if token not in ("allow", "deny"):
        raise Exception("Unauthorized")
    return {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": "Allow" if token == "allow" else "Deny",
                "Resource": event["methodArn"],
            }],
        },
        "context": {"tier": "gold", "calls": CALLS, "type": event["type"]},
    }
"""


def test_lambda_authorizers(server: StratusServer, v1: Any, echo_arn: str) -> None:
    lam = server.client("lambda")
    auth_arn = create_function(lam, AUTHORIZER, name=unique("gw-auth"))["FunctionArn"]
    api = v1.create_rest_api(name=unique("auth"))
    api_id, root = api["id"], api["rootResourceId"]
    token = v1.create_authorizer(
        restApiId=api_id,
        name="token",
        type="TOKEN",
        authorizerUri=invocation_uri(auth_arn),
        identitySource="method.request.header.Authorization",
    )
    assert token["authorizerResultTtlInSeconds"] == 300
    request = v1.create_authorizer(
        restApiId=api_id,
        name="request",
        type="REQUEST",
        authorizerUri=invocation_uri(auth_arn),
        identitySource="method.request.header.x-token",
        authorizerResultTtlInSeconds=0,
    )
    assert [a["name"] for a in v1.get_authorizers(restApiId=api_id)["items"]] == [
        "token",
        "request",
    ]
    with pytest.raises(ClientError) as info:
        v1.put_method(
            restApiId=api_id,
            resourceId=root,
            httpMethod="GET",
            authorizationType="CUSTOM",
            authorizerId="nope",
        )
    assert error_code(info)[:2] == ("BadRequestException", 400)
    v1.put_method(
        restApiId=api_id,
        resourceId=root,
        httpMethod="GET",
        authorizationType="CUSTOM",
        authorizerId=token["id"],
    )
    v1.put_integration(
        restApiId=api_id,
        resourceId=root,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=invocation_uri(echo_arn),
    )
    by_request = v1.create_resource(restApiId=api_id, parentId=root, pathPart="req")
    v1.put_method(
        restApiId=api_id,
        resourceId=by_request["id"],
        httpMethod="GET",
        authorizationType="CUSTOM",
        authorizerId=request["id"],
    )
    v1.put_integration(
        restApiId=api_id,
        resourceId=by_request["id"],
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=invocation_uri(echo_arn),
    )
    v1.create_deployment(restApiId=api_id, stageName="p")

    missing = call(server, api_id, "GET", "/p/")
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    bad = call(server, api_id, "GET", "/p/", headers={"Authorization": "bogus"})
    assert (bad.status_code, bad.json()) == (401, {"message": "Unauthorized"})
    denied = call(server, api_id, "GET", "/p/", headers={"Authorization": "deny"})
    assert denied.status_code == 403
    assert denied.json() == {
        "Message": "User is not authorized to access this resource with an explicit deny"
    }
    first = event_of(call(server, api_id, "GET", "/p/", headers={"Authorization": "allow"}))
    assert first["requestContext"]["authorizer"] == {
        "principalId": "user-1",
        "tier": "gold",
        "calls": first["requestContext"]["authorizer"]["calls"],
        "type": "TOKEN",
    }
    again = event_of(call(server, api_id, "GET", "/p/", headers={"Authorization": "allow"}))
    # the cached verdict: the authorizer was not called again
    assert (
        again["requestContext"]["authorizer"]["calls"]
        == first["requestContext"]["authorizer"]["calls"]
    )

    one = event_of(call(server, api_id, "GET", "/p/req", headers={"x-token": "allow"}))
    two = event_of(call(server, api_id, "GET", "/p/req", headers={"x-token": "allow"}))
    assert one["requestContext"]["authorizer"]["type"] == "REQUEST"
    assert (
        two["requestContext"]["authorizer"]["calls"] != one["requestContext"]["authorizer"]["calls"]
    )
    assert call(server, api_id, "GET", "/p/req").status_code == 401
