"""How an HTTP API's objects are kept and listed: the `GatewayStore` kind of each, and
a list of them as the `apigatewayv2` wire pages it (`Items`, `NextToken`, `MaxResults`).

Its own module because the API, route, integration, stage and authorizer operations
all read them, and those live in modules that import one another in one direction only.
"""

from __future__ import annotations

from typing import Any

from stratus.gateway.errors import BadRequestException
from stratus.gateway.paging import page
from stratus.gateway.records import Record
from stratus.wire.types import Params

HTTP_API = "http_api"
ROUTE = "route"
INTEGRATION = "integration"
HTTP_AUTHORIZER = "http_authorizer"


def _listing(records: list[Record], params: Params) -> dict[str, Any]:
    items, token = page(records, params.get("NextToken"), _int(params.get("MaxResults")))
    out: dict[str, Any] = {"Items": items}
    if token:
        out["NextToken"] = token
    return out


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequestException(f"Invalid MaxResults {value}") from None
