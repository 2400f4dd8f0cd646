"""Shared by the gateway's unit tests: a request as the data plane builds one."""

from __future__ import annotations

from stratus.gateway.requests import GatewayRequest


def make_request(**changes: object) -> GatewayRequest:
    """A GET of /x on stage prod of API abc123, with `changes` applied."""
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
