"""Locations and values as the definition checks see them.

Locations are AWS's, not RFC 6901 pointers: an array index is written ``Catch[0]``, as in
``/States/T/Catch[0]/Next``. Beside them, the small predicates on field values (is it an
integer, does it look like a path, a JSONata expression, a timestamp) that every part of
the checker shares, and the walks that pair each value of a template with its location.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from stratus.states.asl.schema import _TIMESTAMP


def _at(location: str, *keys: str | int) -> str:
    """`location` extended AWS's way: ``/States/T`` + ("Catch", 0) → ``/States/T/Catch[0]``."""
    for key in keys:
        location = f"{location}[{key}]" if isinstance(key, int) else f"{location}/{key}"
    return location


def _fields(names: Iterable[str]) -> str:
    return "[" + ", ".join(names) + "]"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "String": lambda v: isinstance(v, str),
    "Integer": _is_int,
    "Number": _is_number,
    "Boolean": lambda v: isinstance(v, bool),
    "Object": lambda v: isinstance(v, dict),
    "Array": lambda v: isinstance(v, list),
}


def _looks_like_path(value: Any) -> bool:
    return isinstance(value, str) and (value == "$" or value.startswith(("$.", "$[", "$$")))


def _looks_like_intrinsic(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("States.") and "(" in value


def _is_expression(value: Any) -> bool:
    from stratus.states.asl import jsonata

    return isinstance(value, str) and bool(jsonata.is_expression(value))


def _targets(state: Mapping[str, Any]) -> list[Any]:
    """Every state name `state` may transition to, whatever its type."""
    targets = [state[key] for key in ("Next", "Default") if key in state]
    for key in ("Choices", "Catch"):
        entries = state.get(key)
        if isinstance(entries, list):
            targets.extend(e["Next"] for e in entries if isinstance(e, dict) and "Next" in e)
    return targets


def _is_timestamp(text: str) -> bool:
    if not _TIMESTAMP.fullmatch(text):
        return False
    try:
        dt.datetime.fromisoformat(re.sub(r"\.\d+", "", text).replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _has_dollar_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k.endswith(".$") or _has_dollar_key(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_dollar_key(v) for v in value)
    return False


def _fields_of(template: Any, location: str) -> list[tuple[str, str, Any]]:
    """(location, key, value) of every object field in `template`, depth first."""
    found: list[tuple[str, str, Any]] = []
    if isinstance(template, dict):
        for key, value in template.items():
            where = _at(location, key)
            found.append((where, key, value))
            if not key.endswith(".$"):
                found.extend(_fields_of(value, where))
    elif isinstance(template, list):
        for index, value in enumerate(template):
            found.extend(_fields_of(value, _at(location, index)))
    return found


def _leaves(template: Any, location: str) -> list[tuple[str, Any]]:
    """(location, value) of every scalar in `template`, depth first."""
    if isinstance(template, dict):
        return [leaf for k, v in template.items() for leaf in _leaves(v, _at(location, k))]
    if isinstance(template, list):
        return [leaf for i, v in enumerate(template) for leaf in _leaves(v, _at(location, i))]
    return [(location, template)]


def _relative(location: str) -> str:
    """A location inside a field, as another module gives it, written AWS's way."""
    if not location:
        return ""
    parts = [p for p in location.split("/") if p]
    return _at("", *(int(p) if p.isdigit() else p for p in parts))
