"""`WireApp`: the raw ASGI app in front of every Stratus service.

Per request: find the service and operation (`X-Amz-Target` for json services, the
route table for rest-json), check the signature's header fields, read the body up to
the operation's limit, verify the signature, parse, validate, call the handler, and
serialize the result or error exactly as botocore expects.

No Starlette routing on this path on purpose: it is the invoke hot path, and a plain
ASGI callable with precompiled plans keeps the wire overhead to tens of microseconds.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import quote

import anyio.to_thread
from botocore.model import OperationModel

from stratus.errors import (
    InvalidSignatureException,
    StratusError,
    UnknownOperationException,
    not_implemented,
)
from stratus.ids import request_id as new_request_id
from stratus.wire.faults import internal_error
from stratus.wire.jsonproto import JsonProtocol, split_target
from stratus.wire.messages import WireRequest, WireResponse
from stratus.wire.model import BoundService, bind_service
from stratus.wire.restjson import RestJsonProtocol
from stratus.wire.routing import Router, compile_route
from stratus.wire.sigv4 import SignedRequest, SigV4Verifier
from stratus.wire.types import (
    CredentialStore,
    Params,
    RequestContext,
    Result,
    Service,
)
from stratus.wire.validate import RequestValidator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Bodies larger than this are hashed for SigV4 in a worker thread, off the event loop.
_HASH_OFF_LOOP_BYTES = 1 << 20


class WireProtocol(Protocol):
    """What a protocol implementation offers the app (rest-json and json)."""

    def parse(
        self, operation: OperationModel, request: WireRequest, labels: Mapping[str, str]
    ) -> Params: ...

    def serialize(
        self, operation: OperationModel, result: Result, request_id: str
    ) -> WireResponse: ...

    def serialize_error(self, error: StratusError, request_id: str) -> WireResponse: ...


@dataclass(frozen=True)
class _Endpoint:
    """A bound service with its protocol and validator."""

    bound: BoundService
    protocol: WireProtocol
    validator: RequestValidator


class _ClientDisconnected(Exception):
    """The client went away before the body arrived; there is nobody to answer."""


class WireApp:
    """The ASGI app that speaks the AWS wire protocols of the given services.

    `credentials` looks up SigV4 secrets; `default_region` is the region a request is
    attributed to if its signature scope names none. Each service's `operations()` is
    read once, here; an operation of the model without a handler answers 501.
    """

    def __init__(
        self,
        services: Sequence[Service],
        credentials: CredentialStore,
        default_region: str,
        logger: logging.Logger | None = None,
    ) -> None:
        self._logger = logger or logging.getLogger("stratus.wire")
        self._default_region = default_region
        self._verifier = SigV4Verifier(credentials)
        self._json_endpoints: dict[str, _Endpoint] = {}
        routes = []
        for service in services:
            bound = bind_service(service)
            if bound.protocol == "json":
                protocol: WireProtocol = JsonProtocol(bound.model, bound.json_version)
                endpoint = _Endpoint(bound, protocol, RequestValidator(service.invalid_request))
                self._json_endpoints[bound.target_prefix] = endpoint
                continue
            endpoint = _Endpoint(
                bound, RestJsonProtocol(bound.model), RequestValidator(service.invalid_request)
            )
            for name in bound.model.operation_names:
                http = bound.model.operation_model(name).http
                routes.append(
                    compile_route(
                        http.get("method", "POST"),
                        http["requestUri"],
                        (endpoint, name),
                        bound.signing_name,
                    )
                )
        self._router: Router[tuple[_Endpoint, str]] = Router(routes)
        self._rest_fallback = RestJsonProtocol(None)
        self._json_fallback = JsonProtocol(None, "1.1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._handle_http(scope, receive, send)
        elif kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})

    async def _handle_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False
        try:
            response = await self._respond(scope, receive)
            if response is None:
                return
            started = True
            await _send(send, response)
        except Exception:
            # Last line of defence: nothing may escape to the ASGI server.
            self._logger.exception("wire layer failed to answer %s", scope.get("path"))
            if not started:
                fallback = self._rest_fallback.serialize_error(
                    internal_error(RuntimeError()), new_request_id()
                )
                try:
                    await _send(send, fallback)
                except Exception:
                    self._logger.exception("could not send the fallback error response")

    async def _respond(self, scope: Scope, receive: Receive) -> WireResponse | None:
        request_id = new_request_id()
        request = _request_from_scope(scope)
        # Errors are written in the protocol of whatever the request turned out to be.
        protocol: WireProtocol = self._rest_fallback
        operation_name = ""
        try:
            signed, auth_error = self._inspect_signature(request)
            if "x-amz-target" in request.headers:
                protocol = self._json_fallback
            try:
                endpoint, operation_name, labels = self._resolve(request, signed)
            except UnknownOperationException:
                # Tell a caller who has not signed properly nothing about routes.
                if auth_error is not None:
                    raise auth_error from None
                raise
            protocol = endpoint.protocol
            signed = _require_signature(signed, auth_error, endpoint.bound)
            request.body = await self._read_verified_body(
                request, receive, endpoint.bound, operation_name, signed
            )
            return await self._call(
                endpoint, operation_name, request, labels, signed, request_id, scope
            )
        except _ClientDisconnected:
            return None
        except StratusError as error:
            return protocol.serialize_error(error, request_id)
        except Exception as error:
            self._logger.exception(
                "unhandled error in %s (request %s)", operation_name or request.raw_path, request_id
            )
            return protocol.serialize_error(internal_error(error), request_id)

    def _inspect_signature(
        self, request: WireRequest
    ) -> tuple[SignedRequest | None, StratusError | None]:
        # The scope's service name helps routing, so the header is read first; a bad
        # signature is reported once the protocol (and so the error format) is known.
        try:
            return self._verifier.inspect(request.headers, request.query), None
        except StratusError as error:
            return None, error

    async def _read_verified_body(
        self,
        request: WireRequest,
        receive: Receive,
        bound: BoundService,
        operation_name: str,
        signed: SignedRequest,
    ) -> bytes:
        service = bound.service
        limit = service.max_request_bytes(operation_name)
        body = await _read_body(
            receive,
            limit,
            request.headers.get("content-length"),
            lambda: service.request_too_large(operation_name, limit),
        )
        verify_args = (
            signed,
            request.method,
            request.raw_path,
            request.raw_query,
            request.header_list,
            body,
        )
        if len(body) > _HASH_OFF_LOOP_BYTES:
            await anyio.to_thread.run_sync(self._verifier.verify, *verify_args)
        else:
            self._verifier.verify(*verify_args)
        return body

    async def _call(
        self,
        endpoint: _Endpoint,
        operation_name: str,
        request: WireRequest,
        labels: Mapping[str, str],
        signed: SignedRequest,
        request_id: str,
        scope: Scope,
    ) -> WireResponse:
        bound = endpoint.bound
        handler = bound.handlers.get(operation_name)
        if handler is None:
            raise not_implemented(bound.name, operation_name)
        operation = bound.operation(operation_name)
        params = endpoint.protocol.parse(operation, request, labels)
        endpoint.validator.validate(operation, params)
        context = RequestContext(
            request_id=request_id,
            service=bound.name,
            operation=operation_name,
            principal=signed.principal,
            region=signed.region or self._default_region,
            source_ip=_client_ip(scope),
            headers=request.headers,
        )
        if operation_name in bound.async_operations:
            result = await cast(Awaitable[Result], handler(params, context))
        else:
            outcome = await anyio.to_thread.run_sync(handler, params, context)
            result = await outcome if inspect.isawaitable(outcome) else outcome
        return endpoint.protocol.serialize(
            operation, result if result is not None else {}, request_id
        )

    def _resolve(
        self, request: WireRequest, signed: SignedRequest | None
    ) -> tuple[_Endpoint, str, Mapping[str, str]]:
        target = request.headers.get("x-amz-target")
        if target is not None:
            prefix, operation_name = split_target(target)
            endpoint = self._json_endpoints.get(prefix)
            if endpoint is None or not endpoint.bound.has_operation(operation_name):
                raise UnknownOperationException(f"Unknown operation {target}")
            return endpoint, operation_name, {}
        match = self._router.match(
            request.method,
            request.raw_path,
            request.query,
            signed.service if signed is not None else None,
        )
        if match is None:
            raise UnknownOperationException(
                f"No operation matches {request.method} {request.raw_path}"
            )
        endpoint, operation_name = match.route.target
        return endpoint, operation_name, match.labels


def _require_signature(
    signed: SignedRequest | None, auth_error: StratusError | None, bound: BoundService
) -> SignedRequest:
    if auth_error is not None:
        raise auth_error
    assert signed is not None
    if signed.service != bound.signing_name:
        raise InvalidSignatureException(
            f"Credential should be scoped to correct service: '{bound.signing_name}'. "
        )
    return signed


def _request_from_scope(scope: Scope) -> WireRequest:
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else quote(scope.get("path", "/"))
    header_list = [
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in scope.get("headers", ())
    ]
    headers: dict[str, str] = {}
    for name, value in header_list:
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return WireRequest(
        method=scope.get("method", "GET"),
        raw_path=path,
        raw_query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        header_list=header_list,
    )


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


async def _read_body(
    receive: Receive,
    limit: int,
    declared_length: str | None,
    too_large: Callable[[], Exception],
) -> bytes:
    """The request body, refusing as soon as it is known to exceed `limit`.

    Nothing past the limit is buffered; the server discards the rest of an oversized
    body after the answer, so the client still reads the 413.
    """
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientDisconnected
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise too_large()
            chunks.append(chunk)
        more = message.get("more_body", False)
    if len(chunks) == 1:
        return chunks[0]
    return b"".join(chunks)


async def _send(send: Send, response: WireResponse) -> None:
    headers = []
    for name, value in response.headers:
        if "\r" in value or "\n" in value:
            value = value.replace("\r", " ").replace("\n", " ")  # no header splitting
        headers.append((name.encode("latin-1"), value.encode("utf-8")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
