"""Domain records of the function service: a function version and how it is named."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stratus.errors import (
    AccessDeniedException,
    InvalidParameterValueException,
    ResourceNotFoundException,
    StratusError,
)
from stratus.functions.layers import LayerVersion
from stratus.functions.stamps import lambda_timestamp, new_revision_id

if TYPE_CHECKING:
    from stratus.wire.types import RequestContext

LATEST = "$LATEST"

#: The fields of a configuration ListFunctions and ListVersionsByFunction leave out.
_STATE_FIELDS = (
    "State",
    "StateReason",
    "StateReasonCode",
    "LastUpdateStatus",
    "LastUpdateStatusReason",
    "LastUpdateStatusReasonCode",
)

# name | name:qualifier | account:function:name[:q]
# | arn:aws:lambda:region:account:function:name[:q]
_FUNCTION_REF = re.compile(
    r"^(?:arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:(?P<region>[a-z0-9-]+):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)


@dataclass(frozen=True)
class FunctionRef:
    """What a `FunctionName` parameter names: a function and maybe a qualifier."""

    name: str
    qualifier: str | None


@dataclass(frozen=True)
class Home:
    """The one region and account this node's functions live in: the ones its function
    ARNs name (settings' `region` and `account_id`).

    A full or partial ARN naming another region or account names no function here, and
    Lambda refuses it before looking anything up. Rejected: comparing with the region of
    the request's signature (`RequestContext.region`), as a multi-region emulator must:
    Stratus accepts a signature scoped to any region but answers with ARNs of its own,
    so a client configured for another region would be refused the very ARNs it had
    just been given."""

    region: str
    account_id: str

    def holds(self, value: str) -> bool:
        """Whether `value`, if a function name or ARN at all, names this region and account."""
        match = _FUNCTION_REF.match(value)
        return match is None or self.admits(match)

    def admits(self, match: re.Match[str]) -> bool:
        """Whether a match of a function name or ARN names this region and account."""
        region, account = match["region"], match["account"]
        return (region is None or region == self.region) and (
            account is None or account == self.account_id
        )

    def refusal(
        self, match: re.Match[str], qualifier: str | None, ctx: RequestContext | None
    ) -> StratusError:
        """Lambda's answer to a function ARN (`match`) of another account or region."""
        account, region = match["account"], match["region"]
        if account is not None and account != self.account_id:
            # Authorization comes first: no resource policy here can let anyone in, as
            # that account has no functions on this node. With no request (a workflow's
            # task), the node's own account is the caller.
            operation = ctx.operation if ctx is not None else "Invoke"
            action = _IAM_ACTIONS.get(operation, f"lambda:{operation}")
            caller = (
                ctx.principal.arn if ctx is not None else f"arn:aws:iam::{self.account_id}:root"
            )
            resource = function_arn(
                region or self.region, account, match["name"], match["qualifier"] or qualifier
            )
            return AccessDeniedException(
                f"User: {caller} is not authorized to perform: {action} on resource: "
                f"{resource} because no resource-based policy allows the {action} action"
            )
        return ResourceNotFoundException(
            f"Functions from '{region}' are not reachable in this region ('{self.region}')"
        )


#: Operations whose IAM action is not `lambda:<operation>`.
_IAM_ACTIONS = {"Invoke": "lambda:InvokeFunction", "InvokeAsync": "lambda:InvokeFunction"}


def parse_function_ref(
    value: str,
    qualifier: str | None = None,
    *,
    home: Home | None,
    ctx: RequestContext | None = None,
) -> FunctionRef:
    """Split a name, partial ARN or ARN (optionally qualified) into name and qualifier.

    An ARN naming a region or account other than `home`'s is refused as Lambda refuses
    it (`ctx`, the request, names the caller in an AccessDenied message). `home` is None
    only where the node's region and account are not known; nothing is checked then.
    A qualifier in the ARN and a separate `Qualifier` must agree, as Lambda requires."""
    match = _FUNCTION_REF.match(value)
    if match is None:
        raise InvalidParameterValueException(f"Invalid function name or ARN: {value}")
    # On the invoke path: a name without a colon names no region or account, and the
    # substring test is cheaper than looking the groups up.
    if home is not None and ":" in value and not home.admits(match):
        raise home.refusal(match, qualifier, ctx)
    name = match["name"]
    if len(name) > 64:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{value}' at 'functionName' failed to "
            "satisfy constraint: Member must have length less than or equal to 64"
        )
    derived = match["qualifier"]
    if derived is not None and qualifier is not None and derived != qualifier:
        raise InvalidParameterValueException(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return FunctionRef(name, derived if derived is not None else qualifier)


def function_arn(region: str, account_id: str, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


@dataclass(frozen=True)
class FunctionVersion:
    """The configuration and code of one version of a function (`$LATEST` for now).

    Frozen: a change is a new record with a new `revision_id`."""

    name: str
    runtime: str
    role: str
    handler: str
    code_sha256_hex: str
    code_size: int
    version: str = LATEST
    description: str = ""
    timeout: int = 3
    memory_size: int = 128
    environment: Mapping[str, str] = field(default_factory=dict)
    ephemeral_storage: int = 512
    architectures: tuple[str, ...] = ("x86_64",)
    tracing_mode: str = "PassThrough"
    log_format: str = "Text"
    log_group: str = ""
    revision_id: str = field(default_factory=new_revision_id)
    last_modified: str = field(default_factory=lambda: lambda_timestamp())
    #: Pending | Active | Failed (Inactive is not used: Stratus keeps nothing to reclaim).
    state: str = "Pending"
    state_reason: str | None = "The function is being created."
    state_reason_code: str | None = "Creating"
    #: Successful | InProgress | Failed
    last_update_status: str = "Successful"
    last_update_status_reason: str | None = None
    last_update_status_reason_code: str | None = None
    #: For a published version: the `$LATEST` revision it was cut from, so publishing
    #: an unchanged `$LATEST` again returns this version instead of a copy.
    published_from: str | None = None
    #: Layers in order, as resolved when configured: a layer version deleted later keeps
    #: serving the functions that use it, as on Lambda.
    layers: tuple[LayerVersion, ...] = ()
    #: Bytes the code unpacks to (for the code + layers size limit).
    code_unzipped_size: int = 0

    @property
    def code_sha256(self) -> str:
        """Base64 of the SHA-256 of the zip, as Lambda reports `CodeSha256`."""
        return base64.b64encode(bytes.fromhex(self.code_sha256_hex)).decode()

    @property
    def effective_log_group(self) -> str:
        return self.log_group or f"/aws/lambda/{self.name}"

    def replace(self, **changes: Any) -> FunctionVersion:
        return dataclasses.replace(self, **changes)

    # --- persistence --------------------------------------------------------------

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["environment"] = dict(self.environment)
        data["layers"] = [json.loads(layer.to_json()) for layer in self.layers]
        data["architectures"] = list(self.architectures)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FunctionVersion:
        data = json.loads(text)
        data["architectures"] = tuple(data.get("architectures", ("x86_64",)))
        data["layers"] = tuple(
            LayerVersion.from_json(json.dumps(layer)) for layer in data.get("layers", ())
        )
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    # --- the wire shape -----------------------------------------------------------

    def to_configuration(
        self, region: str, account_id: str, *, among_versions: bool = False, listed: bool = False
    ) -> dict[str, Any]:
        """The `FunctionConfiguration` shape Lambda returns. `$LATEST`'s ARN is the
        unqualified one, except `among_versions` (ListVersionsByFunction, ListFunctions
        with `FunctionVersion=ALL`), where Lambda qualifies it as the others are.
        `listed` (ListFunctions, ListVersionsByFunction) leaves out the state fields, as
        Lambda's reference says ListFunctions does and its recorded answers show for both:
        GetFunction has them."""
        qualified = among_versions or self.version != LATEST
        config: dict[str, Any] = {
            "FunctionName": self.name,
            "FunctionArn": function_arn(
                region, account_id, self.name, self.version if qualified else None
            ),
            "Runtime": self.runtime,
            "Role": self.role,
            "Handler": self.handler,
            "CodeSize": self.code_size,
            "Description": self.description,
            "Timeout": self.timeout,
            "MemorySize": self.memory_size,
            "LastModified": self.last_modified,
            "CodeSha256": self.code_sha256,
            "Version": self.version,
            "TracingConfig": {"Mode": self.tracing_mode},
            "RevisionId": self.revision_id,
            "State": self.state,
            "PackageType": "Zip",
            "Architectures": list(self.architectures),
            "EphemeralStorage": {"Size": self.ephemeral_storage},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": self.log_format, "LogGroup": self.effective_log_group},
        }
        if self.state != "Pending":
            # A function being created has had no update yet: Lambda's CreateFunction
            # answer has no LastUpdateStatus, and it is "Successful" once Active.
            config["LastUpdateStatus"] = self.last_update_status
        if self.environment:
            config["Environment"] = {"Variables": dict(self.environment)}
        if self.layers:
            config["Layers"] = [layer.function_layer() for layer in self.layers]
        optional = {
            "StateReason": self.state_reason,
            "StateReasonCode": self.state_reason_code,
            "LastUpdateStatusReason": self.last_update_status_reason,
            "LastUpdateStatusReasonCode": self.last_update_status_reason_code,
        }
        config.update({k: v for k, v in optional.items() if v is not None})
        if listed:
            for key in _STATE_FIELDS:
                config.pop(key, None)
        return config
