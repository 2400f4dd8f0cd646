"""REST API integrations: a method's integration and its integration responses
(PutIntegration ... DeleteIntegrationResponse), and the checks on what they may hold.

An integration is stored inside its method, in the resource record, so these
operations are a mixin of `RestApis`, which finds and saves the method; Stratus serves
only the integrations and mapping templates that `rest_serving.py` can answer, and
refuses the others when they are stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from stratus.gateway.errors import (
    BadRequestException,
    GatewayUnsupported,
    NotFoundException,
)
from stratus.gateway.patch import apply_patch, as_int, as_text
from stratus.gateway.records import Record
from stratus.gateway.stage_cache import check_key_parameter
from stratus.gateway.targets import check_http_uri, function_target
from stratus.gateway.workflows import service_name, states_action
from stratus.wire.types import Params, RequestContext, Result

#: Mapping-template directives Stratus does not evaluate (it substitutes `$` variables).
_VTL_DIRECTIVES = re.compile(r"#(set|if|foreach|elseif|else|end|define|macro)\b")


class RestIntegrations:
    """PutIntegration ... DeleteIntegrationResponse, mixed into `RestApis`."""

    # Provided by `RestApis`: the method a request names, and saving it back.
    _method: Callable[[Params], tuple[Record, Record]]
    _save_method: Callable[[str, Record, Record], None]

    # --- integrations ----------------------------------------------------------------

    def _integration(self, params: Params) -> tuple[Record, Record, Record]:
        resource, method = self._method(params)
        integration = method.get("methodIntegration")
        if integration is None:
            raise NotFoundException("Invalid Integration identifier specified")
        return resource, method, integration

    def put_integration(self, params: Params, ctx: RequestContext) -> Result:
        resource, method = self._method(params)
        kind = params["type"]
        integration: Record = {
            "type": kind,
            "passthroughBehavior": params.get("passthroughBehavior") or "WHEN_NO_MATCH",
            "timeoutInMillis": params.get("timeoutInMillis") or 29000,
            "cacheNamespace": params.get("cacheNamespace") or resource["id"],
            "cacheKeyParameters": params.get("cacheKeyParameters") or [],
        }
        for member in ("requestParameters", "requestTemplates", "contentHandling"):
            if params.get(member):
                integration[member] = params[member]
        if params.get("integrationHttpMethod"):
            integration["httpMethod"] = params["integrationHttpMethod"]
        if params.get("uri"):
            integration["uri"] = params["uri"]
        if params.get("credentials") and kind == "AWS":
            integration["credentials"] = params["credentials"]
        integration["connectionType"] = params.get("connectionType") or "INTERNET"
        _check_integration(integration, params)
        method["methodIntegration"] = integration
        self._save_method(params["restApiId"], resource, method)
        return integration

    def get_integration(self, params: Params, ctx: RequestContext) -> Result:
        return self._integration(params)[2]

    def update_integration(self, params: Params, ctx: RequestContext) -> Result:
        resource, method, integration = self._integration(params)
        updated = apply_patch(
            integration,
            params.get("patchOperations") or [],
            {
                "uri": as_text,
                "httpMethod": as_text,
                "timeoutInMillis": as_int,
                "passthroughBehavior": as_text,
                "contentHandling": as_text,
            },
            maps=("requestTemplates", "requestParameters"),
            sets=("cacheKeyParameters",),
        )
        _check_integration(updated, {})
        method["methodIntegration"] = updated
        self._save_method(params["restApiId"], resource, method)
        return updated

    def delete_integration(self, params: Params, ctx: RequestContext) -> Result:
        resource, method, _ = self._integration(params)
        method.pop("methodIntegration", None)
        self._save_method(params["restApiId"], resource, method)
        return {}

    def put_integration_response(self, params: Params, ctx: RequestContext) -> Result:
        resource, method, integration = self._integration(params)
        code = params["statusCode"]
        response: Record = {"statusCode": code}
        for member in ("selectionPattern", "responseParameters", "responseTemplates"):
            if params.get(member) is not None:
                response[member] = params[member]
        if params.get("contentHandling"):
            response["contentHandling"] = params["contentHandling"]
        for template in (response.get("responseTemplates") or {}).values():
            _check_template(template)
        for key, value in (response.get("responseParameters") or {}).items():
            if not key.startswith("method.response.header.") or not _static(value):
                raise GatewayUnsupported(
                    f"response parameter mapping {key} = {value} (only static "
                    "'quoted' values for method.response.header.* are served)"
                )
        integration["integrationResponses"] = {
            **(integration.get("integrationResponses") or {}),
            code: response,
        }
        self._save_method(params["restApiId"], resource, method)
        return response

    def get_integration_response(self, params: Params, ctx: RequestContext) -> Result:
        _, _, integration = self._integration(params)
        found = (integration.get("integrationResponses") or {}).get(params["statusCode"])
        if found is None:
            raise NotFoundException("Invalid Response status code specified")
        return dict(found)

    def delete_integration_response(self, params: Params, ctx: RequestContext) -> Result:
        resource, method, integration = self._integration(params)
        responses = dict(integration.get("integrationResponses") or {})
        if responses.pop(params["statusCode"], None) is None:
            raise NotFoundException("Invalid Response status code specified")
        integration["integrationResponses"] = responses
        self._save_method(params["restApiId"], resource, method)
        return {}


def _check_integration(integration: Record, params: Params) -> None:
    kind = integration["type"]
    timeout = integration["timeoutInMillis"]
    if not 50 <= timeout <= 29000:
        raise BadRequestException("Timeout should be between 50 ms and 29000 ms")
    if integration.get("connectionType") != "INTERNET":
        raise GatewayUnsupported("VPC link integrations")
    for member in ("credentials", "tlsConfig", "connectionId"):
        if params.get(member) and not (member == "credentials" and kind == "AWS"):
            raise GatewayUnsupported(f"integration member {member}")
    for template in (integration.get("requestTemplates") or {}).values():
        _check_template(template)
    for name in integration.get("cacheKeyParameters") or []:
        if not check_key_parameter(name):
            raise BadRequestException(f"Invalid cache key parameter specified: {name}")
    if kind == "AWS_PROXY":
        if integration.get("httpMethod") != "POST":
            raise BadRequestException(
                "Integrations of type 'AWS_PROXY' currently only supports Lambda function and "
                "Firehose stream invocations, with HTTP method POST"
            )
        uri = integration.get("uri") or ""
        if "${stageVariables." not in uri:
            function_target(uri)
    elif kind == "HTTP_PROXY":
        if not integration.get("httpMethod"):
            raise BadRequestException("Enumeration value for HttpMethod must be non-empty")
        uri = integration.get("uri") or ""
        if "${stageVariables." not in uri:
            check_http_uri(uri)
    elif kind == "MOCK":
        pass
    elif kind == "AWS":
        uri = integration.get("uri") or ""
        if not uri.startswith("arn:"):
            raise BadRequestException(f"Invalid ARN specified in the request: {uri}")
        try:
            action = states_action(uri)
        except ValueError as error:
            raise GatewayUnsupported(str(error)) from None
        if action is None:
            raise GatewayUnsupported(
                f"AWS integrations with {service_name(uri)} (only Step Functions "
                "states:action/StartExecution, StartSyncExecution and StopExecution are served)"
            )
        if not integration.get("httpMethod"):
            raise BadRequestException("Enumeration value for HttpMethod must be non-empty")
    elif kind == "HTTP":
        raise GatewayUnsupported("non-proxy HTTP integrations (use HTTP_PROXY)")
    else:
        raise BadRequestException(f"Invalid integration type specified: {kind}")


def _check_template(template: str) -> None:
    if _VTL_DIRECTIVES.search(template or ""):
        raise GatewayUnsupported(
            "VTL directives (#set, #if, #foreach) in mapping templates; Stratus substitutes "
            "$context, $stageVariables and $input.params/$input.body references only"
        )


def _static(value: str) -> bool:
    return len(value) >= 2 and value.startswith("'") and value.endswith("'")
