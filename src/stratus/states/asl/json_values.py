"""JSON values as the States Language compares and quotes them.

Compact JSON text (as AWS quotes values in error causes), the JSON name of a value's type,
and JSON equality, where ``1 == 1.0`` but ``true != 1``. Paths, filters, Choice rules and
intrinsic functions all share these, so that they agree on what a value is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def json_text(value: Any) -> str:
    """Compact JSON, as AWS quotes values in its error causes and `States.JsonToString`."""
    return _encode(value)


def _is_object(node: Any) -> bool:
    return node.__class__ is dict or isinstance(node, Mapping)


def _is_array(node: Any) -> bool:
    return node.__class__ is list or isinstance(node, (list, tuple))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``1 == 1.0`` but ``true != 1``; objects and arrays by content."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if _number(a) and _number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if _is_array(a) and _is_array(b):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if _is_object(a) and _is_object(b):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return False


def json_type(value: Any) -> str:
    """The JSON name of a value's type (null, boolean, number, string, array, object)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if _is_array(value) else "object"
