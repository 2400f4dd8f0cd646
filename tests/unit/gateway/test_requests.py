"""`GatewayRequest`: headers decoded from the scope's bytes and the request id drawn on
first use, the same on every read after."""

from __future__ import annotations

import uuid

import pytest

from stratus.gateway.requests import GatewayRequest

pytestmark = pytest.mark.timeout(10)


def request(**changes: object) -> GatewayRequest:
    values: dict[str, object] = {
        "api_id": "abc123",
        "method": "GET",
        "raw_path": "/prod/x",
        "path": "/x",
        "raw_query": "",
        "body": b"",
        "source_ip": "10.0.0.1",
        "domain_name": "abc123.execute-api.localhost",
        "stage": "prod",
    }
    values.update(changes)
    return GatewayRequest(**values)  # type: ignore[arg-type]


def test_headers_from_the_scope() -> None:
    received = request(raw_headers=[(b"Host", b"h"), (b"x-caf\xe9", b"\xe9t\xe9")])
    assert received.header_list == [("Host", "h"), ("x-caf\u00e9", "\u00e9t\u00e9")]
    assert received.header("HOST") == "h"
    assert received.header_list is received.header_list
    given = request(header_list=[("A", "1")], raw_headers=[(b"b", b"2")])
    assert given.header_list == [("A", "1")]


def test_request_id_is_drawn_once() -> None:
    drawn = request()
    assert drawn.request_id == drawn.request_id
    assert uuid.UUID(drawn.request_id).version == 4
    assert request().request_id != drawn.request_id
    assert request(request_id="rid").request_id == "rid"


def test_log_context_starts_empty() -> None:
    assert request().log_context == {}
