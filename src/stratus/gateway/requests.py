"""`GatewayRequest`: one call to a deployed API, as the data plane sees it."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate

#: Content types API Gateway passes to a function as text; any other body is base64.
_TEXT_TYPES = (
    "application/json",
    "application/javascript",
    "application/xml",
    "application/x-www-form-urlencoded",
    "application/graphql",
)


@dataclass(frozen=True)
class Caller:
    """Who signed a request to an `AWS_IAM` method or route, as events name them."""

    access_key: str
    account_id: str
    #: e.g. "arn:aws:iam::000000000000:root".
    user_arn: str
    #: The principal's unique id (`caller`, `user`, `callerId`, `userId`); for an
    #: account's root, AWS gives the account id.
    user_id: str


class GatewayRequest:
    """The parts of an HTTP request that events, routing and responses need.

    Serving builds one per request. Two parts cost more than all the others and are
    often never read (a Lambda event reads both; a MOCK answer, a refusal, a throttled
    request may read neither): the headers are decoded from the ASGI scope's bytes, and
    the request id drawn, on first use. A dataclass cannot defer a field, hence the
    hand-written class.
    """

    __slots__ = (
        "_header_list",
        "_log_context",
        "_raw_headers",
        "_request_id",
        "api_id",
        "body",
        "caller",
        "domain_name",
        "method",
        "path",
        "protocol",
        "raw_path",
        "raw_query",
        "received_path",
        "source_ip",
        "stage",
        "time_ms",
    )

    def __init__(
        self,
        *,
        api_id: str,
        method: str,
        raw_path: str,
        path: str,
        raw_query: str,
        body: bytes,
        source_ip: str,
        domain_name: str,
        stage: str,
        header_list: list[tuple[str, str]] | None = None,
        raw_headers: Iterable[tuple[bytes, bytes]] = (),
        request_id: str | None = None,
        protocol: str = "HTTP/1.1",
        time_ms: int | None = None,
        received_path: str = "",
        caller: Caller | None = None,
    ) -> None:
        self.api_id = api_id
        self.method = method
        #: The path as the client sent it (named stage included), percent-encoded.
        self.raw_path = raw_path
        #: The path inside the stage: what routes match.
        self.path = path
        self.raw_query = raw_query
        self.body = body
        self.source_ip = source_ip
        self.domain_name = domain_name
        self.stage = stage
        self.protocol = protocol
        self.time_ms = int(time.time() * 1000) if time_ms is None else time_ms
        #: The path exactly as received, path-based prefix included: what SigV4 signs.
        self.received_path = received_path
        #: Set once an `AWS_IAM` method or route has verified the signature.
        self.caller = caller
        self._header_list = header_list
        self._raw_headers = raw_headers
        self._request_id = request_id
        self._log_context: dict[str, str] | None = None

    @property
    def header_list(self) -> list[tuple[str, str]]:
        """(name, value) pairs as received, names in the client's case."""
        if self._header_list is None:
            self._header_list = [
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in self._raw_headers
            ]
        return self._header_list

    @header_list.setter
    def header_list(self, pairs: list[tuple[str, str]]) -> None:
        self._header_list = pairs

    @property
    def request_id(self) -> str:
        """The id events, contexts and access logs give this request."""
        if self._request_id is None:
            self._request_id = str(uuid.uuid4())
        return self._request_id

    @property
    def log_context(self) -> dict[str, str]:
        """`$context` values serving learns (route, resource, authorizer), for access logs."""
        if self._log_context is None:
            self._log_context = {}
        return self._log_context

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive)."""
        lower = name.lower()
        for key, value in self.header_list:
            if key.lower() == lower:
                return value
        return None

    @property
    def user_agent(self) -> str:
        return self.header("user-agent") or ""

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        from urllib.parse import parse_qsl

        return parse_qsl(self.raw_query, keep_blank_values=True)

    def body_for_event(self) -> tuple[str | None, bool]:
        """The body as an event carries it: (text or base64, isBase64Encoded)."""
        if not self.body:
            return None, False
        if is_text(self.header("content-type")):
            try:
                return self.body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(self.body).decode("ascii"), True

    @property
    def request_time(self) -> str:
        """`12/Mar/2020:19:03:58 +0000`, the form both event formats use."""
        moment = time.gmtime(self.time_ms / 1000)
        return time.strftime("%d/%b/%Y:%H:%M:%S +0000", moment)

    @property
    def http_date(self) -> str:
        return formatdate(self.time_ms / 1000, usegmt=True)


def is_text(content_type: str | None) -> bool:
    """Whether a body of this type travels as text (not base64) in an event."""
    if not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    return (
        kind.startswith("text/")
        or kind in _TEXT_TYPES
        or kind.endswith("+json")
        or kind.endswith("+xml")
    )
