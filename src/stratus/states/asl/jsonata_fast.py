"""JSONata without the engine: the simple expressions most workflows are made of.

jsonata-python takes some 20 µs for even ``$states.input.n + 1``. A variable and field
names, compared with or added to a literal or another such path, joined by and/or, are
computed here in about a microsecond, by the engine's own rules.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

from jsonata.parser import Parser

from stratus.states.asl.jsonata_values import _NONE, _NULL

# Most expressions in workflows read a field (``$states.input.order.id``, ``$total``) or
# compare one with a literal, joined by and/or. Those are answered here, in a microsecond
# instead of the engine's twenty, with the engine's own rules (they are checked against it
# in the tests). A part that meets anything else (an array or object to compare, a type
# error to report) answers `_SLOW`, and the whole expression goes to the engine.

_SLOW: Final[Any] = object()
_Fast = Callable[[Mapping[str, Any], Mapping[str, Any]], Any]

_DECORATIONS: Final = (
    "stages", "predicate", "group", "focus", "index", "tuple", "keep_array", "ancestor",
    "seeking_parent",
)  # fmt: skip
_ORDERINGS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip
# Not "%": the engine truncates its result to an integer, which no one should rely on.
_ARITHMETIC: Final[dict[str, Callable[[float, float], float]]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}  # fmt: skip


def _compile_fast(node: Any) -> _Fast | None:
    """A function computing `node` as the engine would (or `_SLOW`), if `node` is simple."""
    if not isinstance(node, Parser.Symbol) or any(
        getattr(node, attribute, None) for attribute in _DECORATIONS
    ):
        return None
    kind = node.type
    if kind == "block" and len(node.expressions or ()) == 1:
        return _compile_fast(node.expressions[0])
    if kind in ("string", "number", "value"):
        literal = _NULL if node.value is None else node.value
        return lambda _states, _variables: literal
    if kind == "binary":
        left, right = _compile_fast(node.lhs), _compile_fast(node.rhs)
        if left is None or right is None:
            return None
        if node.value in ("and", "or"):
            return _fast_logic(left, right, node.value == "and")
        if node.value in ("=", "!="):
            return _fast_equality(left, right, node.value == "=")
        if node.value in _ORDERINGS:
            return _fast_ordering(left, right, _ORDERINGS[node.value])
        if node.value in _ARITHMETIC:
            return _fast_arithmetic(left, right, _ARITHMETIC[node.value])
        return None
    root, keys = _simple_path(node)
    return None if root is None else _fast_path(root, keys)


def _simple_path(node: Any) -> tuple[str | None, tuple[str, ...]]:
    """``$name.a.b`` as ("name", ("a", "b")); (None, ()) for anything else."""
    steps = node.steps if node.type == "path" else [node]
    if not steps or (node.type == "path" and (node.keep_singleton_array or node.tuple)):
        return None, ()
    first, rest = steps[0], steps[1:]
    if first.type != "variable" or first.value in ("", "$"):
        return None, ()
    for step in steps:
        if any(getattr(step, attribute, None) for attribute in _DECORATIONS):
            return None, ()
    if any(step.type != "name" for step in rest):
        return None, ()
    return str(first.value), tuple(str(step.value) for step in rest)


def _fast_path(root: str, keys: tuple[str, ...]) -> _Fast:
    def read(states: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
        node: Any = states if root == "states" else variables.get(root, _NONE)
        if node is _NONE:
            return _SLOW  # perhaps one of the engine's functions
        for key in keys:
            if node.__class__ is not dict:
                return _SLOW  # an array maps the step over its items
            node = node.get(key, _NONE)
            if node is _NONE:
                return None
        return _NULL if node is None else node

    return read


def _scalar(value: Any) -> bool:
    return value.__class__ is not dict and value.__class__ is not list


def _fast_equality(left: _Fast, right: _Fast, equal: bool) -> _Fast:
    def test(states: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
        a = left(states, variables)
        b = right(states, variables)
        if a is _SLOW or b is _SLOW or not (_scalar(a) and _scalar(b)):
            return _SLOW
        if a is None or b is None:
            return False
        a_bool, b_bool = a.__class__ is bool, b.__class__ is bool
        if not a_bool and isinstance(a, (int, float)):
            a = float(a)
        if not b_bool and isinstance(b, (int, float)):
            b = float(b)
        return (a == b and a_bool == b_bool) is equal

    return test


def _fast_ordering(left: _Fast, right: _Fast, compare: Callable[[Any, Any], bool]) -> _Fast:
    def test(states: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
        a = left(states, variables)
        b = right(states, variables)
        a_kind, b_kind = a.__class__, b.__class__
        if (a_kind is str and b_kind is str) or (a_kind in _NUMBERS and b_kind in _NUMBERS):
            if a_kind is not b_kind:
                return compare(float(a), float(b))
            return compare(a, b)
        if (a is None and (b_kind is str or b_kind in _NUMBERS or b is None)) or (
            b is None and (a_kind is str or a_kind in _NUMBERS)
        ):
            return None  # a comparison with undefined is undefined
        return _SLOW  # the engine reports the type error

    return test


_NUMBERS: Final = (int, float)


def _fast_arithmetic(left: _Fast, right: _Fast, apply: Callable[[float, float], float]) -> _Fast:
    def compute(states: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
        a = left(states, variables)
        b = right(states, variables)
        a_number, b_number = a.__class__ in _NUMBERS, b.__class__ in _NUMBERS
        if not ((a_number or a is None) and (b_number or b is None)):
            return _SLOW  # the engine reports the type error
        if a is None or b is None:
            return None
        if b == 0 and apply is operator.truediv:
            return _SLOW
        result = apply(float(a), float(b))
        if not math.isfinite(result):
            return _SLOW
        return int(result) if result.is_integer() else result  # as the engine gives numbers

    return compute


def _fast_logic(left: _Fast, right: _Fast, conjunction: bool) -> _Fast:
    def test(states: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
        a = _truth(left(states, variables))
        if a is _SLOW:
            return _SLOW
        if a is not conjunction:
            return a
        return _truth(right(states, variables))

    return test


def _truth(value: Any) -> Any:
    """The engine's boolean value of a scalar; `_SLOW` for anything else."""
    if value is None or value is _NULL:
        return False
    kind = value.__class__
    if kind is bool:
        return value
    if kind is str:
        return value != ""
    if kind is int or kind is float:
        return value != 0
    return _SLOW
