"""Choice Rules: compiled once into closures, evaluated on every visit of a Choice state.

JSONPath mode: a rule is ``Variable`` with one comparison operator, or And/Or/Not over
rules. As on AWS, a value of the wrong type for its operator makes the comparison false,
not an error; a ``Variable`` (or ``…Path`` operand) that selects nothing is a States.Runtime
error, except under ``IsPresent``. Strings order as Java's ``String.compareTo`` does (by
UTF-16 code unit, which differs from Python's code points only past U+FFFF), and
timestamps compare as instants, to the nanosecond, across time zone offsets.

JSONata mode: a rule is a ``Condition`` expression that must give a boolean.

A rule carries no ``Next``: the caller reads it, and ``Assign`` and ``Output`` too.

The comparison operators are in `choice_comparisons`, timestamps in `timestamps`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from stratus.states.asl import jsonata
from stratus.states.asl.choice_comparisons import (
    _IS,
    _ORDER,
    _Get,
    _is_number,
    _is_present,
    _literal_comparison,
    _path_comparison,
    _string_matches,
    _Test,
    _type_test,
)
from stratus.states.asl.errors import QUERY_EVALUATION_ERROR, RUNTIME, StatesError
from stratus.states.asl.paths import (
    Path,
    PathMatchError,
    PathSyntaxError,
    compile_reference_path,
    json_text,
    json_type,
)
from stratus.states.asl.scope import Scope
from stratus.states.asl.timestamps import _instant

JSONATA: Final = "JSONata"
SCHEMA: Final = "SCHEMA_VALIDATION_FAILED"


class ChoiceRuleError(ValueError):
    """A malformed Choice Rule; `location` points into the rule (``/And/1/Variable``)."""

    def __init__(self, message: str, location: str = "", code: str = SCHEMA) -> None:
        super().__init__(message)
        self.location = location
        #: The diagnostic code AWS reports it under.
        self.code = code


class Rule:
    """A compiled Choice Rule.

    A JSONPath rule answers `evaluate(data, scope)`, with `data` the state's effective
    input; a JSONata rule answers `evaluate_jsonata(states, variables)`. Either raises a
    `StatesError` where AWS fails the state.
    """

    __slots__ = ("_condition", "_field", "_test", "query_language")

    def __init__(
        self,
        query_language: str,
        test: _Test | None = None,
        condition: jsonata.JsonataExpression | bool | None = None,
        field: str = "Condition",
    ) -> None:
        self.query_language = query_language
        self._test = test
        self._condition = condition
        self._field = field

    def evaluate(self, data: Any, scope: Scope) -> bool:
        """Whether a JSONPath rule matches `data`."""
        if self._test is None:
            raise TypeError("a JSONata rule is evaluated with evaluate_jsonata")
        return self._test(data, scope)

    def evaluate_jsonata(self, states: Mapping[str, Any], variables: Mapping[str, Any]) -> bool:
        """Whether a JSONata rule's Condition holds, with ``$states`` and the variables."""
        condition = self._condition
        if condition is None:
            raise TypeError("a JSONPath rule is evaluated with evaluate")
        if condition is True or condition is False:
            return condition
        value = condition.evaluate(states, variables, self._field)
        if value.__class__ is bool:
            return bool(value)
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{condition.text}' specified for the field "
            f"'{self._field}' returned an unexpected result type. Expected 'boolean', "
            f"but was '{json_type(value)}' for value: {json_text(value)}",
        )


def compile_rule(rule: Mapping[str, Any], query_language: str, *, index: int | None = None) -> Rule:
    """Compile one element of ``Choices`` (its ``Next``, ``Assign``, ``Output`` are ignored).

    `index`, the rule's place in ``Choices``, only names the field in JSONata errors
    (``Choices[2]/Condition``). Raises `ChoiceRuleError` for a rule AWS would refuse.
    """
    if query_language == JSONATA:
        field = "Condition" if index is None else f"Choices[{index}]/Condition"
        return Rule(JSONATA, condition=_compile_condition(rule), field=field)
    return Rule("JSONPath", test=_compile_jsonpath(rule, "", top=True))


