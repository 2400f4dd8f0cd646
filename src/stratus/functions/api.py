"""The Lambda control-plane operations: wire parameters in, wire shapes out.

Each handler reads the parsed request, calls the function service and shapes the
answer. Parameters AWS accepts but Stratus cannot honour yet are refused with an error
that names them, never ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Any

from stratus.errors import (
    InvalidParameterValueException,
    NotImplementedException,
    RequestTooLargeException,
    ResourceNotFoundException,
)
from stratus.functions.aliases import AliasService, is_alias_name
from stratus.functions.configuration import ConfigChange
from stratus.functions.layers import LayerService
from stratus.functions.model import FunctionVersion, parse_function_ref
from stratus.functions.service import FunctionService
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

#: A base64 zip of 50 MB inside a JSON request is this large (Lambda's own figure).
MAX_CODE_REQUEST_BYTES = 70_167_211
DEFAULT_MAX_REQUEST_BYTES = 6_291_456
CODE_LINK_SECONDS = 600

_UNSUPPORTED_CREATE = {
    "VpcConfig": "VPC networking",
    "DeadLetterConfig": "dead-letter queues",
    "KMSKeyArn": "KMS encryption",
    "FileSystemConfigs": "EFS file systems",
    "CodeSigningConfigArn": "code signing",
    "ImageConfig": "container images",
    "CapacityProviderConfig": "Managed Instances",
    "DurableConfig": "durable functions",
    "TenancyConfig": "tenant isolation",
    "PublishTo": "publishing to a capacity provider",
}


class CodeLinks:
    """Short-lived signed URLs for downloading a function's zip (GetFunction's Code)."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def sign(self, sha256_hex: str, expires: int) -> str:
        return hmac.new(self._key, f"{sha256_hex}:{expires}".encode(), hashlib.sha256).hexdigest()

    def url(self, base: str, sha256_hex: str) -> str:
        expires = int(time.time()) + CODE_LINK_SECONDS
        sig = self.sign(sha256_hex, expires)
        return f"{base}/_stratus/code/{sha256_hex}?expires={expires}&signature={sig}"

    def verify(self, sha256_hex: str, expires: str, signature: str) -> bool:
        try:
            deadline = int(expires)
        except ValueError:
            return False
        good = hmac.compare_digest(self.sign(sha256_hex, deadline), signature)
        return good and deadline >= time.time()


