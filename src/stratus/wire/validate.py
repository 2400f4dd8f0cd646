"""Model constraint checks on parsed parameters, reported the way AWS reports them.

AWS collects every violation and answers one `ValidationException`:

    2 validation errors detected: Value null at 'role' failed to satisfy constraint:
    Member must not be null; Value '99999' at 'memorySize' failed to satisfy constraint:
    Member must have value less than or equal to 10240

A check is compiled once per operation from the input shape; members without
constraints cost nothing at request time.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import OperationModel, Shape

from stratus.errors import ValidationException

#: (value, location path, violations so far) -> None
Check = Callable[[Any, str, list[str]], None]

_NUMERIC = frozenset({"integer", "long", "short", "byte", "float", "double", "bigdecimal"})
_SIZED = frozenset({"string", "blob", "list", "map"})
#: Shapes whose members are checked on their own.
_NESTED = frozenset({"structure", "list", "map"})


@functools.cache
def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """`pattern` compiled for a full match, or None if Python cannot read this Java regex.

    Skipping an unreadable pattern is deliberate: rejecting valid requests because of a
    dialect difference would be worse than accepting one AWS might refuse.
    """
    try:
        return re.compile(pattern)
    except re.error:
        return None


def location_name(member: str) -> str:
    """AWS names a member in messages with its first letter lower-cased."""
    return member[:1].lower() + member[1:]


def render_value(value: Any) -> str:
    """A value as AWS (Java's toString) prints it inside the quotes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(render_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={render_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _violation(value: Any, path: str, constraint: str, hide_value: bool) -> str:
    if value is None:
        shown = "Value null"
    elif hide_value:
        shown = "Value"
    else:
        shown = f"Value '{render_value(value)}'"
    return f"{shown} at '{path}' failed to satisfy constraint: {constraint}"


class RequestValidator:
    """Checks an operation's parsed parameters against its input shape."""

    def __init__(self, error: Callable[[str], Exception] = ValidationException) -> None:
        self._checks: dict[str, Check | None] = {}
        self._lock = threading.Lock()
        #: The service's error for a request that breaks the model (its message given).
        self._error = error

    def validate(self, operation: OperationModel, params: Mapping[str, Any]) -> None:
        """Raise the service's error (`ValidationException` unless it names another)
        listing every violation, or return quietly."""
        try:
            check = self._checks[operation.name]
        except KeyError:
            with self._lock:
                check = self._checks.get(operation.name)
                if check is None and operation.name not in self._checks:
                    shape = operation.input_shape
                    check = _Compiler().compile(shape, False) if shape is not None else None
                    self._checks[operation.name] = check
        if check is None:
            return
        violations: list[str] = []
        check(params, "", violations)
        if violations:
            count = len(violations)
            noun = "error" if count == 1 else "errors"
            raise self._error(f"{count} validation {noun} detected: " + "; ".join(violations))


class _Compiler:
    """Builds checks for one operation; structures are memoised so recursion terminates."""

    def __init__(self) -> None:
        self._structures: dict[tuple[str, bool], Check | None] = {}

    def compile(self, shape: Shape, sensitive: bool) -> Check | None:
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        kind = shape.type_name
        if kind == "structure":
            if shape.is_document_type:
                return None
            return self._structure(shape, sensitive)
        element: Check | None = None
        if kind == "list":
            element = self._list_items(shape, sensitive)
        elif kind == "map":
            element = self._map_entries(shape, sensitive)
        return self._scalar(shape, sensitive, element)

    def _structure(self, shape: Shape, sensitive: bool) -> Check | None:
        key = (shape.name, sensitive)
        if key in self._structures:
            cached = self._structures[key]
            # A recursive reference: defer to the finished check at call time.
            if cached is None:
                return lambda value, path, out: _call_late(self._structures, key, value, path, out)
            return None if cached is _no_op else cached
        self._structures[key] = None
        required = tuple((name, location_name(name)) for name in shape.required_members)
        members: dict[str, tuple[str, Check]] = {}
        for name, member in shape.members.items():
            check = self.compile(member, sensitive)
            if check is not None:
                members[name] = (location_name(name), check)
        if not required and not members:
            # Keep a no-op so late-bound recursive references stay valid.
            self._structures[key] = _no_op
            return None

        def check_structure(value: Any, path: str, out: list[str]) -> None:
            for name, label in required:
                if value.get(name) is None:
                    where = f"{path}.{label}" if path else label
                    out.append(_violation(None, where, "Member must not be null", False))
            for name, item in value.items():
                entry = members.get(name)
                if entry is not None and item is not None:
                    entry[1](item, f"{path}.{entry[0]}" if path else entry[0], out)

        self._structures[key] = check_structure
        return check_structure

    def _list_items(self, shape: Shape, sensitive: bool) -> Check | None:
        member = shape.member
        if member.type_name not in _NESTED:
            # Scalar items: Coral reports them against the list, with the whole list and
            # every constraint of its members ("Value '[sparc]' at 'architectures' failed
            # to satisfy constraint: Member must satisfy constraint: [Member must satisfy
            # enum value set: [x86_64, arm64]]").
            return _members_check(member, sensitive, "Member", lambda value: value, True)
        item_check = self.compile(member, sensitive)
        if item_check is None:
            return None

        def check_items(value: Any, path: str, out: list[str]) -> None:
            for index, item in enumerate(value, 1):
                if item is not None:
                    item_check(item, f"{path}.{index}.member", out)

        return check_items

    def _map_entries(self, shape: Shape, sensitive: bool) -> Check | None:
        # Coral reports entry problems against the map, once for its keys and once for
        # its values. For scalar keys and values it shows the whole map and every
        # constraint of the key or value shape, broken or not (Lambda's "Value '{2=2.0}'
        # at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map
        # value must satisfy constraint: [Member must have value less than or equal to
        # 1.0, Member must have value greater than or equal to 0.0]"); otherwise each
        # entry's problems, wrapped in brackets.
        checks = []
        for side, label, pick in (
            (shape.key, "Map keys", _keys),
            (shape.value, "Map value", _values),
        ):
            if side.type_name not in _NESTED:
                check = _members_check(side, sensitive, label, pick)
            else:
                check = _entries_check(self.compile(side, sensitive), label, pick)
            if check is not None:
                checks.append(check)
        if not checks:
            return None
        frozen_checks = tuple(checks)

        def check_entries(value: Any, path: str, out: list[str]) -> None:
            for check in frozen_checks:
                check(value, path, out)

        return check_entries

    def _scalar(self, shape: Shape, sensitive: bool, element: Check | None) -> Check | None:
        hide = sensitive or shape.type_name == "blob"
        rules = tuple(
            (rule.message, rule.broken) for rule in _scalar_rules(shape) if rule.broken is not None
        )
        if not rules and element is None:
            return None

        def check_scalar(value: Any, path: str, out: list[str]) -> None:
            for message, broken in rules:
                if broken(value):
                    out.append(_violation(value, path, message, hide))
            if element is not None:
                element(value, path, out)

        return check_scalar


@dataclass(frozen=True)
class _Rule:
    """One constraint of a shape: AWS's words for it, and the test a value breaks (None
    for one that is only ever listed: a minimum of 0, or a pattern Python cannot read)."""

    message: str
    broken: Callable[[Any], bool] | None


def _scalar_rules(shape: Shape) -> tuple[_Rule, ...]:
    """The constraints of a shape on its own value, in the order AWS lists them all
    (maximum, minimum, enum, pattern)."""
    metadata = shape.metadata
    kind = shape.type_name
    low = metadata.get("min")
    high = metadata.get("max")
    rules: list[_Rule] = []
    if kind in _SIZED:
        if high is not None:
            message = f"Member must have length less than or equal to {high}"
            rules.append(_Rule(message, lambda v: len(v) > high))
        if low is not None:
            message = f"Member must have length greater than or equal to {low}"
            rules.append(_Rule(message, (lambda v: len(v) < low) if low else None))
    elif kind in _NUMERIC:
        if high is not None:
            message = f"Member must have value less than or equal to {high}"
            rules.append(_Rule(message, lambda v: v > high))
        if low is not None:
            message = f"Member must have value greater than or equal to {low}"
            rules.append(_Rule(message, lambda v: v < low))
    if kind == "string":
        enum = tuple(metadata.get("enum") or ())
        if enum:
            allowed = frozenset(enum)
            message = f"Member must satisfy enum value set: [{', '.join(enum)}]"
            rules.append(_Rule(message, lambda v: v not in allowed))
        if "pattern" in metadata:
            source = metadata["pattern"]
            pattern = compile_pattern(source)
            message = f"Member must satisfy regular expression pattern: {source}"
            test = (lambda v: pattern.fullmatch(v) is None) if pattern is not None else None
            rules.append(_Rule(message, test))
    return tuple(rules)


def _tests(rules: tuple[_Rule, ...]) -> tuple[Callable[[Any], bool], ...]:
    """The tests of the rules a value can break."""
    return tuple(rule.broken for rule in rules if rule.broken is not None)


def _members_check(
    shape: Shape,
    sensitive: bool,
    label: str,
    pick: Callable[[Any], Iterable[Any]],
    not_null: bool = False,
) -> Check | None:
    """One violation against a list or map (`pick` gives its items, keys or values) when
    any of them breaks a constraint of `shape`, listing all of them as Coral does (and,
    for list items, that they must not be null)."""
    rules = _scalar_rules(shape)
    tests = _tests(rules)
    if not tests:
        return None
    hide = sensitive or bool(shape.metadata.get("sensitive")) or shape.type_name == "blob"
    listed = [rule.message for rule in rules]
    if not_null:
        listed.append("Member must not be null")
    constraint = f"{label} must satisfy constraint: [{', '.join(listed)}]"

    def check_members(value: Any, path: str, out: list[str]) -> None:
        if any(test(m) for m in pick(value) if m is not None for test in tests):
            out.append(_violation(value, path, constraint, hide))

    return check_members


def _entries_check(
    check: Check | None, label: str, pick: Callable[[Any], Iterable[Any]]
) -> Check | None:
    """Each key or value (a structure, list or map) checked on its own, its problems
    wrapped in brackets against the map."""
    if check is None:
        return None

    def check_each(value: Any, path: str, out: list[str]) -> None:
        for member in pick(value):
            if member is not None:
                found: list[str] = []
                check(member, path, found)
                out.extend(_wrap(found, f"{label} must satisfy constraint"))

    return check_each


def _keys(value: Any) -> Iterable[Any]:
    return value.keys()


def _values(value: Any) -> Iterable[Any]:
    return value.values()


def _wrap(found: list[str], prefix: str) -> list[str]:
    out = []
    for violation in found:
        # "Value 'x' at 'p' failed to satisfy constraint: C" -> keep the head, wrap C.
        head, _, constraint = violation.partition(" failed to satisfy constraint: ")
        out.append(f"{head} failed to satisfy constraint: {prefix}: [{constraint}]")
    return out


def _no_op(value: Any, path: str, out: list[str]) -> None:
    return None


def _call_late(
    table: dict[tuple[str, bool], Check | None],
    key: tuple[str, bool],
    value: Any,
    path: str,
    out: list[str],
) -> None:
    check = table.get(key)
    if check is not None:
        check(value, path, out)
