"""Invoke URLs: reading a request's Host and path, and remembering what was read."""

from __future__ import annotations

import pytest

from stratus.gateway.urls import Addresses, address_of

pytestmark = pytest.mark.timeout(10)


def test_host_based_address() -> None:
    address = address_of("AbC123.execute-api.localhost:4566", "/prod/a%20b/c?x=1")
    assert (address.api_id, address.domain) == ("abc123", "AbC123.execute-api.localhost")
    assert (address.path, address.received_path) == ("/prod/a%20b/c", "/prod/a%20b/c")
    assert (address.first_segment, address.after_first) == ("prod", "/a%20b/c")


def test_path_based_address() -> None:
    address = address_of("localhost:4566", "/_stratus/execute-api/abc123/my%20stage/items")
    assert (address.api_id, address.domain) == ("abc123", "abc123.execute-api.localhost")
    assert address.path == "/my%20stage/items"
    assert address.received_path == "/_stratus/execute-api/abc123/my%20stage/items"
    assert (address.first_segment, address.after_first) == ("my stage", "/items")


def test_addresses_remember_a_bounded_number() -> None:
    addresses = Addresses(limit=2)
    first = addresses.of(b"abc123.execute-api.localhost", b"/prod/x")
    assert addresses.of(b"abc123.execute-api.localhost", b"/prod/x") is first
    addresses.of(b"abc123.execute-api.localhost", b"/prod/y")
    addresses.of(b"abc123.execute-api.localhost", b"/prod/z")  # full: starts again
    again = addresses.of(b"abc123.execute-api.localhost", b"/prod/x")
    assert again is not first and again == first
