"""Where a deployed API answers: host-based and path-based invoke URLs.

Host-based: `http://{apiId}.execute-api.localhost:{port}/{stage}/{path}` - every
`*.localhost` name resolves to loopback without any DNS set-up (RFC 6761), and the
server tells APIs apart by the Host header. Path-based, on the plain host:
`http://{host}:{port}/_stratus/execute-api/{apiId}/{stage}/{path}`. The prefix sits
under `/_stratus/`, which no AWS wire route uses, so it cannot collide with an
operation; LocalStack's `/_aws/...` and `/restapis/{id}/{stage}/_user_request_/` were
rejected because the first is another product's namespace and the second shares
`/restapis/` with the apigateway control plane's own routes.
For a `$default` stage the stage segment is left out in both forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

HOST_MARKER = ".execute-api."
PATH_PREFIX = "/_stratus/execute-api/"


def host_base(endpoint_url: str, api_id: str) -> str:
    """`http://{apiId}.execute-api.localhost:{port}` for a server at `endpoint_url`."""
    parts = urlsplit(endpoint_url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{api_id}.execute-api.localhost{port}"


def path_base(endpoint_url: str, api_id: str) -> str:
    """`http://{host}:{port}/_stratus/execute-api/{apiId}`."""
    return f"{endpoint_url.rstrip('/')}{PATH_PREFIX}{api_id}"


def stage_urls(endpoint_url: str, api_id: str, stage: str) -> tuple[str, str]:
    """(host-based, path-based) invoke URLs of one stage."""
    suffix = "/" if stage == "$default" else f"/{stage}"
    return host_base(endpoint_url, api_id) + suffix, path_base(endpoint_url, api_id) + suffix


def api_id_from_host(host: str) -> str | None:
    """The API id in a `{apiId}.execute-api.<anything>` Host header, if it is one."""
    index = host.find(HOST_MARKER)
    if index <= 0:
        return None
    return host[:index].lower()


@dataclass(frozen=True)
class Address:
    """Where a request to an invoke URL points, from its Host header and raw path."""

    api_id: str
    #: The domain name the API was called by (`$context.domainName`).
    domain: str
    #: The path after the API, percent-encoded: `/{stage}/{path}`, or `/{path}` on a
    #: `$default` stage.
    path: str
    #: The path exactly as received, path-based prefix included: what SigV4 signs.
    received_path: str
    #: The first segment of `path`, percent-decoded: the stage, if the API has one so named.
    first_segment: str
    #: `path` without its first segment.
    after_first: str


def address_of(host: str, raw_path: str) -> Address:
    """Read an invoke URL: host-based if the Host names an API, else path-based."""
    received = raw_path.partition("?")[0]
    api_id = api_id_from_host(host)
    if api_id is None:
        api_id, _, tail = received[len(PATH_PREFIX) :].partition("/")
        path = "/" + tail
        domain = f"{api_id}.execute-api.localhost"
    else:
        path = received
        domain = host.partition(":")[0]
    first, _, rest = path[1:].partition("/")
    return Address(api_id, domain, path, received, unquote(first), "/" + rest)


class Addresses:
    """`address_of` remembered by the Host and raw path bytes as received.

    Clients call the same few URLs over and over; decoding and splitting them again on
    every request cost about as much as the rest of a constant MOCK answer. The memory
    is bounded (emptied when full), so clients calling unique paths only lose the gain.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._known: dict[tuple[bytes, bytes], Address] = {}

    def of(self, host: bytes, raw_path: bytes) -> Address:
        """The address of a request, from its Host header and raw path (bytes)."""
        key = (host, raw_path)
        found = self._known.get(key)
        if found is None:
            found = address_of(host.decode("latin-1"), raw_path.decode("latin-1"))
            if len(self._known) >= self.limit:
                self._known.clear()
            self._known[key] = found
        return found
