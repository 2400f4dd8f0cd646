"""The functions AWS adds to JSONata, and the one it takes away.

``$partition``, ``$range``, ``$hash``, ``$random``, ``$uuid`` and ``$parse`` are bound in
`_FUNCTIONS`, the frame every evaluation's bindings fall back to; ``$eval`` is removed.
A misused function raises `_FunctionError`, whose message ends the error's cause.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import uuid
from typing import Any, Final

from jsonata import Jsonata
from jsonata.utils import Utils

from stratus.states.asl.jsonata_values import _NULL

#: Most elements `$range` builds; reportedly AWS's own bound for it.
RANGE_LIMIT: Final = 360_145


class _FunctionError(Exception):
    """A misused AWS function; its message becomes the cause's last part."""


_MISSING: Final[Any] = object()


def _array(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _integer(value: Any, function: str, position: int) -> int:
    if value.__class__ is bool or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _FunctionError(f"Argument {position} of function ${function} must be a number")
    return int(value)  # AWS truncates towards zero


def _partition(array: Any = None, size: Any = None) -> Any:
    if array is None or size is None:
        return None
    items = _array(array)
    chunk = _integer(size, "partition", 2)
    if not items or chunk <= 0:
        return None
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


def _range(start: Any = None, end: Any = None, step: Any = None) -> Any:
    if start is None or end is None or step is None:
        return None
    first, last, stride = (
        _integer(value, "range", i + 1) for i, value in enumerate((start, end, step))
    )
    if stride == 0 or (last - first) * stride < 0:
        return None
    values = range(first, last + (1 if stride > 0 else -1), stride)
    if len(values) > RANGE_LIMIT:
        raise _FunctionError("Expression evaluation memory limit exceeded")
    # A sequence, so that a range of one element is that element, as on AWS.
    return Utils.create_sequence_from_iter(values)


_HASHES: Final = {
    "MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512",
}  # fmt: skip


def _hash(value: Any = None, algorithm: Any = None) -> Any:
    if value is None or algorithm is None:
        return None
    if not isinstance(value, str):
        raise _FunctionError("Argument 1 of function $hash must be a string")
    name = _HASHES.get(algorithm) if isinstance(algorithm, str) else None
    if name is None:
        raise _FunctionError(
            f"Argument 2 of function $hash must be one of {', '.join(_HASHES)}, not {algorithm}"
        )
    return hashlib.new(name, value.encode()).hexdigest()


def _random(seed: Any = _MISSING) -> float:
    if seed is _MISSING or seed is None:
        return random.random()
    return random.Random(_integer(seed, "random", 1)).random()


def _uuid() -> str:
    return str(uuid.uuid4())


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse(text: Any = None) -> Any:
    if text is None:
        return None
    if not isinstance(text, str):
        raise _FunctionError("Argument 1 of function $parse must be a string")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as e:
        raise _FunctionError(f"$parse could not parse {text!r} as JSON: {e}") from None
    return _NULL if value is None else value


_FUNCTIONS = Jsonata.Frame(Jsonata.static_frame)
for _name, _function in (
    ("partition", _partition),
    ("range", _range),
    ("hash", _hash),
    ("random", _random),
    ("uuid", _uuid),
    ("parse", _parse),
):
    _FUNCTIONS.bind(_name, Jsonata.JLambda(_function))
# AWS removes $eval; a name bound to nothing makes a call fail as calling a non-function.
_FUNCTIONS.bind("eval", None)
