"""One exception hierarchy for Stratus.

Every error a caller can see is a `StratusError` that knows its AWS error code and HTTP
status. The wire layer turns it into the exact shape the caller's protocol expects; no
other layer formats errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class StratusError(Exception):
    """An error with an AWS error code, an HTTP status and a message for the caller."""

    code: ClassVar[str] = "ServiceException"
    status: ClassVar[int] = 500
    #: "User" when the caller is at fault, "Service" when Stratus is.
    fault: ClassVar[str] = "User"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        #: Modelled extra members of the error shape (e.g. Lambda's `Reason`), by
        #: member name. The wire layer places them where the model says (body or header).
        self.fields: Mapping[str, Any] = fields

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# --- caller errors (4xx) ---------------------------------------------------------------


class ValidationException(StratusError):
    """A request member violates its model constraint (pattern, length, range, enum)."""

    code = "ValidationException"
    status = 400


class InvalidParameterValueException(StratusError):
    """A parameter is well-formed but not acceptable (Lambda's semantic validation)."""

    code = "InvalidParameterValueException"
    status = 400


class InvalidRequestContentException(StratusError):
    """The request body cannot be parsed."""

    code = "InvalidRequestContentException"
    status = 400


class SerializationException(StratusError):
    """A JSON-protocol body cannot be parsed (json 1.0/1.1 services)."""

    code = "SerializationException"
    status = 400


class InvalidParameterException(StratusError):
    """CloudWatch Logs' name for a bad parameter."""

    code = "InvalidParameterException"
    status = 400


class PolicyLengthExceededException(StratusError):
    """A resource policy would exceed Lambda's 20 KB limit."""

    code = "PolicyLengthExceededException"
    status = 400


class MissingAuthenticationTokenException(StratusError):
    """The request carries no SigV4 signature at all."""

    code = "MissingAuthenticationTokenException"
    status = 403


class UnrecognizedClientException(StratusError):
    """The access key in the signature is not known to Stratus."""

    code = "UnrecognizedClientException"
    status = 403


class InvalidSignatureException(StratusError):
    """The signature does not match, or the request is too old or too new."""

    code = "InvalidSignatureException"
    status = 403


class AccessDeniedException(StratusError):
    """The caller may not act on the resource (a function of another account)."""

    code = "AccessDeniedException"
    status = 403


class ResourceNotFoundException(StratusError):
    """The named resource does not exist."""

    code = "ResourceNotFoundException"
    status = 404


class UnknownOperationException(StratusError):
    """No operation of any service Stratus speaks matches the request."""

    code = "UnknownOperationException"
    status = 404


class ProvisionedConcurrencyConfigNotFound(StratusError):
    """A function qualifier has no provisioned concurrency configuration."""

    code = "ProvisionedConcurrencyConfigNotFoundException"
    status = 404


class ResourceConflictException(StratusError):
    """The resource exists already, or is busy with another change."""

    code = "ResourceConflictException"
    status = 409


class PreconditionFailedException(StratusError):
    """A `RevisionId` (or similar) precondition does not hold."""

    code = "PreconditionFailedException"
    status = 412


class RequestTooLargeException(StratusError):
    """The request body exceeds the operation's limit."""

    code = "RequestTooLargeException"
    status = 413


class TooManyRequestsException(StratusError):
    """A concurrency or rate limit was hit; `Reason` says which."""

    code = "TooManyRequestsException"
    status = 429


# --- Step Functions caller errors (400, named as the service names them) ---------------


class _StatesCallerError(StratusError):
    status = 400


class StateMachineDoesNotExist(_StatesCallerError):
    """No state machine has that ARN."""

    code = "StateMachineDoesNotExist"


class StateMachineAlreadyExists(_StatesCallerError):
    """A state machine of that name exists with another definition or role."""

    code = "StateMachineAlreadyExists"


class StateMachineTypeNotSupported(_StatesCallerError):
    """The operation does not apply to this type of state machine."""

    code = "StateMachineTypeNotSupported"


class InvalidDefinition(_StatesCallerError):
    """The Amazon States Language definition is not valid."""

    code = "InvalidDefinition"


class InvalidArn(_StatesCallerError):
    """An ARN that is malformed or of the wrong kind."""

    code = "InvalidArn"


class InvalidName(_StatesCallerError):
    """A state machine or execution name Step Functions does not accept."""

    code = "InvalidName"


class InvalidExecutionInput(_StatesCallerError):
    """Execution input that is not JSON, or too large."""

    code = "InvalidExecutionInput"


class ExecutionAlreadyExists(_StatesCallerError):
    """An execution of that name exists with another input, or has ended."""

    code = "ExecutionAlreadyExists"


class InvalidToken(_StatesCallerError):
    """A task token Stratus did not hand out."""

    code = "InvalidToken"


class InvalidOutput(_StatesCallerError):
    """Task output that is not JSON."""

    code = "InvalidOutput"


class TaskDoesNotExist(_StatesCallerError):
    """No task waits for that token (any more)."""

    code = "TaskDoesNotExist"


class TaskTimedOut(_StatesCallerError):
    """The task that waited for that token timed out."""

    code = "TaskTimedOut"


class ActivityDoesNotExist(_StatesCallerError):
    """No activity has that ARN."""

    code = "ActivityDoesNotExist"


class ExecutionNotRedrivable(_StatesCallerError):
    """The execution cannot be redriven (running, succeeded, or too old)."""

    code = "ExecutionNotRedrivable"


class ExecutionDoesNotExist(_StatesCallerError):
    """No execution has that ARN."""

    code = "ExecutionDoesNotExist"


# --- Stratus errors (5xx) --------------------------------------------------------------


class ServiceException(StratusError):
    """Stratus itself failed. Never raised because of user code."""

    code = "ServiceException"
    status = 500
    fault = "Service"


class NotImplementedException(StratusError):
    """A real AWS operation that Stratus does not implement yet.

    501 on purpose: botocore retries 500/502/503/504 but not 501, so the caller sees the
    message at once instead of after three attempts.
    """

    code = "NotImplementedException"
    status = 501
    fault = "Service"


def not_implemented(service: str, operation: str) -> NotImplementedException:
    """The error for an operation that exists in AWS but not (yet) in Stratus."""
    return NotImplementedException(
        f"Stratus does not implement the {service} operation {operation} yet."
    )
