"""From a function's result to the HTTP response, and the gateway's own error answers.

Payload format 2.0 accepts any JSON: an object with `statusCode` is a response
description; anything else (an object without it, a list, a string, a number) is
"200, application/json, this JSON as the body". Format 1.0 (and every REST API)
requires the description: a result without a valid `statusCode`, with members other
than the five AWS allows, or with values of the wrong type is a malformed response,
answered 502.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class GatewayResponse:
    """What the data plane sends back."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @cached_property
    def wire_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """The headers as ASGI sends them: encoded, CR and LF blanked, Content-Length
        from the body. Kept once worked out, so a constant answer (the gateway's errors,
        a constant MOCK answer, a cached response) is encoded once, not per request."""
        encoded = tuple(
            (name.encode("latin-1"), value.replace("\r", " ").replace("\n", " ").encode("utf-8"))
            for name, value in self.headers
            if name.lower() != "content-length"
        )
        return (*encoded, (b"content-length", str(len(self.body)).encode()))


class MalformedResponse(Exception):
    """The function's result is not a response API Gateway can send."""


_V1_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


def error_response(status: int, message: str, error_type: str | None = None) -> GatewayResponse:
    """The gateway's own `{"message": ...}` answer."""
    body = json.dumps({"message": message}).encode()
    headers = [("content-type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return GatewayResponse(status, headers, body)


def from_lambda_v2(payload: bytes) -> GatewayResponse:
    """Map a function's result under payload format 2.0."""
    try:
        result = json.loads(payload) if payload.strip() else None
    except ValueError as error:
        raise MalformedResponse("the result is not JSON") from error
    if isinstance(result, dict) and "statusCode" in result:
        return _described(result, allow_cookies=True, strict=False)
    if result is None:
        return GatewayResponse(200, [("content-type", "application/json")], b"")
    return GatewayResponse(200, [("content-type", "application/json")], payload)


def from_lambda_v1(payload: bytes) -> GatewayResponse:
    """Map a function's result under payload format 1.0 (REST and HTTP APIs)."""
    try:
        result = json.loads(payload)
    except ValueError as error:
        raise MalformedResponse("the result is not JSON") from error
    if not isinstance(result, dict) or "statusCode" not in result:
        raise MalformedResponse("the result has no statusCode")
    if set(result) - _V1_KEYS:
        raise MalformedResponse(f"unexpected members {sorted(set(result) - _V1_KEYS)}")
    return _described(result, allow_cookies=False, strict=True)


def _described(result: dict[str, Any], allow_cookies: bool, strict: bool) -> GatewayResponse:
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse("statusCode is not an HTTP status")
    headers: list[tuple[str, str]] = []
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedResponse("headers must be objects")
    for name, value in single.items():
        if name.lower() in {k.lower() for k in multi}:
            continue  # multiValueHeaders wins, as on AWS
        headers.append((str(name), _header_value(value, strict)))
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponse("multiValueHeaders values must be lists")
        headers.extend((str(name), _header_value(value, strict)) for value in values)
    if allow_cookies:
        cookies = result.get("cookies") or []
        if not isinstance(cookies, list):
            raise MalformedResponse("cookies must be a list")
        headers.extend(("set-cookie", str(cookie)) for cookie in cookies)
    body_value = result.get("body")
    if body_value is None:
        body = b""
    elif isinstance(body_value, str):
        body = body_value.encode("utf-8")
    elif strict:
        raise MalformedResponse("body must be a string")
    else:
        body = json.dumps(body_value).encode()
    if result.get("isBase64Encoded") is True and body:
        try:
            body = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise MalformedResponse("body is not valid base64") from error
    if allow_cookies and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("content-type", "application/json"))
    return GatewayResponse(status, headers, body)


def _header_value(value: Any, strict: bool) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise MalformedResponse("header values must be strings")
