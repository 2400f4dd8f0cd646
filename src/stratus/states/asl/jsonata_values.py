"""The engine's values, and the plain JSON the interpreter gets from them.

jsonata-python marks "no binding" and JSON null with its own objects (None is undefined
there), and hands back its own list types and integral floats. `_plain` turns a result into
plain JSON (dict, list, str, int, float, bool, None), copying only what must change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from jsonata.utils import Utils

_NONE = Utils.NONE  # the engine's "no binding here" marker
_NULL = Utils.NULL_VALUE  # the engine's JSON null, where None would mean undefined


class _Unsupported(Exception):
    """A result JSON cannot hold (a function, a regex)."""


_NON_FINITE: Final = {math.inf: "Infinity", -math.inf: "-Infinity"}


def _plain(value: Any) -> Any:
    """`value` as plain JSON, copying only what must change (the engine's lists and nulls,
    floats that hold integers). Integral floats become ints, as JavaScript writes them, and
    non-finite numbers the strings JavaScript names them by."""
    kind = value.__class__
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if value.is_integer() and -1e21 < value < 1e21:
            return int(value)
        if math.isfinite(value):
            return value
        return _NON_FINITE.get(value, "NaN")
    if value is _NULL:
        return None
    if kind is dict:
        changed: dict[str, Any] | None = None
        for key, item in value.items():
            new = _plain(item)
            if new is not item:
                if changed is None:
                    changed = dict(value)
                changed[key] = new
        return value if changed is None else changed
    if isinstance(value, list):
        items = [_plain(item) for item in value]
        if kind is list and all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    raise _Unsupported(kind.__name__)
