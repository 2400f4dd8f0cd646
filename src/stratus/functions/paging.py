"""Paging the function service's lists: the opaque marker that says where the next page
starts (ListFunctions, ListLayers, ListLayerVersions), and the order ListFunctions lists
functions and their versions in."""

from __future__ import annotations

import base64
import binascii

from stratus.errors import InvalidParameterValueException


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
