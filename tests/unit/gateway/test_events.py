"""Event builders: what 2.0 omits, what 1.0 sends as null, where the stage goes."""

from __future__ import annotations

import pytest

from stratus.gateway.events import RouteInfo, event_v1, event_v2
from stratus.gateway.requests import GatewayRequest, is_text
from stratus.gateway.throttle import Bucket, bucket_for

from .gateway_testing import make_request

pytestmark = pytest.mark.timeout(10)


def request(**changes: object) -> GatewayRequest:
    values: dict[str, object] = {
        "header_list": [("host", "h"), ("x-a", "1"), ("x-a", "2")],
        "request_id": "rid",
        "time_ms": 1_583_348_638_390,
    }
    values.update(changes)
    return make_request(**values)


INFO = RouteInfo("GET /x", "/x", {}, {}, "000000000000")


def test_v2_omits_absent_parts_and_joins_repeated_headers() -> None:
    event = event_v2(request(), INFO)
    assert "cookies" not in event and "queryStringParameters" not in event
    assert "pathParameters" not in event and "stageVariables" not in event
    assert "body" not in event
    assert event["headers"]["x-a"] == "1,2"
    assert event["requestContext"]["time"] == "04/Mar/2020:19:03:58 +0000"


def test_v1_sends_nulls_and_last_header_value() -> None:
    event = event_v1(request(), INFO)
    assert event["queryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["body"] is None
    assert event["headers"]["x-a"] == "2"
    assert event["multiValueHeaders"]["x-a"] == ["1", "2"]
    rest = event_v1(request(), RouteInfo("", "/x", {}, {}, "0", "res1", "dep1", rest=True))
    assert rest["path"] == "/x"
    assert rest["requestContext"]["path"] == "/prod/x"
    assert "version" not in rest


def test_text_types() -> None:
    assert is_text("application/json; charset=utf-8")
    assert is_text("application/vnd.api+json")
    assert is_text("text/csv")
    assert not is_text("application/octet-stream")
    assert not is_text(None)


def test_buckets() -> None:
    assert bucket_for(None, None) is None
    bucket = Bucket(rate=0.0, burst=2)
    assert [bucket.take() for _ in range(3)] == [True, True, False]
