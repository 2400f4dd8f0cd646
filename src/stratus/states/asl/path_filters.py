"""What a JSONPath filter ``[?(…)]`` means: Jayway's evaluators, as AWS runs them.

A filter is compiled by `path_parser` into a `_Test` over the current node and the
document. A path inside it that selects nothing is `_UNDEFINED` (Jayway's "undefined"),
which no comparison but ``!=`` accepts, and an indefinite one selects `_Matches`, which is
not a JSON array. Comparisons are strict about JSON types.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stratus.states.asl.json_values import _is_array, _number, json_equal

#: What a filter sees for a path that selects nothing (Jayway's "undefined").
_UNDEFINED: Any = object()


_Test = Callable[[Any, Any], bool]
_Operand = Callable[[Any, Any], Any]


class _Matches(list[Any]):
    """What an indefinite path inside a filter selects (unlike a JSON array it holds)."""


def _exists(value: Any) -> bool:
    if isinstance(value, _Matches):
        return bool(value)
    return value is not _UNDEFINED


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if (_number(a) and _number(b)) or (isinstance(a, str) and isinstance(b, str)):
            return op(a, b)
        return False

    return compare


def _within(a: Any, b: Any) -> bool:
    return _is_array(b) and any(json_equal(a, x) for x in b)


def _contains(a: Any, b: Any) -> bool:
    if isinstance(a, str):
        return isinstance(b, str) and b in a
    return _is_array(a) and _within(b, a)


def _size(a: Any, b: Any) -> bool:
    return isinstance(a, (str, list, tuple)) and _number(b) and len(a) == b


def _empty(a: Any, b: Any) -> bool:
    return isinstance(a, (str, list, tuple, dict)) and isinstance(b, bool) and (not a) is b


def _matches(value: Any, regex: re.Pattern[str]) -> bool:
    return isinstance(value, str) and regex.fullmatch(value) is not None


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a is not _UNDEFINED and json_equal(a, b),
    "!=": lambda a, b: a is _UNDEFINED or not json_equal(a, b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "in": _within,
    "nin": lambda a, b: not _within(a, b),
    "subsetof": lambda a, b: _is_array(a) and all(_within(x, b) for x in a),
    "anyof": lambda a, b: _is_array(a) and any(_within(x, b) for x in a),
    "noneof": lambda a, b: _is_array(a) and not any(_within(x, b) for x in a),
    "contains": _contains,
    "size": _size,
    "empty": _empty,
}
