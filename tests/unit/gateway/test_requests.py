"""`GatewayRequest`: headers decoded from the scope's bytes and the request id drawn on
first use, the same on every read after."""

from __future__ import annotations

import uuid

import pytest

from .gateway_testing import make_request

pytestmark = pytest.mark.timeout(10)


def test_headers_from_the_scope() -> None:
    received = make_request(raw_headers=[(b"Host", b"h"), (b"x-caf\xe9", b"\xe9t\xe9")])
    assert received.header_list == [("Host", "h"), ("x-caf\u00e9", "\u00e9t\u00e9")]
    assert received.header("HOST") == "h"
    assert received.header_list is received.header_list
    given = make_request(header_list=[("A", "1")], raw_headers=[(b"b", b"2")])
    assert given.header_list == [("A", "1")]


def test_request_id_is_drawn_once() -> None:
    drawn = make_request()
    assert drawn.request_id == drawn.request_id
    assert uuid.UUID(drawn.request_id).version == 4
    assert make_request().request_id != drawn.request_id
    assert make_request(request_id="rid").request_id == "rid"


def test_log_context_starts_empty() -> None:
    assert make_request().log_context == {}
