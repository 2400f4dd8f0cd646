"""What each ``States.*`` intrinsic function does with its argument values.

Each function checks its values as AWS's developer guide states the rules (types, ranges,
the 1000-item ArrayRange, the 10,000-character Base64 and Hash inputs, shallow-only
JsonMerge, …) and answers a bad one with a ``States.IntrinsicFailure`` naming the rule.
`FUNCTIONS` maps each name to its arity and body; `intrinsics` checks calls against it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from stratus.states.asl.errors import INTRINSIC_FAILURE, StatesError
from stratus.states.asl.intrinsic_calls import _Call, _Literal
from stratus.states.asl.json_values import json_equal
from stratus.states.asl.paths import json_text

#: States.ArrayRange may build at most this many items.
MAX_RANGE_ITEMS = 1000
#: Base64Encode, Base64Decode and Hash take at most this many characters.
MAX_STRING_CHARS = 10_000
#: MathAdd's and MathRandom's arguments are Java ints.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
HASH_ALGORITHMS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


class _Function:
    """One ``States.*`` function: its arity and what it does with argument values."""

    def __init__(self, min_args: int, max_args: int, body: Callable[[str, list[Any]], Any]) -> None:
        self.min_args = min_args
        self.max_args = max_args
        self.body = body

    def arity_text(self) -> str:
        if self.min_args == self.max_args:
            count = self.min_args
            return f"takes exactly {count} argument{'s' if count != 1 else ''}"
        if self.max_args > 1000:
            return f"takes at least {self.min_args} argument{'s' if self.min_args != 1 else ''}"
        return f"takes {self.min_args} to {self.max_args} arguments"

    def run(self, call: _Call, values: list[Any]) -> Any:
        first = call.args[0] if call.args else None
        if self.body is _format and isinstance(first, _Literal) and first.pieces is not None:
            return _format_pieces(first.pieces, values[1:])
        return self.body(call.name, values)


def _fail(name: str, reason: str) -> StatesError:
    return StatesError(INTRINSIC_FAILURE, f"Invalid arguments in {name}: {reason}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(name: str, value: Any, what: str) -> int:
    """An integral JSON number (``2.0`` counts), else an IntrinsicFailure."""
    if _number(value) and math.isfinite(value) and value == int(value):
        return int(value)
    raise _fail(name, f"{what} must be an integer, not {json_text(value)}")


def _rounded(name: str, value: Any, what: str) -> int:
    """AWS rounds MathAdd's and MathRandom's non-integers to the nearest integer."""
    if not (_number(value) and math.isfinite(value)):
        raise _fail(name, f"{what} must be a number, not {json_text(value)}")
    number = int(value) if isinstance(value, int) else math.floor(value + 0.5)
    if not INT_MIN <= number <= INT_MAX:
        raise _fail(name, f"{what} must be between {INT_MIN} and {INT_MAX}, not {number}")
    return number


def _array(name: str, value: Any, what: str = "the first argument") -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise _fail(name, f"{what} must be an array, not {json_text(value)}")


def _string(name: str, value: Any, what: str = "the argument") -> str:
    if isinstance(value, str):
        return value
    raise _fail(name, f"{what} must be a string, not {json_text(value)}")


def _as_text(value: Any) -> str:
    """How Format and Hash write a non-string value: as JSON text."""
    return value if isinstance(value, str) else json_text(value)


def _format_pieces(pieces: tuple[str, ...], values: list[Any]) -> str:
    if len(pieces) - 1 != len(values):
        raise _fail(
            "States.Format",
            f"the format string has {len(pieces) - 1} {{}} placeholder(s) "
            f"but {len(values)} value(s) were given",
        )
    out = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        out.append(_as_text(value))
        out.append(piece)
    return "".join(out)


def _format(name: str, values: list[Any]) -> str:
    template = _string(name, values[0], "the format string")
    return _format_pieces(tuple(template.split("{}")), values[1:])


def _string_to_json(name: str, values: list[Any]) -> Any:
    text = _string(name, values[0])
    try:
        return json.loads(text)
    except ValueError as e:
        raise _fail(name, f"the string is not valid JSON ({e})") from None


def _json_to_string(name: str, values: list[Any]) -> str:
    return json_text(values[0])


def _array_partition(name: str, values: list[Any]) -> list[list[Any]]:
    items = _array(name, values[0])
    size = _integer(name, values[1], "the chunk size")
    if size <= 0:
        raise _fail(name, f"the chunk size must be a positive integer, not {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _array_contains(name: str, values: list[Any]) -> bool:
    return any(json_equal(item, values[1]) for item in _array(name, values[0]))


def _array_range(name: str, values: list[Any]) -> list[int]:
    start = _integer(name, values[0], "the start")
    end = _integer(name, values[1], "the end")
    step = _integer(name, values[2], "the step")
    if step == 0:
        raise _fail(name, "the step must not be 0")
    count = max(0, (end - start) // step + 1)
    if count > MAX_RANGE_ITEMS:
        raise _fail(
            name, f"the range would have {count} items; at most {MAX_RANGE_ITEMS} are allowed"
        )
    return [start + i * step for i in range(count)]


def _array_get_item(name: str, values: list[Any]) -> Any:
    items = _array(name, values[0])
    index = _integer(name, values[1], "the index")
    if not 0 <= index < len(items):
        raise _fail(name, f"the index {index} is out of bounds for an array of {len(items)}")
    return items[index]


def _array_length(name: str, values: list[Any]) -> int:
    return len(_array(name, values[0], "the argument"))


def _array_unique(name: str, values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for item in _array(name, values[0], "the argument"):
        key = _canonical(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _canonical(value: Any) -> Any:
    """A hashable stand-in with JSON equality (1 and 1.0 alike, key order ignored)."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if _number(value):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, (list, tuple)):
        return ("a", tuple(_canonical(v) for v in value))
    if isinstance(value, Mapping):
        return ("o", frozenset((k, _canonical(v)) for k, v in value.items()))
    return ("?", repr(value))


