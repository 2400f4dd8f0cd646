"""The `apigateway` control plane for REST APIs: APIs, resources, methods, integrations.

A resource record carries its methods (`resourceMethods`), each method its integration
(`methodIntegration`) and responses, as AWS returns them with `embed=methods`. Lists use
the `item` key on the wire (the model's `locationName`), which botocore renames `items`.
Cognito and IAM authorization, models and validators are not implemented: their
operations answer 501 by name, and a method asking for IAM or Cognito authorization is
refused instead of being served open. Integrations and their responses are in
`rest_integrations.py`, OpenAPI import and export in `rest_openapi.py`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from stratus.gateway.errors import (
    BadRequestException,
    ConflictException,
    GatewayUnsupported,
    NotFoundException,
)
from stratus.gateway.paging import rest_listing
from stratus.gateway.patch import apply_patch, as_bool, as_int, as_text
from stratus.gateway.records import GatewayStore, Record, new_id
from stratus.gateway.rest_integrations import RestIntegrations
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

REST_API = "rest_api"
AUTHORIZER = "authorizer"
RESOURCE = "resource"

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
_PATH_PART = re.compile(r"^(\{[A-Za-z0-9._-]+\+?\}|[A-Za-z0-9._:@~!$&'()*+,;=-]+)$")


class RestApis(RestIntegrations):
    """REST APIs and everything under them, except deployments and stages."""

    def __init__(self, store: GatewayStore, changed: Callable[[str], None]) -> None:
        self.store = store
        self.changed = changed

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "CreateRestApi": self.create_api,
            "GetRestApi": self.get_api,
            "GetRestApis": self.get_apis,
            "UpdateRestApi": self.update_api,
            "DeleteRestApi": self.delete_api,
            "CreateResource": self.create_resource,
            "GetResource": self.get_resource,
            "GetResources": self.get_resources,
            "UpdateResource": self.update_resource,
            "DeleteResource": self.delete_resource,
            "PutMethod": self.put_method,
            "GetMethod": self.get_method,
            "UpdateMethod": self.update_method,
            "DeleteMethod": self.delete_method,
            "PutMethodResponse": self.put_method_response,
            "GetMethodResponse": self.get_method_response,
            "DeleteMethodResponse": self.delete_method_response,
            "PutIntegration": self.put_integration,
            "GetIntegration": self.get_integration,
            "UpdateIntegration": self.update_integration,
            "DeleteIntegration": self.delete_integration,
            "PutIntegrationResponse": self.put_integration_response,
            "GetIntegrationResponse": self.get_integration_response,
            "DeleteIntegrationResponse": self.delete_integration_response,
        }

    # --- REST APIs -------------------------------------------------------------------

    def api(self, api_id: str) -> Record:
        found = self.store.get(REST_API, api_id, "")
        if found is None:
            raise NotFoundException("Invalid API identifier specified")
        return found

    def create_api(self, params: Params, ctx: RequestContext) -> Result:
        if params.get("cloneFrom"):
            raise GatewayUnsupported("cloning REST APIs (cloneFrom)")
        if params.get("policy"):
            raise GatewayUnsupported("resource policies on REST APIs")
        if params.get("apiKeySource") == "AUTHORIZER":
            raise GatewayUnsupported("API keys from authorizers (apiKeySource AUTHORIZER)")
        api_id = new_id()
        root = new_id()
        record: Record = {
            "id": api_id,
            "name": params["name"],
            "createdDate": time.time(),
            "apiKeySource": params.get("apiKeySource") or "HEADER",
            "endpointConfiguration": params.get("endpointConfiguration") or {"types": ["EDGE"]},
            "disableExecuteApiEndpoint": bool(params.get("disableExecuteApiEndpoint", False)),
            "rootResourceId": root,
            "tags": params.get("tags") or {},
        }
        for member in ("description", "version", "binaryMediaTypes", "minimumCompressionSize"):
            if params.get(member) is not None:
                record[member] = params[member]
        self.store.insert(REST_API, api_id, "", record)
        self.store.insert(RESOURCE, api_id, root, {"id": root, "path": "/"})
        return record

    def get_api(self, params: Params, ctx: RequestContext) -> Result:
        return self.api(params["restApiId"])

    def get_apis(self, params: Params, ctx: RequestContext) -> Result:
        return rest_listing(self.store.list(REST_API), params)

    def update_api(self, params: Params, ctx: RequestContext) -> Result:
        record = self.api(params["restApiId"])
        updated = apply_patch(
            record,
            params.get("patchOperations") or [],
            {
                "name": as_text,
                "description": as_text,
                "version": as_text,
                "apiKeySource": as_text,
                "disableExecuteApiEndpoint": as_bool,
                "minimumCompressionSize": as_int,
            },
            sets=("binaryMediaTypes",),
        )
        self.store.replace(REST_API, record["id"], "", updated)
        self.changed(record["id"])
        return updated

    def delete_api(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        self.api(api_id)
        self.store.delete_api(api_id)
        self.changed(api_id)
        return {}

    # --- resources -------------------------------------------------------------------

    def resource(self, api_id: str, resource_id: str) -> Record:
        self.api(api_id)
        found = self.store.get(RESOURCE, api_id, resource_id)
        if found is None:
            raise NotFoundException("Invalid Resource identifier specified")
        return found

    def create_resource(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        parent = self.resource(api_id, params["parentId"])
        part = params["pathPart"]
        self._check_part(api_id, parent, part, None)
        record: Record = {
            "id": new_id(),
            "parentId": parent["id"],
            "pathPart": part,
            "path": _join(parent["path"], part),
        }
        self.store.insert(RESOURCE, api_id, record["id"], record)
        return record

    def _check_part(self, api_id: str, parent: Record, part: str, resource_id: str | None) -> None:
        if not _PATH_PART.match(part):
            raise BadRequestException(
                f"Resource's path part only allow a-zA-Z0-9._- and curly braces at the "
                f"beginning and the end and an optional plus sign before the closing brace. "
                f"Got: {part}"
            )
        if parent["path"].endswith("+}"):
            raise BadRequestException("A greedy path variable cannot have children")
        for other in self.store.list(RESOURCE, api_id):
            if other.get("parentId") != parent["id"] or other["id"] == resource_id:
                continue
            if other["pathPart"] == part:
                raise ConflictException(
                    f"Another resource with the same parent already has this name: {part}"
                )
            if other["pathPart"].startswith("{") and part.startswith("{"):
                raise BadRequestException(
                    "A sibling ({}) of this resource already has a variable path part -- "
                    "only one is allowed".format(other["pathPart"])
                )

    def get_resource(self, params: Params, ctx: RequestContext) -> Result:
        return self.resource(params["restApiId"], params["resourceId"])

    def get_resources(self, params: Params, ctx: RequestContext) -> Result:
        self.api(params["restApiId"])
        return rest_listing(self.store.list(RESOURCE, params["restApiId"]), params)

    def update_resource(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        record = self.resource(api_id, params["resourceId"])
        if "parentId" not in record:
            raise BadRequestException("The root resource cannot be updated")
        updated = apply_patch(
            record,
            params.get("patchOperations") or [],
            {"pathPart": as_text, "parentId": as_text},
        )
        parent = self.resource(api_id, updated["parentId"])
        self._check_part(api_id, parent, updated["pathPart"], record["id"])
        old_path = record["path"]
        updated["path"] = _join(parent["path"], updated["pathPart"])
        self.store.replace(RESOURCE, api_id, record["id"], updated)
        for other in self.store.list(RESOURCE, api_id):  # move the subtree with it
            if other["path"].startswith(old_path + "/"):
                other["path"] = updated["path"] + other["path"][len(old_path) :]
                self.store.replace(RESOURCE, api_id, other["id"], other)
        return updated

    def delete_resource(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        record = self.resource(api_id, params["resourceId"])
        if "parentId" not in record:
            raise BadRequestException("Cannot delete the root resource")
        for other in self.store.list(RESOURCE, api_id):
            if other["id"] == record["id"] or other["path"].startswith(record["path"] + "/"):
                self.store.delete(RESOURCE, api_id, other["id"])
        return {}

    # --- methods ---------------------------------------------------------------------

    def _method(self, params: Params) -> tuple[Record, Record]:
        resource = self.resource(params["restApiId"], params["resourceId"])
        method = (resource.get("resourceMethods") or {}).get(params["httpMethod"])
        if method is None:
            raise NotFoundException("Invalid Method identifier specified")
        return resource, method

    def _save_method(self, api_id: str, resource: Record, method: Record) -> None:
        methods = dict(resource.get("resourceMethods") or {})
        methods[method["httpMethod"]] = method
        resource["resourceMethods"] = methods
        self.store.replace(RESOURCE, api_id, resource["id"], resource)

    def put_method(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        resource = self.resource(api_id, params["resourceId"])
        verb = params["httpMethod"]
        if verb not in METHODS:
            raise BadRequestException(f"Invalid HttpMethod specified: {verb}")
        self._check_auth(api_id, params)
        method: Record = {
            "httpMethod": verb,
            "authorizationType": params["authorizationType"],
            "apiKeyRequired": bool(params.get("apiKeyRequired", False)),
        }
        for member in ("operationName", "requestParameters", "requestModels", "authorizerId"):
            if params.get(member):
                method[member] = params[member]
        self._save_method(api_id, resource, method)
        return method

    def get_method(self, params: Params, ctx: RequestContext) -> Result:
        return self._method(params)[1]

    def update_method(self, params: Params, ctx: RequestContext) -> Result:
        resource, method = self._method(params)
        updated = apply_patch(
            method,
            params.get("patchOperations") or [],
            {
                "authorizationType": as_text,
                "apiKeyRequired": as_bool,
                "operationName": as_text,
                "authorizerId": as_text,
            },
            maps=("requestParameters",),
        )
        self._check_auth(params["restApiId"], updated)
        self._save_method(params["restApiId"], resource, updated)
        return updated

    def delete_method(self, params: Params, ctx: RequestContext) -> Result:
        resource, method = self._method(params)
        methods = dict(resource.get("resourceMethods") or {})
        methods.pop(method["httpMethod"], None)
        resource["resourceMethods"] = methods
        self.store.replace(RESOURCE, params["restApiId"], resource["id"], resource)
        return {}

    def put_method_response(self, params: Params, ctx: RequestContext) -> Result:
        resource, method = self._method(params)
        response: Record = {"statusCode": params["statusCode"]}
        for member in ("responseParameters", "responseModels"):
            if params.get(member):
                response[member] = params[member]
        method["methodResponses"] = {
            **(method.get("methodResponses") or {}),
            params["statusCode"]: response,
        }
        self._save_method(params["restApiId"], resource, method)
        return response

    def get_method_response(self, params: Params, ctx: RequestContext) -> Result:
        _, method = self._method(params)
        found = (method.get("methodResponses") or {}).get(params["statusCode"])
        if found is None:
            raise NotFoundException("Invalid Response status code specified")
        return dict(found)

    def delete_method_response(self, params: Params, ctx: RequestContext) -> Result:
        resource, method = self._method(params)
        responses = dict(method.get("methodResponses") or {})
        if responses.pop(params["statusCode"], None) is None:
            raise NotFoundException("Invalid Response status code specified")
        method["methodResponses"] = responses
        self._save_method(params["restApiId"], resource, method)
        return {}

    def _check_auth(self, api_id: str, params: Mapping[str, Any]) -> None:
        kind = params.get("authorizationType") or "NONE"
        if kind == "CUSTOM":
            found = params.get("authorizerId")
            if not found or self.store.get(AUTHORIZER, api_id, found) is None:
                raise BadRequestException("Invalid authorizer ID specified")
        elif kind not in ("NONE", "AWS_IAM"):
            raise GatewayUnsupported(f"method authorization (authorizationType {kind})")


def _join(parent_path: str, part: str) -> str:
    return f"/{part}" if parent_path == "/" else f"{parent_path}/{part}"
