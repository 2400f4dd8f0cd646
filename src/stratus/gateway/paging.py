"""List pagination for both control planes: an opaque offset token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from stratus.gateway.errors import BadRequestException
from stratus.wire.types import Params

T = TypeVar("T")


def page(
    items: Sequence[T], token: str | None, limit: int | None, cap: int = 500
) -> tuple[list[T], str | None]:
    """One page of `items` from `token` on, and the token of the next page (or None)."""
    start = 0
    if token:
        if not token.isdigit():
            raise BadRequestException("Invalid pagination token")
        start = int(token)
    size = min(limit or cap, cap)
    if size < 1:
        raise BadRequestException("The limit must be at least 1")
    chunk = list(items[start : start + size])
    following = start + size
    return chunk, (str(following) if following < len(items) else None)


#: A REST API collection's page when the request names no `limit` (API Gateway's own).
REST_PAGE = 25


def rest_listing(items: Sequence[Any], params: Params) -> dict[str, Any]:
    """A REST API collection as `GET` answers it: `limit` items (25 unless asked, at most
    500) from `position` on, and the `position` of the next page while there is one."""
    chunk, position = page(items, params.get("position"), params.get("limit") or REST_PAGE)
    out: dict[str, Any] = {"items": chunk}
    if position:
        out["position"] = position
    return out