def _limited(name: str, value: Any) -> str:
    text = _string(name, value)
    if len(text) > MAX_STRING_CHARS:
        raise _fail(name, f"the string has {len(text)} characters; at most 10000 are allowed")
    return text


def _base64_encode(name: str, values: list[Any]) -> str:
    return base64.b64encode(_limited(name, values[0]).encode()).decode("ascii")


def _base64_decode(name: str, values: list[Any]) -> str:
    text = _limited(name, values[0])
    try:
        # Padding is optional, as for Java's decoder; anything off the alphabet is not.
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise _fail(name, "the string is not valid Base64-encoded UTF-8 text") from None


def _hash(name: str, values: list[Any]) -> str:
    data = _as_text(values[0])
    if len(data) > MAX_STRING_CHARS:
        raise _fail(name, f"the data has {len(data)} characters; at most 10000 are allowed")
    algorithm = HASH_ALGORITHMS.get(values[1]) if isinstance(values[1], str) else None
    if algorithm is None:
        raise _fail(
            name,
            f"the algorithm must be one of {', '.join(HASH_ALGORITHMS)}, "
            f"not {json_text(values[1])}",
        )
    return hashlib.new(algorithm, data.encode()).hexdigest()


def _json_merge(name: str, values: list[Any]) -> dict[str, Any]:
    left, right, deep = values
    for value, what in ((left, "the first argument"), (right, "the second argument")):
        if not isinstance(value, Mapping):
            raise _fail(name, f"{what} must be a JSON object, not {json_text(value)}")
    if deep is not False:
        raise _fail(name, "only a shallow merge is supported: the third argument must be false")
    return {**left, **right}


def _math_random(name: str, values: list[Any]) -> int:
    start = _rounded(name, values[0], "the start")
    end = _rounded(name, values[1], "the end")
    if start >= end:
        raise _fail(name, f"the start ({start}) must be less than the end ({end})")
    if len(values) == 3:
        seed = _integer(name, values[2], "the seed")
        return random.Random(seed).randrange(start, end)
    return random.randrange(start, end)


def _math_add(name: str, values: list[Any]) -> int:
    return _rounded(name, values[0], "the first number") + _rounded(
        name, values[1], "the second number"
    )


def _string_split(name: str, values: list[Any]) -> list[str]:
    text = _string(name, values[0], "the first argument")
    delimiters = _string(name, values[1], "the delimiter")
    # Every character of the delimiter splits, and empty pieces are dropped (AWS's
    # example splits "This.is+a,test=string" on ".+,=" into five words).
    if not delimiters:
        return [text] if text else []
    pattern = "[" + re.escape(delimiters) + "]"
    return [piece for piece in re.split(pattern, text) if piece]


def _uuid(name: str, values: list[Any]) -> str:
    return str(uuid.uuid4())


_MANY = 10**6

FUNCTIONS: dict[str, _Function] = {
    "States.Format": _Function(1, _MANY, _format),
    "States.StringToJson": _Function(1, 1, _string_to_json),
    "States.JsonToString": _Function(1, 1, _json_to_string),
    "States.Array": _Function(0, _MANY, lambda name, values: values),
    "States.ArrayPartition": _Function(2, 2, _array_partition),
    "States.ArrayContains": _Function(2, 2, _array_contains),
    "States.ArrayRange": _Function(3, 3, _array_range),
    "States.ArrayGetItem": _Function(2, 2, _array_get_item),
    "States.ArrayLength": _Function(1, 1, _array_length),
    "States.ArrayUnique": _Function(1, 1, _array_unique),
    "States.Base64Encode": _Function(1, 1, _base64_encode),
    "States.Base64Decode": _Function(1, 1, _base64_decode),
    "States.Hash": _Function(2, 2, _hash),
    "States.JsonMerge": _Function(3, 3, _json_merge),
    "States.MathRandom": _Function(2, 3, _math_random),
    "States.MathAdd": _Function(2, 2, _math_add),
    "States.StringSplit": _Function(2, 2, _string_split),
    "States.UUID": _Function(0, 0, _uuid),
}