class FunctionsApi:
    """Lambda's control-plane operations."""

    model_name = "lambda"

    def __init__(
        self,
        functions: FunctionService,
        aliases: AliasService,
        links: CodeLinks,
        layers: LayerService,
    ) -> None:
        self.functions = functions
        self.aliases = aliases
        self.layers = layers
        self.links = links
        self.region = functions.region
        self.account_id = functions.account_id
        self.home = functions.home

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "CreateFunction": self.create_function,
            "GetFunction": self.get_function,
            "GetFunctionConfiguration": self.get_function_configuration,
            "ListFunctions": self.list_functions,
            "UpdateFunctionCode": self.update_function_code,
            "UpdateFunctionConfiguration": self.update_function_configuration,
            "DeleteFunction": self.delete_function,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTags": self.list_tags,
        }

    def max_request_bytes(self, operation: str) -> int:
        if operation in ("CreateFunction", "UpdateFunctionCode"):
            return MAX_CODE_REQUEST_BYTES
        return DEFAULT_MAX_REQUEST_BYTES

    def request_too_large(self, operation: str, limit: int) -> Exception:
        name = "InvokeFunction" if operation == "Invoke" else operation
        return RequestTooLargeException(
            f"Request must be smaller than {limit} bytes for the {name} operation"
        )

    def configuration(self, fn: FunctionVersion) -> dict[str, Any]:
        return fn.to_configuration(self.region, self.account_id)

    # --- create / read ---------------------------------------------------------------

    def create_function(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        if ref.qualifier is not None:
            raise InvalidParameterValueException(
                "Unsupported parameter: a function name with a qualifier cannot be created."
            )
        for member, feature in _UNSUPPORTED_CREATE.items():
            if _meaningful(params.get(member)):
                raise _unsupported(member, feature)
        if params.get("PackageType", "Zip") != "Zip":
            raise _unsupported("PackageType=Image", "container images")
        runtime, handler = params.get("Runtime"), params.get("Handler")
        if not runtime or not handler:
            raise InvalidParameterValueException(
                "Runtime and Handler are mandatory parameters for functions created with "
                "deployment packages."
            )
        zip_bytes = _zip_from(params["Code"])
        logging_config = params.get("LoggingConfig") or {}
        fn = FunctionVersion(
            name=ref.name,
            runtime=runtime,
            role=params["Role"],
            handler=handler,
            code_sha256_hex="",
            code_size=0,
            description=params.get("Description", ""),
            timeout=params.get("Timeout", 3),
            memory_size=params.get("MemorySize", 128),
            environment=(params.get("Environment") or {}).get("Variables") or {},
            ephemeral_storage=(params.get("EphemeralStorage") or {}).get("Size", 512),
            architectures=tuple(params.get("Architectures") or ("x86_64",)),
            tracing_mode=(params.get("TracingConfig") or {}).get("Mode", "PassThrough"),
            log_format=_log_format(logging_config),
            log_group=logging_config.get("LogGroup", ""),
            layers=tuple(self.layers.resolve(params.get("Layers") or [])),
        )
        created = self.functions.create(fn, zip_bytes, params.get("Tags") or {})
        if params.get("Publish"):
            return self.configuration(self._publish_now(created.name))
        return self.configuration(created)

    def _publish_now(self, name: str) -> FunctionVersion:
        """`Publish=true`: finish preparing `$LATEST` in this call, then publish it."""
        self.functions.prepare_now(name)
        return self.functions.publish(name, None, None, None)

    def _lookup(self, name: str, qualifier: str | None) -> dict[str, Any]:
        """The configuration a qualifier names; for an alias, its version's, with the
        alias's ARN, as Lambda answers."""
        if is_alias_name(qualifier):
            assert qualifier is not None
            alias = self.aliases.qualifying(name, qualifier)
            config = self.configuration(self.functions.get(name, alias.function_version))
            config["FunctionArn"] = self.aliases.arn(name, qualifier)
            return config
        return self.configuration(self.functions.get(name, qualifier))

    def get_function(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(
            params["FunctionName"], params.get("Qualifier"), home=self.home, ctx=ctx
        )
        config = self._lookup(ref.name, ref.qualifier)
        fn = self.functions.get(ref.name, config["Version"])
        host = ctx.headers.get("host", "127.0.0.1")
        result: dict[str, Any] = {
            "Configuration": config,
            "Code": {
                "RepositoryType": "S3",
                "Location": self.links.url(f"http://{host}", fn.code_sha256_hex),
            },
        }
        tags = self.functions.tags(ref.name)
        if tags:
            result["Tags"] = tags
        reserved = self.functions.reserved_concurrency(ref.name)
        if reserved is not None:
            result["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
        return result

    def get_function_configuration(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(
            params["FunctionName"], params.get("Qualifier"), home=self.home, ctx=ctx
        )
        return self._lookup(ref.name, ref.qualifier)

    def list_functions(self, params: Params, ctx: RequestContext) -> Result:
        if params.get("MasterRegion"):
            raise _unsupported("MasterRegion", "Lambda@Edge replicas")
        every_version = params.get("FunctionVersion") == "ALL"
        page, marker = self.functions.page(
            params.get("Marker"), params.get("MaxItems", 50), all_versions=every_version
        )
        result: dict[str, Any] = {
            "Functions": [
                fn.to_configuration(
                    self.region, self.account_id, among_versions=every_version, listed=True
                )
                for fn in page
            ]
        }
        if marker:
            result["NextMarker"] = marker
        return result

    # --- update / delete -------------------------------------------------------------

    def update_function_code(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        if params.get("ImageUri"):
            raise _unsupported("ImageUri", "container images")
        if "ZipFile" not in params:
            raise InvalidParameterValueException("Please provide a source for function code.")
        updated = self.functions.update_code(
            ref.name,
            params["ZipFile"],
            params.get("RevisionId"),
            dry_run=bool(params.get("DryRun")),
        )
        if params.get("Publish") and not params.get("DryRun"):
            return self.configuration(self._publish_now(ref.name))
        return self.configuration(updated)

    def update_function_configuration(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        for member in ("VpcConfig", "DeadLetterConfig", "KMSKeyArn", "FileSystemConfigs"):
            if _meaningful(params.get(member)):
                raise _unsupported(member, _UNSUPPORTED_CREATE[member])
        layer_arns = params.get("Layers")
        environment = params.get("Environment")
        logging_config = params.get("LoggingConfig")
        change = ConfigChange(
            runtime=params.get("Runtime"),
            role=params.get("Role"),
            handler=params.get("Handler"),
            description=params.get("Description"),
            timeout=params.get("Timeout"),
            memory_size=params.get("MemorySize"),
            environment=(environment.get("Variables") or {}) if environment is not None else None,
            ephemeral_storage=(params.get("EphemeralStorage") or {}).get("Size"),
            tracing_mode=(params.get("TracingConfig") or {}).get("Mode"),
            log_format=_log_format(logging_config) if logging_config else None,
            log_group=logging_config.get("LogGroup") if logging_config else None,
            layers=None if layer_arns is None else tuple(self.layers.resolve(layer_arns)),
        )
        updated = self.functions.update_configuration(ref.name, change, params.get("RevisionId"))
        return self.configuration(updated)

    def delete_function(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(
            params["FunctionName"], params.get("Qualifier"), home=self.home, ctx=ctx
        )
        if is_alias_name(ref.qualifier):
            raise InvalidParameterValueException("Deletion of aliases is not currently supported.")
        self.functions.delete(ref.name, ref.qualifier)
        return {}

    # --- tags and account ------------------------------------------------------------

    def _tagged(self, arn: str, ctx: RequestContext) -> str:
        ref = parse_function_ref(arn, home=self.home, ctx=ctx)
        try:
            self.functions.get(ref.name)
        except ResourceNotFoundException as exc:
            raise ResourceNotFoundException(f"Function not found: {arn}") from exc
        return ref.name

    def tag_resource(self, params: Params, ctx: RequestContext) -> Result:
        self.functions.set_tags(self._tagged(params["Resource"], ctx), params["Tags"], [])
        return {}

    def untag_resource(self, params: Params, ctx: RequestContext) -> Result:
        self.functions.set_tags(self._tagged(params["Resource"], ctx), {}, params["TagKeys"])
        return {}

    def list_tags(self, params: Params, ctx: RequestContext) -> Result:
        return {"Tags": self.functions.tags(self._tagged(params["Resource"], ctx))}


def _meaningful(value: object) -> bool:
    """True for a value that asks for something (tools send empty VpcConfig often)."""
    if isinstance(value, dict):
        return any(_meaningful(v) for v in value.values())
    if isinstance(value, list | tuple | str):
        return len(value) > 0
    return value is not None and value is not False


def _unsupported(member: str, feature: str) -> NotImplementedException:
    return NotImplementedException(f"Stratus does not support {member} ({feature}) yet.")


def _zip_from(code: Mapping[str, Any]) -> bytes:
    if code.get("S3Bucket") or code.get("S3Key"):
        raise _unsupported("Code.S3Bucket", "code from a bucket; upload Code.ZipFile instead")
    if code.get("ImageUri"):
        raise _unsupported("Code.ImageUri", "container images")
    zip_bytes = code.get("ZipFile")
    if not zip_bytes:
        raise InvalidParameterValueException("Please provide a source for function code.")
    return bytes(zip_bytes)


def _log_format(logging_config: Mapping[str, Any]) -> str:
    log_format = logging_config.get("LogFormat", "Text")
    if log_format != "Text":
        raise _unsupported("LoggingConfig.LogFormat=JSON", "JSON log format")
    return str(log_format)