# ── JSONata ─────────────────────────────────────────────────────────────────────────────

_JSONATA_FIELDS: Final = frozenset({"Condition", "Next", "Assign", "Output", "Comment"})


def _compile_condition(rule: Any) -> jsonata.JsonataExpression | bool:
    if not isinstance(rule, Mapping):
        raise ChoiceRuleError("Expected value of type [OBJECT]")
    for key in rule:
        if key not in _JSONATA_FIELDS:
            raise ChoiceRuleError(_misplaced(key, JSONATA) or _unsupported(key), f"/{key}")
    if "Condition" not in rule:
        raise ChoiceRuleError("These fields are required: [Condition]")
    condition = rule["Condition"]
    if condition is True or condition is False:
        return bool(condition)
    if not jsonata.is_expression(condition):
        raise ChoiceRuleError(
            "The value for the field 'Condition' must be a JSONata expression: {% … %}",
            "/Condition",
        )
    try:
        return jsonata.compile_expression(condition[2:-2])
    except jsonata.JsonataSyntaxError as e:
        raise ChoiceRuleError(str(e), "/Condition", e.code) from None


# ── JSONPath ────────────────────────────────────────────────────────────────────────────

_KINDS: Final = ("String", "Numeric", "Timestamp", "Boolean")

#: Every comparison operator: name → (kind, relation, operand is a path).
_COMPARISONS: Final[dict[str, tuple[str, str, bool]]] = {
    f"{kind}{relation}{suffix}": (kind, relation, bool(suffix))
    for kind in _KINDS
    for relation in (("Equals",) if kind == "Boolean" else _ORDER)
    for suffix in ("", "Path")
}
_COMPARISONS["StringMatches"] = ("String", "Matches", False)
_TYPE_TESTS: Final = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")
_OPERATORS: Final = frozenset(_COMPARISONS) | frozenset(_TYPE_TESTS)
_COMBINATORS: Final = ("And", "Or", "Not", "Variable")


def _compile_jsonpath(rule: Any, location: str, *, top: bool) -> _Test:
    if not isinstance(rule, Mapping):
        raise ChoiceRuleError("Expected value of type [OBJECT]", location)
    for key in rule:
        if key in _COMBINATORS or key in _OPERATORS or key == "Comment":
            continue
        if top and key in ("Next", "Assign"):
            continue
        raise ChoiceRuleError(_misplaced(key, "JSONPath") or _unsupported(key), f"{location}/{key}")
    kinds = [key for key in _COMBINATORS if key in rule]
    if len(kinds) != 1:
        raise ChoiceRuleError(
            f"The object must have only one of the following fields: {_list(_COMBINATORS)}",
            location,
        )
    kind = kinds[0]
    if kind == "Variable":
        return _compile_comparison(rule, location)
    for key in rule:
        if key in _OPERATORS:
            raise ChoiceRuleError(
                f"Field '{key}' is not supported alongside '{kind}'", f"{location}/{key}"
            )
    value = rule[kind]
    where = f"{location}/{kind}"
    if kind == "Not":
        inner = _compile_jsonpath(value, where, top=False)
        return lambda data, scope: not inner(data, scope)
    if not isinstance(value, list):
        raise ChoiceRuleError("Expected value of type [ARRAY]", where)
    if not value:
        raise ChoiceRuleError("Value cannot be empty", where)
    tests = tuple(
        _compile_jsonpath(item, f"{where}/{i}", top=False) for i, item in enumerate(value)
    )
    return _all(tests) if kind == "And" else _any(tests)


# Plain loops: all() and any() over a generator cost twice as much for a handful of rules.
def _all(tests: tuple[_Test, ...]) -> _Test:
    def test(data: Any, scope: Scope) -> bool:
        for inner in tests:  # noqa: SIM110
            if not inner(data, scope):
                return False
        return True

    return test


