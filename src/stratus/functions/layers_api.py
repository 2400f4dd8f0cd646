"""The Lambda layer operations: wire parameters in, wire shapes out.

The layer permission operations store and answer a version's policy as Lambda does, so
infrastructure code that shares layers (Terraform, SAM, CDK) deploys; with one account
nobody else could use a layer, so nothing enforces the policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stratus.errors import (
    InvalidParameterValueException,
    NotImplementedException,
    RequestTooLargeException,
)
from stratus.functions.layer_policy import LayerPolicies
from stratus.functions.layers import LayerService, LayerVersion
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

#: A base64 zip of 50 MB inside a JSON request is this large (as for CreateFunction).
MAX_CONTENT_REQUEST_BYTES = 70_167_211
DEFAULT_MAX_REQUEST_BYTES = 6_291_456

CodeUrl = Callable[[str], str]


class LayersApi:
    """PublishLayerVersion, GetLayerVersion(ByArn), ListLayers, ListLayerVersions,
    DeleteLayerVersion, and Add/RemoveLayerVersionPermission, GetLayerVersionPolicy."""

    model_name = "lambda"

    def __init__(self, layers: LayerService, code_url: CodeUrl) -> None:
        self.layers = layers
        #: A download URL for a zip by hex SHA-256 (the `Content.Location` Lambda gives).
        self.code_url = code_url
        self.policies = LayerPolicies(layers)

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "PublishLayerVersion": self.publish_layer_version,
            "GetLayerVersion": self.get_layer_version,
            "GetLayerVersionByArn": self.get_layer_version_by_arn,
            "ListLayers": self.list_layers,
            "ListLayerVersions": self.list_layer_versions,
            "DeleteLayerVersion": self.delete_layer_version,
            "AddLayerVersionPermission": self.add_layer_version_permission,
            "RemoveLayerVersionPermission": self.remove_layer_version_permission,
            "GetLayerVersionPolicy": self.get_layer_version_policy,
        }

    def max_request_bytes(self, operation: str) -> int:
        if operation == "PublishLayerVersion":
            return MAX_CONTENT_REQUEST_BYTES
        return DEFAULT_MAX_REQUEST_BYTES

    def request_too_large(self, operation: str, limit: int) -> Exception:
        return RequestTooLargeException(
            f"Request must be smaller than {limit} bytes for the {operation} operation"
        )

    # --- handlers --------------------------------------------------------------------

    def publish_layer_version(self, params: Params, ctx: RequestContext) -> Result:
        published = self.layers.publish(
            params["LayerName"],
            _zip_from(params["Content"]),
            description=params.get("Description", ""),
            compatible_runtimes=params.get("CompatibleRuntimes"),
            compatible_architectures=params.get("CompatibleArchitectures"),
            license_info=params.get("LicenseInfo"),
        )
        return self.layer_version(published)

    def get_layer_version(self, params: Params, ctx: RequestContext) -> Result:
        return self.layer_version(self.layers.get(params["LayerName"], params["VersionNumber"]))

    def get_layer_version_by_arn(self, params: Params, ctx: RequestContext) -> Result:
        return self.layer_version(self.layers.get_by_arn(params["Arn"]))

    def list_layers(self, params: Params, ctx: RequestContext) -> Result:
        page, marker = self.layers.list_layers(
            compatible_runtime=params.get("CompatibleRuntime"),
            compatible_architecture=params.get("CompatibleArchitecture"),
            marker=params.get("Marker"),
            max_items=params.get("MaxItems", 50),
        )
        items = [
            {
                "LayerName": latest.name,
                "LayerArn": latest.layer_arn,
                "LatestMatchingVersion": list_item(latest),
            }
            for latest in page
        ]
        result: dict[str, Any] = {"Layers": items}
        if marker:
            result["NextMarker"] = marker
        return result

    def list_layer_versions(self, params: Params, ctx: RequestContext) -> Result:
        page, marker = self.layers.list_versions(
            params["LayerName"],
            compatible_runtime=params.get("CompatibleRuntime"),
            compatible_architecture=params.get("CompatibleArchitecture"),
            marker=params.get("Marker"),
            max_items=params.get("MaxItems", 50),
        )
        result: dict[str, Any] = {"LayerVersions": [list_item(lv) for lv in page]}
        if marker:
            result["NextMarker"] = marker
        return result

    def delete_layer_version(self, params: Params, ctx: RequestContext) -> Result:
        self.layers.delete(params["LayerName"], params["VersionNumber"])
        return {}

    def add_layer_version_permission(self, params: Params, ctx: RequestContext) -> Result:
        statement, revision_id = self.policies.add(
            params["LayerName"],
            params["VersionNumber"],
            params["StatementId"],
            params["Action"],
            params["Principal"],
            organization_id=params.get("OrganizationId"),
            revision_id=params.get("RevisionId"),
        )
        return {"Statement": statement, "RevisionId": revision_id}

    def remove_layer_version_permission(self, params: Params, ctx: RequestContext) -> Result:
        self.policies.remove(
            params["LayerName"],
            params["VersionNumber"],
            params["StatementId"],
            revision_id=params.get("RevisionId"),
        )
        return {}

    def get_layer_version_policy(self, params: Params, ctx: RequestContext) -> Result:
        policy, revision_id = self.policies.get(params["LayerName"], params["VersionNumber"])
        return {"Policy": policy, "RevisionId": revision_id}

    # --- shapes ----------------------------------------------------------------------

    def layer_version(self, lv: LayerVersion) -> dict[str, Any]:
        """The output of Publish/GetLayerVersion(ByArn)."""
        result = list_item(lv)
        result.pop("LayerVersionArn")
        result.update(
            {
                "Content": {
                    "Location": self.code_url(lv.code_sha256_hex),
                    "CodeSha256": lv.code_sha256,
                    "CodeSize": lv.code_size,
                },
                "LayerArn": lv.layer_arn,
                "LayerVersionArn": lv.version_arn,
            }
        )
        return result


def list_item(lv: LayerVersion) -> dict[str, Any]:
    """The `LayerVersionsListItem` shape (ListLayerVersions, ListLayers' latest)."""
    item: dict[str, Any] = {
        "LayerVersionArn": lv.version_arn,
        "Version": lv.version,
        "Description": lv.description,
        "CreatedDate": lv.created_date,
    }
    # Lambda leaves out what the publisher did not give, and keeps an empty list empty.
    if lv.compatible_runtimes is not None:
        item["CompatibleRuntimes"] = list(lv.compatible_runtimes)
    if lv.compatible_architectures is not None:
        item["CompatibleArchitectures"] = list(lv.compatible_architectures)
    if lv.license_info is not None:
        item["LicenseInfo"] = lv.license_info
    return item


def _zip_from(content: Mapping[str, Any]) -> bytes:
    if content.get("S3Bucket") or content.get("S3Key") or content.get("S3ObjectVersion"):
        raise NotImplementedException(
            "Stratus does not support Content.S3Bucket (layer content from a bucket) yet; "
            "upload Content.ZipFile instead."
        )
    zip_bytes = content.get("ZipFile")
    if not zip_bytes:
        raise InvalidParameterValueException("Please provide a source for layer content.")
    return bytes(zip_bytes)
