"""Paging the function service's lists: the opaque marker that says where the next page
starts (ListFunctions, ListLayers, ListLayerVersions), the order ListFunctions lists
functions and their versions in, and plain index paging for short lists (versions,
aliases, event invoke configurations)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import TypeVar

from stratus.errors import InvalidParameterValueException

T = TypeVar("T")


def index_page(
    items: Sequence[T], marker: str | None, max_items: int
) -> tuple[list[T], str | None]:
    """Index-based paging of a short list: the marker is the position of the next item."""
    start = int(marker) if marker and marker.isdigit() else 0
    page = list(items[start : start + max_items])
    more = start + max_items < len(items)
    return page, str(start + max_items) if more else None


def listing_order(name: str, version: str) -> tuple[str, int]:
    """Functions by name, each with `$LATEST` before its numbered versions."""
    return (name, int(version) if version.isdigit() else -1)


def encode_marker(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_marker(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidParameterValueException(f"Invalid marker: {marker}") from exc
