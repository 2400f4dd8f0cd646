"""Serving the REST integrations that are mapped rather than proxied: MOCK, and AWS
(Step Functions). A request template shapes what the integration receives, and the
integration response whose `selectionPattern` matches the status shapes the answer.

A MOCK integration that no request can change is answered once, when the stage compiles
(`_constant_mock`); the others render their templates on every request.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl

from stratus.gateway.integrations import (
    Backends,
    Integration,
    IntegrationFailure,
    IntegrationTimeout,
)
from stratus.gateway.requests import GatewayRequest
from stratus.gateway.responses import GatewayResponse
from stratus.gateway.rest_served import (
    INTERNAL,
    TIMED_OUT,
    UNSUPPORTED_MEDIA_TYPE,
    RestStage,
    ServedMethod,
)
from stratus.gateway.templates import mock_status, render

log = logging.getLogger(__name__)


def _template_context(
    stage: RestStage, method: ServedMethod, request: GatewayRequest, params: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The `$context` values and the `$input.params` values of a request."""
    context = {
        "requestId": request.request_id,
        "stage": stage.name,
        "httpMethod": request.method,
        "resourcePath": method.resource_path,
        "resourceId": method.resource_id,
        "apiId": request.api_id,
    }
    every: dict[str, str] = dict(parse_qsl(request.raw_query))
    every.update({k.lower(): v for k, v in request.header_list})
    every.update(params)
    return context, every


def _request_template(integration: Integration, content_type: str) -> str:
    """The request template a MOCK integration applies to a body of `content_type`."""
    templates = integration.request_templates
    return templates.get(content_type) or templates.get("application/json") or ""


def _constant_mock(integration: Integration) -> GatewayResponse | None:
    """A MOCK integration's answer, if every request gets the same one: its request
    templates (whichever the content type picks) and its response templates reference
    nothing, and all the request templates select the same status. Such an answer is
    worked out when the stage compiles and sent as is."""
    if integration.kind != "MOCK":
        return None
    chosen = {_request_template(integration, kind) for kind in integration.request_templates}
    chosen.add(_request_template(integration, "application/json"))  # any other type
    if any("$" in template for template in chosen) or _responses_read_request(integration):
        return None
    statuses = {mock_status(template) for template in chosen}
    if len(statuses) != 1:
        return None
    try:
        return _integration_response({}, integration, statuses.pop(), {}, {}, "", b"")
    except re.error as error:
        # Not checked when stored: leave the failure to the requests, as before.
        log.info("MOCK integration has an invalid selectionPattern: %s", error)
        return None


def _responses_read_request(integration: Integration) -> bool:
    return any("$" in str(r.get("responseTemplates")) for r in integration.responses)


def _mock(
    stage: RestStage, method: ServedMethod, request: GatewayRequest, params: dict[str, str]
) -> GatewayResponse:
    integration = method.integration
    body_text = request.body.decode("utf-8", "replace")
    content_type = (request.header("content-type") or "application/json").split(";")[0]
    template = _request_template(integration, content_type)
    if "$" in template or _responses_read_request(integration):
        context, every = _template_context(stage, method, request, params)
    else:
        context, every = {}, {}  # constant templates: nothing to look up
    status = mock_status(render(template, context, stage.variables, every, body_text))
    return _integration_response(
        stage.variables, integration, status, context, every, body_text, b""
    )


async def _aws(
    stage: RestStage,
    method: ServedMethod,
    request: GatewayRequest,
    params: dict[str, str],
    backends: Backends,
) -> GatewayResponse:
    """An `AWS` integration (Step Functions): template the request, map the answer."""
    integration = method.integration
    if not integration.action:
        return INTERNAL
    context, every = _template_context(stage, method, request, params)
    body_text = request.body.decode("utf-8", "replace")
    content_type = (request.header("content-type") or "application/json").split(";")[0].strip()
    templates = integration.request_templates
    template = templates.get(content_type.lower())
    if template is not None:
        payload = render(template, context, stage.variables, every, body_text).encode()
    elif integration.passthrough == "NEVER" or (
        integration.passthrough == "WHEN_NO_TEMPLATES" and templates
    ):
        return UNSUPPORTED_MEDIA_TYPE
    else:
        payload = request.body
    try:
        answer = await backends.call_states(integration.action, payload, integration.timeout)
    except IntegrationTimeout:
        return TIMED_OUT
    except IntegrationFailure as error:
        log.info("AWS integration failed: %s", error)
        return INTERNAL
    return _integration_response(
        stage.variables,
        integration,
        answer.status,
        context,
        every,
        answer.body.decode(),
        answer.body,
    )


def _integration_response(
    stage_variables: dict[str, str],
    integration: Integration,
    status: int,
    context: dict[str, str],
    every: dict[str, str],
    body_text: str,
    passed_through: bytes,
) -> GatewayResponse:
    """The integration response whose selectionPattern matches `status`, else the default.

    Without a response template the integration's body passes through unchanged; with
    none matching and no default, AWS answers 500 (a configuration error).
    """
    chosen = None
    for response in integration.responses:
        pattern = response.get("selectionPattern")
        if pattern and re.fullmatch(pattern, str(status)):
            chosen = response
            break
    if chosen is None:
        chosen = next((r for r in integration.responses if not r.get("selectionPattern")), None)
    if chosen is None:
        log.info(
            "%s integration has no integration response for status %s", integration.kind, status
        )
        return INTERNAL
    headers = [("content-type", "application/json")]
    for key, value in (chosen.get("responseParameters") or {}).items():
        headers.append((key[len("method.response.header.") :], value[1:-1]))
    out_templates = chosen.get("responseTemplates") or {}
    out = out_templates.get("application/json") or next(iter(out_templates.values()), "")
    if out:
        body = render(out, context, stage_variables, every, body_text).encode()
    else:
        body = passed_through
    return GatewayResponse(int(chosen["statusCode"]), headers, body)
