"""OpenAPI 3 import and export, REST (apigateway) and HTTP APIs (apigatewayv2)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from tests.conftest import StratusServer, create_function, unique
from tests.integration.test_gateway_http import ECHO, call, error_code, event_of
from tests.integration.test_gateway_rest import invocation_uri

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def echo(server: StratusServer) -> str:
    config = create_function(server.client("lambda"), ECHO, name=unique("gw-oas"), Timeout=10)
    return str(config["FunctionArn"])


def rest_document(arn: str, title: str) -> str:
    proxy = {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": invocation_uri(arn),
        "passthroughBehavior": "when_no_match",
    }
    document = {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1.0"},
        "paths": {
            "/items/{id}": {
                "get": {
                    "operationId": "getItem",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True},
                        {"name": "q", "in": "query"},
                    ],
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": proxy,
                }
            },
            "/{proxy+}": {
                "x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": proxy}
            },
            "/mock": {
                "get": {
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": {
                        "type": "mock",
                        "requestTemplates": {"application/json": '{"statusCode": 200}'},
                        "responses": {
                            "default": {
                                "statusCode": "200",
                                "responseTemplates": {"application/json": '{"mocked": true}'},
                            }
                        },
                    },
                }
            },
        },
        "x-amazon-apigateway-frobnicate": True,
    }
    return yaml.safe_dump(document)


def routes_of(v1: Any, api_id: str) -> set[tuple[str, str]]:
    return {
        (r["path"], verb)
        for r in v1.get_resources(restApiId=api_id, embed=["methods"])["items"]
        for verb in r.get("resourceMethods") or {}
    }


def test_rest_import_deploy_call_export_reimport(server: StratusServer, echo: str) -> None:
    v1 = server.client("apigateway")
    title = unique("oas-rest")
    body = rest_document(echo, title)

    with pytest.raises(ClientError) as info:
        v1.import_rest_api(body=body.encode(), failOnWarnings=True)
    code, status, message = error_code(info)
    assert (code, status) == ("BadRequestException", 400)
    assert "x-amazon-apigateway-frobnicate" in message
    assert title not in [a["name"] for a in v1.get_rest_apis(limit=500)["items"]]

    api = v1.import_rest_api(body=body.encode())
    assert api["name"] == title
    assert any("x-amazon-apigateway-frobnicate" in w for w in api["warnings"])
    expected = {("/items/{id}", "GET"), ("/{proxy+}", "ANY"), ("/mock", "GET")}
    assert routes_of(v1, api["id"]) == expected

    v1.create_deployment(restApiId=api["id"], stageName="v1")
    event = event_of(call(server, api["id"], "GET", "/v1/items/5?q=z"))
    assert (event["resource"], event["path"]) == ("/items/{id}", "/items/5")
    assert event["pathParameters"] == {"id": "5"}
    assert event_of(call(server, api["id"], "DELETE", "/v1/a/b"))["pathParameters"] == {
        "proxy": "a/b"
    }
    mocked = call(server, api["id"], "GET", "/v1/mock")
    assert (mocked.status_code, mocked.json()) == (200, {"mocked": True})

    exported = v1.get_export(
        restApiId=api["id"],
        stageName="v1",
        exportType="oas30",
        parameters={"extensions": "integrations"},
        accepts="application/yaml",
    )
    document = yaml.safe_load(exported["body"].read())
    assert document["openapi"] == "3.0.1"
    assert document["info"]["title"] == title
    assert set(document["paths"]) == {"/items/{id}", "/{proxy+}", "/mock"}
    proxy = document["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]
    assert proxy["x-amazon-apigateway-integration"]["type"] == "aws_proxy"
    item = document["paths"]["/items/{id}"]["get"]
    assert {(p["in"], p["name"]) for p in item["parameters"]} == {("path", "id"), ("query", "q")}

    again = v1.import_rest_api(body=yaml.safe_dump(document).encode(), failOnWarnings=True)
    assert routes_of(v1, again["id"]) == expected
    v1.create_deployment(restApiId=again["id"], stageName="v1")
    assert call(server, again["id"], "GET", "/v1/mock").json() == {"mocked": True}

    plain = v1.get_export(restApiId=api["id"], stageName="v1", exportType="swagger")
    swagger = json.loads(plain["body"].read())
    assert swagger["swagger"] == "2.0" and swagger["basePath"] == "/v1"
    assert "x-amazon-apigateway-integration" not in swagger["paths"]["/mock"]["get"]


def test_rest_put_modes_and_refusals(server: StratusServer, echo: str) -> None:
    v1 = server.client("apigateway")
    api = v1.import_rest_api(body=rest_document(echo, unique("oas-put")).encode())
    extra = {
        "openapi": "3.0.1",
        "info": {"title": "extra"},
        "paths": {
            "/extra": {
                "get": {"x-amazon-apigateway-integration": {"type": "mock", "responses": {}}}
            }
        },
    }
    v1.put_rest_api(restApiId=api["id"], body=json.dumps(extra).encode())  # merge
    assert ("/extra", "GET") in routes_of(v1, api["id"])
    assert ("/mock", "GET") in routes_of(v1, api["id"])
    v1.put_rest_api(restApiId=api["id"], mode="overwrite", body=json.dumps(extra).encode())
    assert routes_of(v1, api["id"]) == {("/extra", "GET")}
    assert v1.get_rest_api(restApiId=api["id"])["name"] == "extra"

    guarded = {
        "openapi": "3.0.1",
        "info": {"title": "guarded"},
        "components": {
            "securitySchemes": {
                "auth": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authorizer": {"type": "token"},
                }
            }
        },
        "paths": {"/x": {"get": {"security": [{"auth": []}]}}},
    }
    with pytest.raises(ClientError) as info:
        v1.import_rest_api(body=json.dumps(guarded).encode())
    code, status, message = error_code(info)
    assert (code, status) == ("NotImplementedException", 501)
    assert "x-amazon-apigateway-authorizer" in message
    with pytest.raises(ClientError) as info:
        v1.import_rest_api(body=b"openapi: [unclosed")
    assert error_code(info)[:2] == ("BadRequestException", 400)


def http_document(arn: str, title: str) -> dict[str, Any]:
    integration = {"type": "aws_proxy", "uri": arn, "payloadFormatVersion": "2.0"}
    return {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "2"},
        "paths": {
            "/items/{id}": {"get": {"x-amazon-apigateway-integration": integration}},
            "$default": {
                "x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": integration}
            },
        },
        "x-amazon-apigateway-cors": {"allowOrigins": ["https://example.com"], "maxAge": 60},
    }


def route_keys(v2: Any, api_id: str) -> set[str]:
    return {r["RouteKey"] for r in v2.get_routes(ApiId=api_id)["Items"]}


def test_http_import_call_export_reimport(server: StratusServer, echo: str) -> None:
    v2 = server.client("apigatewayv2")
    title = unique("oas-http")
    document = http_document(echo, title)
    noisy = {**document, "x-amazon-apigateway-unknown-thing": 1}
    with pytest.raises(ClientError) as info:
        v2.import_api(Body=json.dumps(noisy), FailOnWarnings=True)
    assert error_code(info)[:2] == ("BadRequestException", 400)
    warned = v2.import_api(Body=json.dumps(noisy))
    assert any("x-amazon-apigateway-unknown-thing" in w for w in warned["Warnings"])

    api = v2.import_api(Body=yaml.safe_dump(document))
    api_id = api["ApiId"]
    assert (api["Name"], api["Version"]) == (title, "2")
    assert api["CorsConfiguration"] == {"AllowOrigins": ["https://example.com"], "MaxAge": 60}
    assert route_keys(v2, api_id) == {"GET /items/{id}", "$default"}
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    event = event_of(call(server, api_id, "GET", "/items/3"))
    assert (event["routeKey"], event["pathParameters"]) == ("GET /items/{id}", {"id": "3"})
    assert event_of(call(server, api_id, "POST", "/anything"))["routeKey"] == "$default"

    exported = v2.export_api(ApiId=api_id, Specification="OAS30", OutputType="YAML")
    text = exported["body"].read()
    described = yaml.safe_load(text)
    assert set(described["paths"]) == {"/items/{id}", "$default"}
    assert described["x-amazon-apigateway-cors"]["allowOrigins"] == ["https://example.com"]
    copy = v2.import_api(Body=text.decode(), FailOnWarnings=True)
    assert route_keys(v2, copy["ApiId"]) == route_keys(v2, api_id)
    bare = json.loads(
        v2.export_api(
            ApiId=api_id, Specification="OAS30", OutputType="JSON", IncludeExtensions=False
        )["body"].read()
    )
    assert "x-amazon-apigateway-integration" not in bare["paths"]["/items/{id}"]["get"]

    smaller = {
        "openapi": "3.0.1",
        "info": {"title": title},
        "paths": {
            "/other": {
                "get": {
                    "x-amazon-apigateway-integration": document["paths"]["/items/{id}"]["get"][
                        "x-amazon-apigateway-integration"
                    ]
                }
            }
        },
    }
    v2.reimport_api(ApiId=api_id, Body=json.dumps(smaller))
    assert route_keys(v2, api_id) == {"GET /other"}
    assert event_of(call(server, api_id, "GET", "/other"))["routeKey"] == "GET /other"
    assert call(server, api_id, "GET", "/items/3").status_code == 404
