"""The comparison operators of JSONPath Choice Rules, as closures over a path's getter.

As on AWS, a value of the wrong type for its operator makes the comparison false, not an
error. Strings order as Java's ``String.compareTo`` does (by UTF-16 code unit), timestamps
compare as instants (`timestamps`), and StringMatches is a glob matched without regex
backtracking. `choice` checks a rule and picks the operator here.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Final

from stratus.states.asl.paths import Path, PathMatchError
from stratus.states.asl.scope import Scope
from stratus.states.asl.timestamps import _instant

_Test = Callable[[Any, Scope], bool]
_Get = Callable[[Any, Scope], Any]


_ORDER: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}


def _literal_comparison(get: _Get, kind: str, relation: str, literal: Any) -> _Test:
    compare = _ORDER[relation]
    if kind == "Numeric":

        def numeric(data: Any, scope: Scope) -> bool:
            value = get(data, scope)
            return (value.__class__ is int or value.__class__ is float) and compare(value, literal)

        return numeric
    if kind == "Boolean":
        return lambda data, scope: get(data, scope) is literal
    if kind == "Timestamp":

        def timestamp(data: Any, scope: Scope) -> bool:
            value = get(data, scope)
            if value.__class__ is not str:
                return False
            instant = _instant(value)
            return instant is not None and compare(instant, literal)

        return timestamp
    if relation == "Equals":
        return lambda data, scope: bool(get(data, scope) == literal)
    literal_ascii = literal.isascii()
    literal_units = _utf16(literal)

    def string(data: Any, scope: Scope) -> bool:
        value = get(data, scope)
        if value.__class__ is not str:
            return False
        if literal_ascii and value.isascii():
            return compare(value, literal)
        return compare(_utf16(value), literal_units)

    return string


def _path_comparison(get: _Get, get_other: _Get, kind: str, relation: str) -> _Test:
    compare = _ORDER[relation]
    accepts = _ACCEPTS[kind]

    def test(data: Any, scope: Scope) -> bool:
        value = get(data, scope)
        other = get_other(data, scope)
        if not (accepts(value) and accepts(other)):
            return False
        if kind == "Timestamp":
            value, other = _instant(value), _instant(other)
            return value is not None and other is not None and compare(value, other)
        if kind == "String" and not (value.isascii() and other.isascii()):
            return compare(_utf16(value), _utf16(other))
        return compare(value, other)

    return test


def _is_present(path: Path, expected: bool) -> _Test:
    evaluate = path.evaluate

    def test(data: Any, scope: Scope) -> bool:
        try:
            evaluate(data, scope)
        except PathMatchError:
            return not expected
        return expected

    return test


def _type_test(get: _Get, accepts: Callable[[Any], bool], expected: bool) -> _Test:
    return lambda data, scope: accepts(get(data, scope)) is expected


def _is_number(value: Any) -> bool:
    return value.__class__ is int or value.__class__ is float


def _is_timestamp(value: Any) -> bool:
    return value.__class__ is str and _instant(value) is not None


_IS: Final[dict[str, Callable[[Any], bool]]] = {
    "IsNull": lambda value: value is None,
    "IsNumeric": _is_number,
    "IsString": lambda value: value.__class__ is str,
    "IsBoolean": lambda value: value is True or value is False,
    "IsTimestamp": _is_timestamp,
}
_ACCEPTS: Final[dict[str, Callable[[Any], bool]]] = {
    "String": _IS["IsString"],
    "Numeric": _is_number,
    "Boolean": _IS["IsBoolean"],
    "Timestamp": _IS["IsString"],
}


def _utf16(text: str) -> bytes:
    """`text` in an order that compares as Java's ``compareTo`` (UTF-16 code units)."""
    return text.encode("utf-16-be", "surrogatepass")


# ── StringMatches ───────────────────────────────────────────────────────────────────────


def _string_matches(get: _Get, pattern: str) -> _Test:
    matches = glob_matcher(pattern)

    def test(data: Any, scope: Scope) -> bool:
        value = get(data, scope)
        return value.__class__ is str and matches(value)

    return test


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """StringMatches: ``*`` matches any run of characters; ``\\*`` is a star, ``\\\\`` a
    backslash; any other character, a lone backslash included, matches itself.

    Literal parts are found left to right with `str.find`, never by regex backtracking, so
    a pattern of many stars cannot take exponential time.
    """
    parts = [""]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and pattern[i + 1 : i + 2] in ("*", "\\"):
            parts[-1] += pattern[i + 1]
            i += 2
            continue
        if char == "*":
            parts.append("")
        else:
            parts[-1] += char
        i += 1
    if len(parts) == 1:
        literal = parts[0]
        return lambda text: text == literal
    first, middle, last = parts[0], parts[1:-1], parts[-1]
    fixed = len(first) + len(last)

    def matches(text: str) -> bool:
        if len(text) < fixed or not text.startswith(first) or not text.endswith(last):
            return False
        at, end = len(first), len(text) - len(last)
        for part in middle:
            found = text.find(part, at, end)
            if found < 0:
                return False
            at = found + len(part)
        return True

    return matches
