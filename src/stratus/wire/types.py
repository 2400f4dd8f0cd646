"""The contract between the wire layer and the services behind it.

A service implements `operation(params, ctx) -> result` for the operations it supports,
where `params` is the request parsed from the botocore model into plain Python values
(dicts, lists, str, int, bool, bytes for blobs, datetime for timestamps) and `result`
is a dict shaped like the operation's output shape. The wire layer does everything
protocol-specific: routing, parsing, validation against the model, SigV4, and
serializing results and errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Principal:
    """Who signed the request."""

    access_key_id: str
    account_id: str
    #: e.g. "arn:aws:iam::000000000000:root"
    arn: str


@dataclass(frozen=True)
class RequestContext:
    """What a service may want to know about the request besides its parameters."""

    request_id: str
    service: str
    operation: str
    principal: Principal
    region: str
    source_ip: str = ""
    #: Lower-cased request headers, for the rare operation that needs one the model
    #: does not bind (e.g. a user agent in logs).
    headers: Mapping[str, str] = field(default_factory=dict)


Params = dict[str, Any]
Result = Mapping[str, Any]
OperationHandler = Callable[[Params, RequestContext], Result | Awaitable[Result]]


class Service(Protocol):
    """One AWS service as Stratus implements it."""

    #: botocore's name for the service model, e.g. "lambda", "logs".
    model_name: str

    def operations(self) -> Mapping[str, OperationHandler]:
        """Handlers by operation name. Async handlers run on the event loop; plain
        functions run in a worker thread (they may block on the database)."""
        ...

    def max_request_bytes(self, operation: str) -> int:
        """Largest request body the operation accepts."""
        ...

    def request_too_large(self, operation: str, limit: int) -> Exception:
        """The error for a body over `limit` (its wording differs per service)."""
        ...

    def invalid_request(self, message: str) -> Exception:
        """The error for parameters that break the model's constraints ("1 validation
        error detected: ..."): ValidationException, except where a service names it
        otherwise."""
        ...


class CredentialStore(Protocol):
    """Looks up the secret for an access key id."""

    def lookup(self, access_key_id: str) -> tuple[str, Principal] | None:
        """(secret access key, principal), or None for an unknown key."""
        ...
