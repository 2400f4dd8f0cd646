"""`GatewayApp`: the data plane, a raw ASGI app serving every deployed API.

A request reaches it by Host (`{apiId}.execute-api.localhost:{port}`) or by path
(`/_stratus/execute-api/{apiId}/...`; see `urls.py`). The `Registry` keeps each API's
stages compiled in memory, built from the store on first use and dropped whenever the
control plane changes the API; a stage's compiled form is immutable, so a request that
started on the old deployment finishes on it while the next one sees the new.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from stratus.gateway.access_logs import AccessLog, write
from stratus.gateway.authorizers import AuthorizerCache
from stratus.gateway.context import context_variables
from stratus.gateway.http_records import HTTP_API
from stratus.gateway.http_serving import HttpStage, compile_http_stage, serve_http
from stratus.gateway.http_stages import DEPLOYMENT, STAGE, snapshot_of
from stratus.gateway.iam_auth import IamAuthorizer
from stratus.gateway.integrations import Backends
from stratus.gateway.records import GatewayStore
from stratus.gateway.requests import GatewayRequest
from stratus.gateway.responses import GatewayResponse, error_response
from stratus.gateway.rest_apis import REST_API
from stratus.gateway.rest_served import RestStage
from stratus.gateway.rest_serving import answer_directly, compile_rest_stage, serve_rest
from stratus.gateway.rest_stages import REST_DEPLOYMENT, REST_STAGE
from stratus.gateway.stage_cache import StageCaches
from stratus.gateway.urls import PATH_PREFIX, Address, Addresses, address_of
from stratus.gateway.usage_meter import Meter
from stratus.observe.logs import LogStore

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: API Gateway's payload limit.
MAX_BODY = 10 * 1024 * 1024

_NO_API = error_response(404, "Not Found")
_TOO_LARGE = error_response(413, "Request Entity Too Large")
_REST_FORBIDDEN = error_response(403, "Forbidden", "ForbiddenException")


@dataclass(frozen=True)
class ServedApi:
    """Everything one API serves right now."""

    api_id: str
    #: "http" or "rest".
    kind: str
    http_stages: dict[str, HttpStage] = field(default_factory=dict)
    rest_stages: dict[str, RestStage] = field(default_factory=dict)
    binary_types: tuple[str, ...] = ()


class Registry:
    """Compiled APIs by id, loaded lazily and dropped on change."""

    def __init__(self, store: GatewayStore) -> None:
        self.store = store
        self._apis: dict[str, ServedApi | None] = {}
        self._generation: dict[str, int] = {}
        self._lock = threading.Lock()

    def invalidate(self, api_id: str) -> None:
        """Forget the compiled API (called by the control plane after each change)."""
        with self._lock:
            self._generation[api_id] = self._generation.get(api_id, 0) + 1
            self._apis.pop(api_id, None)

    def cached(self, api_id: str) -> tuple[bool, ServedApi | None]:
        """(known, api): the compiled API if it is in memory."""
        found = self._apis.get(api_id, _MISSING)
        if found is _MISSING:
            return False, None
        return True, found  # type: ignore[return-value]

    def load(self, api_id: str) -> ServedApi | None:
        """Compile the API from the store (blocking; run in a worker thread)."""
        with self._lock:
            generation = self._generation.get(api_id, 0)
        served = self._compile(api_id)
        with self._lock:
            if self._generation.get(api_id, 0) == generation:
                self._apis[api_id] = served
        return served

    def _compile(self, api_id: str) -> ServedApi | None:
        if self.store.get(HTTP_API, api_id, "") is not None:
            stages: dict[str, HttpStage] = {}
            for stage in self.store.list(STAGE, api_id):
                deployment_id = stage.get("DeploymentId")
                deployment = (
                    self.store.get(DEPLOYMENT, api_id, deployment_id) if deployment_id else None
                )
                if deployment is not None:
                    stages[stage["StageName"]] = compile_http_stage(
                        stage, snapshot_of(deployment), deployment_id or ""
                    )
            return ServedApi(api_id, "http", http_stages=stages)
        rest = self.store.get(REST_API, api_id, "")
        if rest is not None:
            rest_stages: dict[str, RestStage] = {}
            for stage in self.store.list(REST_STAGE, api_id):
                deployment = self.store.get(REST_DEPLOYMENT, api_id, stage["deploymentId"])
                if deployment is not None:
                    rest_stages[stage["stageName"]] = compile_rest_stage(stage, deployment)
            return ServedApi(
                api_id,
                "rest",
                rest_stages=rest_stages,
                binary_types=tuple(rest.get("binaryMediaTypes") or ()),
            )
        return None


_MISSING = object()


class GatewayApp:
    """The ASGI app answering invoke URLs."""

    def __init__(
        self,
        registry: Registry,
        backends: Backends,
        account_id: str,
        meter: Meter,
        logs: LogStore | None = None,
        caches: StageCaches | None = None,
        iam: IamAuthorizer | None = None,
    ) -> None:
        self.logs = logs
        #: Checks SigV4 on AWS_IAM methods and routes; without it they refuse everyone.
        self.iam = iam
        #: REST stage caches; shared with the control plane, which flushes them.
        self.caches = caches or StageCaches()
        self.registry = registry
        self.meter = meter
        self.authorizer_cache = AuthorizerCache()
        self.backends = backends
        self.account_id = account_id
        self.addresses = Addresses()

    @staticmethod
    def claims(scope: Scope) -> bool:
        """Whether a request is for a deployed API rather than for Stratus itself."""
        if scope["path"].startswith(PATH_PREFIX):
            return True
        for name, value in scope.get("headers", ()):
            if name == b"host":
                return value.find(b".execute-api.") >= 0  # `in` on bytes costs twice as much
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self._respond(scope, receive)
        except Exception:
            log.exception("gateway failed on %s", scope.get("path"))
            response = error_response(500, "Internal Server Error")
        if response is not None:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": response.wire_headers,
                }
            )
            await send({"type": "http.response.body", "body": response.body})

    async def _respond(self, scope: Scope, receive: Receive) -> GatewayResponse | None:
        host = b""
        for name, value in scope.get("headers", ()):
            if name == b"host":
                host = value
                break
        raw = scope.get("raw_path")
        if raw:
            address = self.addresses.of(host, raw)
        else:
            address = address_of(host.decode("latin-1"), scope["path"])
        known, api = self.registry.cached(address.api_id)
        if not known:
            api = await anyio.to_thread.run_sync(self.registry.load, address.api_id)
        if api is None:
            return _NO_API
        body = await _read_body(receive)
        if body is None:
            return None
        if len(body) > MAX_BODY:
            return _TOO_LARGE
        segment = address.first_segment
        if api.kind == "http":
            stage = api.http_stages.get(segment) if segment != "$default" else None
            path = address.after_first
            if stage is None:
                stage = api.http_stages.get("$default")
                if stage is None:
                    return _NO_API
                path = address.path
            request = _request(scope, address, path, stage.name, body)
            response = await serve_http(
                stage, request, self.backends, self.account_id, self.authorizer_cache, self.iam
            )
            self._access_log(stage.access_log, request, response)
            return response
        rest_stage = api.rest_stages.get(segment)
        if rest_stage is None:
            return _REST_FORBIDDEN
        answer = answer_directly(rest_stage, scope["method"], address.after_first)
        if answer is not None:
            return answer
        request = _request(scope, address, address.after_first, rest_stage.name, body)
        response = await serve_rest(
            rest_stage,
            request,
            self.backends,
            self.account_id,
            api.binary_types,
            self.meter,
            self.authorizer_cache,
            self.caches,
            self.iam,
        )
        self._access_log(rest_stage.access_log, request, response)
        return response

    def _access_log(
        self, access_log: AccessLog | None, request: GatewayRequest, response: GatewayResponse
    ) -> None:
        if access_log is None or self.logs is None:
            return
        variables = context_variables(request, account_id=self.account_id)
        variables.update(request.log_context)
        latency = int(time.time() * 1000) - request.time_ms
        variables.update(
            status=str(response.status),
            responseLength=str(len(response.body)),
            responseLatency=str(latency),
        )
        if response.status >= 400 and response.body.startswith(b'{"message"'):
            # The gateway's own error answer; a function's look-alike body is skipped.
            with contextlib.suppress(ValueError, KeyError):
                variables["error.message"] = str(json.loads(response.body)["message"])
        stream = f"{request.api_id}/{request.stage}"
        write(self.logs, access_log, stream, request.time_ms, access_log.line(variables))


def _request(scope: Scope, address: Address, path: str, stage: str, body: bytes) -> GatewayRequest:
    client = scope.get("client")
    # Headers are decoded and the request id drawn only if something reads them.
    return GatewayRequest(
        api_id=address.api_id,
        method=scope["method"],
        raw_path=address.path,
        path=path,
        raw_query=scope.get("query_string", b"").decode("latin-1"),
        raw_headers=scope.get("headers", ()),
        body=body,
        source_ip=str(client[0]) if client else "",
        domain_name=address.domain,
        stage=stage,
        protocol=f"HTTP/{scope.get('http_version', '1.1')}",
        received_path=address.received_path,
    )


async def _read_body(receive: Receive) -> bytes | None:
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body  # the usual case: the whole body in one message
    chunks = [body]
    size = len(body)
    while size <= MAX_BODY:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