def _any(tests: tuple[_Test, ...]) -> _Test:
    def test(data: Any, scope: Scope) -> bool:
        for inner in tests:  # noqa: SIM110
            if inner(data, scope):
                return True
        return False

    return test


def _compile_comparison(rule: Mapping[str, Any], location: str) -> _Test:
    operators = [key for key in rule if key in _OPERATORS]
    if len(operators) != 1:
        found = f", found {_list(operators)}" if operators else ""
        raise ChoiceRuleError(
            f"A Choice Rule with 'Variable' must have exactly one comparison operator{found}",
            location,
        )
    name = operators[0]
    variable = _reference_path(rule, "Variable", location)
    value = rule[name]
    where = f"{location}/{name}"
    get = _getter(variable)
    if name in _TYPE_TESTS:
        if value is not True and value is not False:
            raise ChoiceRuleError("Expected value of type [BOOLEAN]", where)
        if name == "IsPresent":
            return _is_present(variable, value)
        return _type_test(get, _IS[name], value)
    kind, relation, on_path = _COMPARISONS[name]
    if on_path:
        return _path_comparison(get, _getter(_reference_path(rule, name, location)), kind, relation)
    if relation == "Matches":
        if not isinstance(value, str):
            raise ChoiceRuleError("Expected value of type [STRING]", where)
        return _string_matches(get, value)
    return _literal_comparison(get, kind, relation, _literal(kind, value, where))


def _reference_path(rule: Mapping[str, Any], field: str, location: str) -> Path:
    text = rule[field]
    try:
        if not isinstance(text, str):
            raise PathSyntaxError("not a string")
        return compile_reference_path(text)
    except PathSyntaxError:
        raise ChoiceRuleError(
            f"The value for the field '{field}' must be a valid JSONPath", f"{location}/{field}"
        ) from None


def _getter(path: Path) -> _Get:
    """The path's value; nothing selected is AWS's Runtime error naming the path."""
    evaluate = path.evaluate
    cause = (
        f"Invalid path '{path.text}': The choice state's condition path references an "
        "invalid value."
    )

    def get(data: Any, scope: Scope) -> Any:
        try:
            return evaluate(data, scope)
        except PathMatchError:
            raise StatesError(RUNTIME, cause) from None

    return get


def _literal(kind: str, value: Any, where: str) -> Any:
    """A comparison's literal operand, checked, in the form its comparison uses."""
    if kind == "String" and isinstance(value, str):
        return value
    if kind == "Numeric" and _is_number(value):
        return value
    if kind == "Boolean" and (value is True or value is False):
        return value
    if kind == "Timestamp" and isinstance(value, str):
        instant = _instant(value)
        if instant is None:
            raise ChoiceRuleError("String does not match RFC3339 timestamp", where)
        return instant
    expected = {"String": "STRING", "Numeric": "NUMBER", "Boolean": "BOOLEAN"}.get(kind, "STRING")
    raise ChoiceRuleError(f"Expected value of type [{expected}]", where)


# ── messages ────────────────────────────────────────────────────────────────────────────

_JSONPATH_ONLY: Final = _OPERATORS | frozenset(_COMBINATORS)


def _misplaced(key: str, language: str) -> str | None:
    """AWS's words for a field of the other query language, or None."""
    if language == JSONATA and key in _JSONPATH_ONLY:
        owner = "JSONPath"
    elif language != JSONATA and key in ("Condition", "Output"):
        owner = JSONATA
    else:
        return None
    return (
        f"The QueryLanguage is set to '{language}', but field '{key}' is only supported "
        f"for the '{owner}' QueryLanguage"
    )


def _unsupported(key: str) -> str:
    return f"Field '{key}' is not supported"


def _list(names: Any) -> str:
    return "[" + ", ".join(names) + "]"
