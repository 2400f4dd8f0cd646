"""Reading a definition's JSON text as AWS's parser does, before any check of its content.

Python's `json` would keep the last of two equal keys and accept NaN and Infinity; AWS
reports duplicate state names and refuses those constants, so the parse remembers the
keys given more than once and words its errors with a line and column, as AWS does.
"""

from __future__ import annotations

import json
from typing import Any


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys its text gave more than once."""

    repeated: tuple[str, ...] = ()


class _NotJson(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    repeated = []
    for key, value in pairs:
        if key in obj:
            repeated.append(key)
        obj[key] = value
    if repeated:
        obj.repeated = tuple(repeated)
    return obj


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


def _parse(text: str) -> _Object:
    def no_constant(name: str) -> Any:
        # Python reads NaN and Infinity; JSON (and AWS's parser) does not.
        raise _NotJson(f"Unexpected token '{name}' at {_position(text, text.find(name))}")

    try:
        document = json.loads(text, object_pairs_hook=_object, parse_constant=no_constant)
    except json.JSONDecodeError as bad:
        raise _NotJson(f"{bad.msg} at line {bad.lineno}, column {bad.colno}") from bad
    except RecursionError as deep:
        raise _NotJson("The JSON text is nested too deeply") from deep
    if not isinstance(document, _Object):
        start = len(text) - len(text.lstrip())
        raise _NotJson(f"Expected a JSON object at {_position(text, start)}")
    return document
