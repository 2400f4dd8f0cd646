"""Calling an integration: a function (Lambda proxy), an HTTP endpoint (HTTP proxy) or
a Step Functions action (AWS service integrations, see workflows.py).

The integration timeout is the gateway's, not the function's: when it expires the
client is answered at once and the invocation is left to finish in the background (its
instance must not be torn down half-way), exactly as API Gateway abandons a slow Lambda.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from stratus.gateway.jwt_tokens import KeySets
from stratus.gateway.requests import GatewayRequest
from stratus.gateway.responses import GatewayResponse
from stratus.gateway.targets import FunctionTarget
from stratus.gateway.workflows import ServiceAnswer, Workflows
from stratus.invoke.invoker import Invoker, InvokeResult

log = logging.getLogger(__name__)

#: Headers that describe one hop, never forwarded by a proxy (RFC 9110 section 7.6.1).
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


class IntegrationTimeout(Exception):
    """The integration did not answer within its timeout."""


class IntegrationFailure(Exception):
    """The integration could not be called (no such function, throttled, unreachable)."""


@dataclass(frozen=True)
class Integration:
    """An integration as one deployment serves it."""

    #: "AWS_PROXY", "HTTP_PROXY", "MOCK" or "AWS".
    kind: str
    uri: str
    #: The HTTP method for HTTP_PROXY ("ANY" means the request's own).
    method: str
    payload_version: str
    timeout: float
    function: FunctionTarget | None = None
    #: MOCK: request templates by content type, and integration responses.
    request_templates: dict[str, str] = field(default_factory=dict)
    responses: tuple[dict[str, Any], ...] = ()
    #: A Step Functions action ("StartExecution"...), for HTTP API subtypes and REST `AWS`.
    action: str = ""
    #: HTTP APIs: `RequestParameters` (Step Functions members from request data).
    request_parameters: dict[str, str] = field(default_factory=dict)
    #: REST: WHEN_NO_MATCH, WHEN_NO_TEMPLATES or NEVER.
    passthrough: str = "WHEN_NO_MATCH"


class Backends:
    """The clients integrations use: the invoker and one pooled HTTP client."""

    def __init__(self, invoker: Invoker, workflows: Workflows | None = None) -> None:
        self.invoker = invoker
        self.workflows = workflows
        self.home = invoker.functions.home
        self._http: httpx.AsyncClient | None = None
        #: JWT authorizers' issuer keys, fetched with the same client.
        self.key_sets = KeySets(self.http_client)
        self._abandoned: set[asyncio.Future[Any]] = set()

    async def invoke(self, target: FunctionTarget, payload: bytes, timeout: float) -> InvokeResult:
        """Invoke the function synchronously, waiting at most `timeout` seconds."""
        if not self.home.holds(target.arn):
            # No function of this node: the call fails as one to a missing function does.
            raise IntegrationFailure(f"Function not found: {target.arn}")
        task = asyncio.ensure_future(self.invoker.invoke(target.name, target.qualifier, payload))
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            self._abandoned.add(task)
            task.add_done_callback(self._forget)
            raise IntegrationTimeout(f"{target.name} did not answer in {timeout:.3f} s")
        try:
            return task.result()
        except Exception as error:  # a Lambda-side error: throttled, missing, ...
            raise IntegrationFailure(str(error)) from error

    async def call_states(
        self, action: str, request: dict[str, Any] | bytes, timeout: float
    ) -> ServiceAnswer:
        """Call a Step Functions action, waiting at most `timeout` seconds."""
        workflows = self.workflows
        if workflows is None:
            raise IntegrationFailure("this node runs no Step Functions service")
        call = (
            workflows.call_body(action, request)
            if isinstance(request, bytes)
            else workflows.call(action, request)
        )
        task = asyncio.ensure_future(call)
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            self._abandoned.add(task)
            task.add_done_callback(self._forget)
            raise IntegrationTimeout(f"Step Functions {action} did not answer in {timeout:.3f} s")
        return task.result()

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.info("abandoned integration call failed: %s", task.exception())

    async def proxy(
        self,
        integration: Integration,
        request: GatewayRequest,
        path_params: dict[str, str],
    ) -> GatewayResponse:
        """Forward the request to an HTTP endpoint and return its answer unchanged."""
        url = integration.uri
        for name, value in path_params.items():
            url = url.replace("{" + name + "}", quote(value, safe="/"))
            url = url.replace("{" + name + "+}", quote(value, safe="/"))
        if request.raw_query:
            url += ("&" if "?" in url else "?") + request.raw_query
        method = request.method if integration.method == "ANY" else integration.method
        headers = [(k, v) for k, v in request.header_list if k.lower() not in _HOP_BY_HOP]
        headers.append(("x-forwarded-for", request.source_ip))
        try:
            answer = await self.http_client().request(
                method,
                url,
                headers=headers,
                content=request.body,
                timeout=integration.timeout,
            )
        except httpx.TimeoutException as error:
            raise IntegrationTimeout(str(error)) from error
        except httpx.HTTPError as error:
            raise IntegrationFailure(f"{type(error).__name__}: {error}") from error
        out = [
            (k, v)
            for k, v in answer.headers.multi_items()
            if k.lower() not in _HOP_BY_HOP and k.lower() != "content-encoding"
        ]
        return GatewayResponse(answer.status_code, out, answer.content)

    def http_client(self) -> httpx.AsyncClient:
        """The pooled client for HTTP integrations and JWKS fetches."""
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
