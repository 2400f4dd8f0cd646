"""The base of the definition checker: its record of problems, and checks of single fields.

`_FieldChecker` collects diagnostics in AWS's order (schema problems, then transitions to
missing states, then the graph) and checks one value at a time: strings, bounded integers
and numbers, timestamps, Credentials, Assign, and the syntax inside fields (paths, payload
templates, JSONata), which the modules that compile them check. Those are imported lazily
so the checker has no import cycle with them. `machine_checks` builds on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stratus.states.asl.errors import Diagnostic
from stratus.states.asl.locations import (
    _at,
    _fields,
    _fields_of,
    _is_expression,
    _is_int,
    _is_number,
    _is_timestamp,
    _leaves,
    _looks_like_intrinsic,
    _looks_like_path,
)
from stratus.states.asl.schema import (
    ERROR,
    INVALID_JSONATA,
    INVALID_VARIABLE_NAME,
    JSONATA,
    JSONPATH,
    MAX_SECONDS,
    NO_DOLLAR,
    RESERVED_VARIABLE_NAME,
    SCHEMA,
    WARNING,
)

_PHASE_SCHEMA, _PHASE_TARGETS, _PHASE_GRAPH = 0, 1, 2


class _FieldChecker:
    """What the checker found so far, and its checks of one field or value at a time."""

    def __init__(self) -> None:
        self._found: list[tuple[int, Diagnostic]] = []
        self._top_language = JSONPATH
        self._state_names: set[str] = set()
        self._labels: set[str] = set()

    def diagnostics(self) -> list[Diagnostic]:
        """The diagnostics found, schema first, then transitions, then the graph."""
        return [d for _, d in sorted(self._found, key=lambda pair: pair[0])]

    def report(
        self,
        code: str,
        message: str,
        location: str,
        *,
        phase: int = _PHASE_SCHEMA,
        severity: str = ERROR,
    ) -> None:
        """Record one diagnostic."""
        self._found.append((phase, Diagnostic(code, message, location, severity)))

    def schema(self, message: str, location: str) -> None:
        """Record a SCHEMA_VALIDATION_FAILED error."""
        self.report(SCHEMA, message, location)

    # ── values ──

    def _string(self, holder: Mapping[str, Any], key: str, location: str) -> None:
        if key in holder and not isinstance(holder[key], str):
            self.schema("Expected value of type String", _at(location, key))

    def _choice_of(
        self, holder: Mapping[str, Any], key: str, values: tuple[str, ...], location: str
    ) -> None:
        if key in holder and holder[key] not in values:
            self.schema(
                f"Value should be one of the following: {_fields(values)}", _at(location, key)
            )

    def _integer(
        self,
        value: Any,
        location: str,
        minimum: int,
        maximum: int | None,
        language: str = JSONPATH,
    ) -> int | None:
        """An integer in [minimum, maximum] (or, in JSONata, an expression): it if literal."""
        if language == JSONATA and _is_expression(value):
            self._jsonata(value, location)
            return None
        if not _is_int(value):
            self.schema("Expected value of type Integer", location)
            return None
        return value if self._in_range(value, location, minimum, maximum) else None

    def _number(
        self,
        value: Any,
        location: str,
        minimum: float,
        maximum: float | None,
        language: str = JSONPATH,
    ) -> None:
        if language == JSONATA and _is_expression(value):
            self._jsonata(value, location)
        elif not _is_number(value):
            self.schema("Expected value of type Number", location)
        else:
            self._in_range(value, location, minimum, maximum)

    def _in_range(self, value: float, location: str, minimum: float, maximum: float | None) -> bool:
        if value < minimum:
            self.schema(f"Minimum value is {minimum}", location)
            return False
        if maximum is not None and value > maximum:
            self.schema(f"Maximum value is {maximum}", location)
            return False
        return True

    def _bounded_pair(
        self,
        holder: Mapping[str, Any],
        location: str,
        language: str,
        key: str,
        minimum: int,
        maximum: int | None,
        *,
        integer: bool = True,
    ) -> int | None:
        """`key` and `key`Path: at most one, each of its kind; the literal if there is one."""
        path = f"{key}Path"
        if key in holder and path in holder:
            self.schema(
                f"There should only be one of the following fields: [{key}, {path}]", location
            )
        value = None
        if key in holder:
            where = _at(location, key)
            if integer:
                value = self._integer(holder[key], where, minimum, maximum, language)
            else:
                self._number(holder[key], where, minimum, maximum, language)
        if path in holder and language == JSONPATH:
            self._reference_path(holder[path], _at(location, path))
        return value

    def _seconds_pair(
        self, state: Mapping[str, Any], location: str, language: str, key: str, *, minimum: int
    ) -> int | None:
        return self._bounded_pair(state, location, language, key, minimum, MAX_SECONDS)

    def _timestamp(self, value: Any, location: str, language: str) -> None:
        if language == JSONATA and _is_expression(value):
            self._jsonata(value, location)
        elif not isinstance(value, str):
            self.schema("Expected value of type String", location)
        elif not _is_timestamp(value):
            self.schema("String does not match RFC3339 timestamp", location)

    def _credentials(self, credentials: Any, location: str, language: str) -> None:
        if not isinstance(credentials, dict):
            self.schema("Expected value of type Object", location)
            return
        if "RoleArn" not in credentials and "RoleArn.$" not in credentials:
            self.schema("The field 'RoleArn' is required but was missing", location)
        if language == JSONPATH:
            self._payload(credentials, location, True)
        else:
            self._jsonata(credentials, location)

    def _assign(self, assign: Any, location: str, language: str) -> None:
        if not isinstance(assign, dict):
            self.schema("Expected value of type Object", location)
            return
        for key in assign:
            name = key[:-2] if language == JSONPATH and key.endswith(".$") else key
            if name == "states":
                self.report(
                    RESERVED_VARIABLE_NAME,
                    "Cannot assign to reserved variable '$states'.",
                    _at(location, key),
                )
            elif not name.isidentifier():
                self.report(
                    INVALID_VARIABLE_NAME,
                    f"Invalid variable name '{name}': the variable name contains invalid "
                    "characters.",
                    _at(location, key),
                )
        if language == JSONPATH:
            self._payload(assign, location, True)
        else:
            self._jsonata(assign, location)

    # ── syntax, by the modules that compile it ──

    def _path(self, value: Any, location: str) -> None:
        from stratus.states.asl import paths

        if not isinstance(value, str):
            self.schema("Expected value of type String", location)
            return
        try:
            paths.compile_path(value)
        except paths.PathSyntaxError as bad:
            self.schema(f"Value must be a valid JSONPath: {bad}", location)

    def _reference_path(self, value: Any, location: str) -> str | None:
        """Check a Reference Path; its root (``$``, ``$$`` or a variable) if it is one."""
        from stratus.states.asl import paths

        if not isinstance(value, str):
            self.schema("Expected value of type String", location)
            return None
        try:
            return paths.compile_reference_path(value).root
        except paths.PathSyntaxError as bad:
            self.schema(f"Value is not a Reference Path: {bad}", location)
            return None

    def _result_path(self, value: Any, location: str) -> None:
        root = self._reference_path(value, location)
        if root is not None and root != "$":
            self.schema(
                "Value is not a Reference Path: ResultPath can only write into the state's "
                "input ($), not the context object or a variable",
                location,
            )

    def _path_or_intrinsic(self, value: Any, location: str) -> None:
        from stratus.states.asl import intrinsics

        if isinstance(value, str) and intrinsics.is_intrinsic(value):
            try:
                intrinsics.compile_intrinsic(value)
            except intrinsics.IntrinsicSyntaxError as bad:
                self.schema(str(bad), location)
        else:
            self._reference_path(value, location)

    def _payload(self, template: Any, location: str, object_required: bool) -> None:
        """A JSONPath payload template: each ``.$`` field compiled apart, to report all."""
        from stratus.states.asl import intrinsics, paths, payload

        if object_required and not isinstance(template, dict):
            self.schema("Expected value of type Object", location)
            return
        for where, key, value in _fields_of(template, location):
            if key.endswith(".$"):
                try:
                    payload.compile_template({key: value})
                except (paths.PathSyntaxError, intrinsics.IntrinsicSyntaxError) as bad:
                    self.schema(str(bad), where)
            elif _looks_like_path(value) or _looks_like_intrinsic(value):
                self.report(
                    NO_DOLLAR,
                    f"The value of field '{key}' looks like a JSONPath or an intrinsic "
                    "function, but the field name does not end with '.$'",
                    where,
                    severity=WARNING,
                )

    def _jsonata(self, template: Any, location: str) -> None:
        """A JSONata template: each ``{% %}`` expression compiled apart, to report all."""
        from stratus.states.asl import jsonata

        for where, value in _leaves(template, location):
            if jsonata.is_expression(value):
                try:
                    jsonata.compile_template(value)
                except jsonata.JsonataSyntaxError as bad:
                    self.report(bad.code or INVALID_JSONATA, str(bad), where)
