"""Paging ListFunctions: the order functions and their versions are listed in, and the
opaque marker that says where the next page starts."""

from __future__ import annotations

import base64
import binascii

from stratus.errors import InvalidParameterValueException
from stratus.functions.model import LATEST


def _order(name: str, version: str) -> tuple[str, int]:
    """Functions by name, each with `$LATEST` before its numbered versions."""
    return (name, -1 if version == LATEST or not version.isdigit() else int(version))


def _encode_marker(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _decode_marker(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidParameterValueException(f"Invalid marker: {marker}") from exc
