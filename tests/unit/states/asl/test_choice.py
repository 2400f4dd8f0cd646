"""Choice Rules, section by section as AWS's "Choice workflow state" page describes them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stratus.states.asl.choice import ChoiceRuleError, Rule, compile_rule
from stratus.states.asl.choice_comparisons import glob_matcher
from stratus.states.asl.errors import QUERY_EVALUATION_ERROR, RUNTIME, StatesError
from stratus.states.asl.scope import Scope

pytestmark = pytest.mark.timeout(60)

SCOPE = Scope(
    context={"Execution": {"Name": "e1"}, "State": {"RetryCount": 0}},
    variables={"limit": 10, "name": "Private", "flag": True},
)
PROPERTIES = settings(max_examples=300, deadline=None, database=None)


def matches(rule: Mapping[str, Any], data: Any, scope: Scope = SCOPE) -> bool:
    return compile_rule(rule, "JSONPath").evaluate(data, scope)


def choose(choices: list[dict[str, Any]], data: Any, default: str | None = None) -> str | None:
    """What a Choice state does with its rules: the first match's Next, else Default."""
    for rule in choices:
        if compile_rule(rule, "JSONPath").evaluate(data, SCOPE):
            return str(rule["Next"])
    return default


def refused(rule: Any, language: str = "JSONPath") -> ChoiceRuleError:
    with pytest.raises(ChoiceRuleError) as caught:
        compile_rule(rule, language)
    return caught.value


def runtime_error(rule: Mapping[str, Any], data: Any) -> str:
    with pytest.raises(StatesError) as caught:
        matches(rule, data)
    assert caught.value.error == RUNTIME
    return caught.value.cause


# ── Choice state example ────────────────────────────────────────────────────────────────

EXAMPLE_CHOICES: list[dict[str, Any]] = [
    {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
    {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
    {
        "And": [
            {"Variable": "$.value", "NumericGreaterThanEquals": 20},
            {"Variable": "$.value", "NumericLessThan": 30},
        ],
        "Next": "ValueInTwenties",
    },
]


@pytest.mark.parametrize(
    ("data", "target"),
    [
        ({"type": "Private", "value": 22}, "ValueInTwenties"),
        ({"type": "Public", "value": 22}, "Public"),
        ({"type": "Private", "value": 0}, "ValueIsZero"),
        ({"type": "Private", "value": 35}, "DefaultState"),
    ],
)
def test_the_documented_example_routes_as_documented(data: Any, target: str) -> None:
    assert choose(EXAMPLE_CHOICES, data, "DefaultState") == target


def test_the_documented_example_fails_without_the_type_field() -> None:
    cause = runtime_error(EXAMPLE_CHOICES[0], {"value": 22})
    assert cause == (
        "Invalid path '$.type': The choice state's condition path references an invalid value."
    )


# ── Choice Rules: comparisons ───────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("StringEquals", "MyString", True),
        ("StringEquals", "mystring", False),
        ("StringLessThan", "MyStringABC", True),
        ("StringGreaterThan", "MyStringABC", False),
        ("StringGreaterThan", "MyStrinf", True),
        ("StringLessThanEquals", "MyString", True),
        ("StringGreaterThanEquals", "MyString", True),
        ("StringGreaterThanEquals", "N", False),
    ],
)
def test_string_comparisons(operator: str, value: str, expected: bool) -> None:
    assert matches({"Variable": "$.foo", operator: value}, {"foo": "MyString"}) is expected


def test_strings_order_by_utf16_code_unit_as_java_compare_to_does() -> None:
    # U+FFFF is one code unit, U+10000 two surrogates starting at 0xD800: Java puts U+FFFF
    # after U+10000, where code point order (Python's) puts it before.
    astral, high = "\U00010000", "\uffff"
    assert matches({"Variable": "$.s", "StringGreaterThan": astral}, {"s": high})
    assert matches({"Variable": "$.s", "StringLessThanPath": "$.t"}, {"s": astral, "t": high})
    assert matches({"Variable": "$.s", "StringLessThan": "b"}, {"s": "a\U00010000"})


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("NumericEquals", 1, True),
        ("NumericEquals", 1.0, True),
        ("NumericLessThan", 1.5, True),
        ("NumericGreaterThan", 0.5, True),
        ("NumericLessThanEquals", 1, True),
        ("NumericGreaterThanEquals", 2, False),
    ],
)
def test_numeric_comparisons(operator: str, value: float, expected: bool) -> None:
    assert matches({"Variable": "$.foo", operator: value}, {"foo": 1}) is expected


def test_boolean_equals() -> None:
    assert matches({"Variable": "$.b", "BooleanEquals": True}, {"b": True})
    assert not matches({"Variable": "$.b", "BooleanEquals": True}, {"b": False})
    assert not matches({"Variable": "$.b", "BooleanEquals": True}, {"b": 1})
    assert matches({"Variable": "$.b", "BooleanEqualsPath": "$flag"}, {"b": True})


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("TimestampEquals", "2001-01-01T12:00:00Z", True),
        ("TimestampEquals", "2001-01-01T13:00:00+01:00", True),
        ("TimestampEquals", "2001-01-01T12:00:00.000000001Z", False),
        ("TimestampLessThan", "2001-01-01T12:00:00.5Z", True),
        ("TimestampGreaterThan", "2001-01-01T06:59:59-05:00", True),
        ("TimestampLessThanEquals", "2001-01-01T12:00:00Z", True),
        ("TimestampGreaterThanEquals", "2001-01-02T00:00:00Z", False),
    ],
)
def test_timestamp_comparisons_compare_instants(operator: str, value: str, expected: bool) -> None:
    assert matches({"Variable": "$.t", operator: value}, {"t": "2001-01-01T12:00:00Z"}) is expected


@pytest.mark.parametrize(
    "text",
    [
        "2016-08-18T17:33:00Z",
        "2016-08-18T17:33:00.123Z",
        "2016-08-18T17:33:00.123456789+05:30",
        "2016-08-18T17:33:00-00:00",
        "2016-02-29T23:59:59Z",
        "2016-08-18T17:33:00+18:00",
    ],
)
def test_rfc3339_timestamps_are_timestamps(text: str) -> None:
    assert matches({"Variable": "$.t", "IsTimestamp": True}, {"t": text})


@pytest.mark.parametrize(
    "text",
    [
        "2012-10-09T19:00:55",  # no offset
        "2023-02-24",  # no time
        "2023-02-24 12:15:56.832957",  # a blank for the T
        "2016-08-18t17:33:00Z",  # lowercase t
        "2016-08-18T17:33:00z",  # lowercase z
        "2015-02-29T00:00:00Z",  # no such day
        "2016-08-18T24:00:00Z",
        "2016-08-18T17:33:60Z",  # no leap second
        "2016-08-18T17:33:00.1234567890Z",  # more than nanoseconds
        "2016-08-18T17:33:00+19:00",
        "2016-08-18T17:33:00+0100",
        "\uff12\uff10\uff11\uff16-08-18T17:33:00Z",  # fullwidth digits, not ASCII
        "",
    ],
)
def test_other_strings_are_not_timestamps(text: str) -> None:
    assert not matches({"Variable": "$.t", "IsTimestamp": True}, {"t": text})
    assert not matches(
        {"Variable": "$.t", "TimestampLessThan": "2100-01-01T00:00:00Z"}, {"t": text}
    )


def test_a_timestamp_is_also_a_string() -> None:
    data = {"t": "2001-01-01T12:00:00Z"}
    assert matches({"Variable": "$.t", "StringEquals": "2001-01-01T12:00:00Z"}, data)
    assert matches({"Variable": "$.t", "IsString": True}, data)


# ── Choice Rules: StringMatches ─────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("log-*.txt", "log-2023.txt", True),
        ("log-*.txt", "log-.txt", True),
        ("log-*.txt", "log-1.txt.gz", False),
        ("foo*.log", "foo23.log", True),
        ("*.log", "zebra.log", True),
        ("foo*.*", "foobar.zebra", True),
        ("*", "", True),
        ("a*b*c", "abc", True),
        ("a*b*c", "acb", False),
        ("a*a", "a", False),
        ("a**a", "aa", True),
        ("*ab*ab*", "xabyab", True),
        ("*ab*ab*", "xaby", False),
        (r"a\*b", "a*b", True),
        (r"a\*b", "axb", False),
        (r"a\\*", "a\\anything", True),
        (r"a\\\*", "a\\*", True),
        (r"a\b", "a\\b", True),
        ("trailing\\", "trailing\\", True),
    ],
)
def test_string_matches(pattern: str, text: str, expected: bool) -> None:
    assert matches({"Variable": "$.s", "StringMatches": pattern}, {"s": text}) is expected


def test_string_matches_with_many_stars_takes_linear_time() -> None:
    matcher = glob_matcher("*a" * 30 + "*b")
    assert not matcher("a" * 20_000)


# ── Choice Rules: Path variants, $$ and variables ───────────────────────────────────────


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.a", "NumericLessThanPath": "$.b"}, True),
        ({"Variable": "$.a", "NumericEqualsPath": "$limit"}, False),
        ({"Variable": "$.b", "NumericEqualsPath": "$limit"}, True),
        ({"Variable": "$.s", "StringEqualsPath": "$name"}, True),
        ({"Variable": "$$.Execution.Name", "StringEquals": "e1"}, True),
        ({"Variable": "$.s", "StringGreaterThanPath": "$$.Execution.Name"}, False),
        ({"Variable": "$.t", "TimestampLessThanPath": "$.u"}, True),
        ({"Variable": "$.t", "TimestampEqualsPath": "$.s"}, False),
        ({"Variable": "$limit", "NumericGreaterThan": 9}, True),
        ({"Variable": "$", "IsPresent": True}, True),
        ({"Variable": "$.list[1]", "NumericEquals": 20}, True),
    ],
)
def test_path_operands_read_input_context_and_variables(
    rule: dict[str, Any], expected: bool
) -> None:
    data = {
        "a": 1,
        "b": 10,
        "s": "Private",
        "t": "2020-01-01T00:00:00Z",
        "u": "2020-01-01T00:00:01Z",
        "list": [10, 20],
    }
    assert matches(rule, data) is expected


# ── values of the wrong type ────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("operator", "literal", "value"),
    [
        ("StringEquals", "1", 1),
        ("StringLessThan", "z", None),
        ("StringMatches", "*", ["x"]),
        ("NumericEquals", 1, "1"),
        ("NumericEquals", 1, True),
        ("NumericGreaterThan", 0, {"a": 1}),
        ("BooleanEquals", True, "true"),
        ("BooleanEquals", False, 0),
        ("TimestampEquals", "2001-01-01T12:00:00Z", 978350400),
    ],
)
def test_a_value_of_the_wrong_type_does_not_match(operator: str, literal: Any, value: Any) -> None:
    assert not matches({"Variable": "$.v", operator: literal}, {"v": value})


def test_a_path_operand_of_the_wrong_type_does_not_match() -> None:
    assert not matches({"Variable": "$.a", "NumericEqualsPath": "$.b"}, {"a": 1, "b": "1"})
    assert not matches({"Variable": "$.a", "StringEqualsPath": "$.b"}, {"a": "1", "b": 1})
    assert not matches({"Variable": "$.a", "BooleanEqualsPath": "$.b"}, {"a": True, "b": 1})


# ── Is* operators (each takes true or false) ────────────────────────────────────────────

# Values AWS has been observed to classify, with the Is* operators that hold for each.
CLASSIFIED: list[tuple[Any, set[str]]] = [
    (None, {"IsNull"}),
    (0, {"IsNumeric"}),
    (0.0, {"IsNumeric"}),
    (1.1, {"IsNumeric"}),
    ("", {"IsString"}),
    (" ", {"IsString"}),
    ("HelloWorld", {"IsString"}),
    ("2012-10-09T19:00:55", {"IsString"}),
    ("2012-10-09T19:00:55Z", {"IsString", "IsTimestamp"}),
    ("2023-02-24", {"IsString"}),
    ([], set()),
    ([""], set()),
    ({}, set()),
    ({"A": 0}, set()),
    (True, {"IsBoolean"}),
    (False, {"IsBoolean"}),
]


@pytest.mark.parametrize(("value", "holds"), CLASSIFIED)
@pytest.mark.parametrize(
    "operator", ["IsNull", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"]
)
def test_type_tests(value: Any, holds: set[str], operator: str) -> None:
    data = {"Variable": value}
    assert matches({"Variable": "$.Variable", operator: True}, data) is (operator in holds)
    assert matches({"Variable": "$.Variable", operator: False}, data) is (operator not in holds)


@pytest.mark.parametrize(("value", "_holds"), CLASSIFIED)
def test_is_present_holds_for_any_value_even_null(value: Any, _holds: set[str]) -> None:
    assert matches({"Variable": "$.Variable", "IsPresent": True}, {"Variable": value})
    assert not matches({"Variable": "$.Variable", "IsPresent": False}, {"Variable": value})


def test_is_present_is_false_for_a_missing_path_where_others_fail() -> None:
    data = {"a": {"b": 1}}
    for path in ("$.missing", "$.a.c", "$.a.b.c", "$nope", "$.a[0]"):
        assert not matches({"Variable": path, "IsPresent": True}, data)
        assert matches({"Variable": path, "IsPresent": False}, data)
    assert "Invalid path '$.a.c'" in runtime_error({"Variable": "$.a.c", "IsNull": True}, data)


def test_is_present_guards_a_comparison_under_and() -> None:
    rule = {
        "And": [
            {"Variable": "$.keyThatMightNotExist", "IsPresent": True},
            {"Variable": "$.keyThatMightNotExist", "StringEquals": "foo"},
        ]
    }
    assert not matches(rule, {})
    assert matches(rule, {"keyThatMightNotExist": "foo"})


# ── paths that select nothing ───────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"Variable": "$.missing", "NumericEquals": 1}, "$.missing"),
        ({"Variable": "$.num", "NumericEqualsPath": "$.missing"}, "$.missing"),
        ({"Variable": "$undefinedVariable", "StringEquals": "value"}, "$undefinedVariable"),
        ({"Variable": "$$.Task.Token", "IsString": True}, "$$.Task.Token"),
        ({"Not": {"Variable": "$.missing", "IsNull": False}}, "$.missing"),
    ],
)
def test_a_path_that_selects_nothing_is_a_runtime_error(rule: dict[str, Any], path: str) -> None:
    assert runtime_error(rule, {"num": 1}) == (
        f"Invalid path '{path}': The choice state's condition path references an invalid value."
    )


def test_or_stops_at_the_first_rule_that_holds() -> None:
    rule = {"Or": [{"Variable": "$.a", "IsNull": True}, {"Variable": "$.gone", "IsNull": True}]}
    assert matches(rule, {"a": None})
    assert "$.gone" in runtime_error(rule, {"a": 1})


# ── rules AWS refuses ───────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("rule", "message", "location"),
    [
        ([], "Expected value of type [OBJECT]", ""),
        ({"Next": "X"}, "The object must have only one of the following fields", ""),
        ({"Variable": "$.a", "And": [], "NumericEquals": 1}, "only one of the following", ""),
        ({"Variable": "$.a"}, "must have exactly one comparison operator", ""),
        (
            {"Variable": "$.a", "NumericEquals": 1, "NumericLessThan": 2},
            "found [NumericEquals, NumericLessThan]",
            "",
        ),
        (
            {"Variable": "a.b", "IsNull": True},
            "field 'Variable' must be a valid JSONPath",
            "/Variable",
        ),
        ({"Variable": "$.a[*]", "IsNull": True}, "must be a valid JSONPath", "/Variable"),
        ({"Variable": 5, "IsNull": True}, "must be a valid JSONPath", "/Variable"),
        (
            {"Variable": "$.a", "StringEqualsPath": "$.b[?(@.c)]"},
            "field 'StringEqualsPath' must be a valid JSONPath",
            "/StringEqualsPath",
        ),
        (
            {"Variable": "$.a", "StringEquals": 1},
            "Expected value of type [STRING]",
            "/StringEquals",
        ),
        ({"Variable": "$.a", "StringMatches": 1}, "[STRING]", "/StringMatches"),
        ({"Variable": "$.a", "NumericEquals": "1"}, "[NUMBER]", "/NumericEquals"),
        ({"Variable": "$.a", "NumericEquals": True}, "[NUMBER]", "/NumericEquals"),
        ({"Variable": "$.a", "BooleanEquals": "true"}, "[BOOLEAN]", "/BooleanEquals"),
        ({"Variable": "$.a", "IsNull": "yes"}, "[BOOLEAN]", "/IsNull"),
        (
            {"Variable": "$.a", "TimestampEquals": "2001-01-01"},
            "String does not match RFC3339 timestamp",
            "/TimestampEquals",
        ),
        (
            {"Variable": "$.a", "StringMatchesPath": "$.b"},
            "Field 'StringMatchesPath' is not supported",
            "/StringMatchesPath",
        ),
        ({"And": {"Variable": "$.a", "IsNull": True}}, "[ARRAY]", "/And"),
        ({"Or": []}, "Value cannot be empty", "/Or"),
        ({"Not": [{"Variable": "$.a", "IsNull": True}]}, "[OBJECT]", "/Not"),
        (
            {"And": [{"Variable": "$.a", "IsNull": True}, {"Variable": "$.b"}]},
            "exactly one comparison operator",
            "/And/1",
        ),
        (
            {"Or": [{"Not": {"Variable": "$.a", "IsNull": True, "Next": "X"}}]},
            "Field 'Next' is not supported",
            "/Or/0/Not/Next",
        ),
        ({"Not": {"Variable": "$.a", "IsNull": True, "Assign": {}}}, "'Assign'", "/Not/Assign"),
        (
            {"Condition": "{% true %}"},
            "The QueryLanguage is set to 'JSONPath', but field 'Condition' is only supported "
            "for the 'JSONata' QueryLanguage",
            "/Condition",
        ),
        (
            {"Variable": "$.a", "IsNull": True, "Extra": 1},
            "Field 'Extra' is not supported",
            "/Extra",
        ),
    ],
)
def test_malformed_rules_are_refused_with_where_and_why(
    rule: Any, message: str, location: str
) -> None:
    error = refused(rule)
    assert message in str(error)
    assert error.location == location
    assert error.code == "SCHEMA_VALIDATION_FAILED"


def test_a_top_level_rule_may_carry_next_assign_and_comment() -> None:
    rule = {"Variable": "$.a", "IsNull": True, "Next": "X", "Assign": {"k": 1}, "Comment": "c"}
    assert matches(rule, {"a": None})


# ── Choice Rules (JSONata) ──────────────────────────────────────────────────────────────


def holds(rule: Mapping[str, Any], states: Any = None, variables: Any = None, **kw: Any) -> bool:
    compiled = compile_rule(rule, "JSONata", **kw)
    return compiled.evaluate_jsonata(states or {"input": {}}, variables or {})


@pytest.mark.parametrize(
    ("condition", "variables", "expected"),
    [
        ("{% $foo = 1 %}", {"foo": 1}, True),
        ("{% $type = 'local' %}", {"type": "local"}, True),
        ("{% $type = 'local' %}", {"type": "remote"}, False),
        ("{% $foo > 'MyStringABC' %}", {"foo": "MyStringABD"}, True),
        (
            "{% $possiblyNullValue != null and $possiblyNullValue = 42 %}",
            {"possiblyNullValue": None},
            False,
        ),
        (
            "{% $possiblyNullValue != null and $possiblyNullValue = 42 %}",
            {"possiblyNullValue": 42},
            True,
        ),
    ],
)
def test_the_documented_conditions(condition: str, variables: Any, expected: bool) -> None:
    assert holds({"Condition": condition, "Next": "X"}, variables=variables) is expected


def test_a_condition_reads_states_and_variables() -> None:
    rule = {"Condition": "{% $states.input.total > $limit and $states.context.Retry = 0 %}"}
    states = {"input": {"total": 11}, "context": {"Retry": 0}}
    assert holds(rule, states, {"limit": 10})
    assert not holds(rule, states, {"limit": 11})


def test_a_condition_that_is_not_a_boolean_fails() -> None:
    with pytest.raises(StatesError) as caught:
        holds({"Condition": "{% $states.input.n %}"}, {"input": {"n": 1}}, index=3)
    assert caught.value.error == QUERY_EVALUATION_ERROR
    assert caught.value.cause == (
        "The JSONata expression '$states.input.n' specified for the field "
        "'Choices[3]/Condition' returned an unexpected result type. Expected 'boolean', but "
        "was 'number' for value: 1"
    )


def test_a_condition_that_gives_nothing_fails() -> None:
    with pytest.raises(StatesError) as caught:
        holds({"Condition": "{% $states.input.missing %}"})
    assert caught.value.error == QUERY_EVALUATION_ERROR
    assert caught.value.cause.endswith(
        "specified for the field 'Condition' returned nothing (undefined)."
    )


@pytest.mark.parametrize(
    ("rule", "message", "location", "code"),
    [
        ({"Next": "X"}, "These fields are required: [Condition]", "", "SCHEMA_VALIDATION_FAILED"),
        (
            {"Condition": "$.a == 1"},
            "must be a JSONata expression",
            "/Condition",
            "SCHEMA_VALIDATION_FAILED",
        ),
        ({"Condition": "{% 1 = %}"}, "'1 ='", "/Condition", "INVALID_JSONATA_EXPRESSION"),
        (
            {"Condition": "{% flag %}"},
            "Reference to 'flag' at the top level",
            "/Condition",
            "UNSUPPORTED_JSONATA_EXPRESSION",
        ),
        (
            {"Variable": "$.a", "IsNull": True},
            "The QueryLanguage is set to 'JSONata', but field 'Variable' is only supported for "
            "the 'JSONPath' QueryLanguage",
            "/Variable",
            "SCHEMA_VALIDATION_FAILED",
        ),
        ({"Condition": "{% true %}", "And": []}, "field 'And'", "/And", "SCHEMA_VALIDATION_FAILED"),
        ({"Condition": "{% true %}", "Foo": 1}, "Field 'Foo'", "/Foo", "SCHEMA_VALIDATION_FAILED"),
    ],
)
def test_malformed_jsonata_rules_are_refused(
    rule: dict[str, Any], message: str, location: str, code: str
) -> None:
    error = refused(rule, "JSONata")
    assert message in str(error)
    assert error.location == location
    assert error.code == code


def test_a_jsonata_rule_may_carry_assign_and_output() -> None:
    rule = {"Condition": "{% true %}", "Next": "X", "Assign": {"a": 1}, "Output": {}}
    assert holds(rule)


def test_each_kind_of_rule_answers_only_its_own_call() -> None:
    jsonpath: Rule = compile_rule({"Variable": "$", "IsPresent": True}, "JSONPath")
    jsonata_rule: Rule = compile_rule({"Condition": "{% true %}"}, "JSONata")
    with pytest.raises(TypeError):
        jsonpath.evaluate_jsonata({}, {})
    with pytest.raises(TypeError):
        jsonata_rule.evaluate({}, SCOPE)


# ── properties ──────────────────────────────────────────────────────────────────────────

NUMBERS = st.one_of(
    st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False, width=64)
)
NUMERIC = {
    "NumericEquals": lambda a, b: a == b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
}


@PROPERTIES
@given(a=NUMBERS, b=NUMBERS, operator=st.sampled_from(sorted(NUMERIC)))
def test_numeric_comparisons_agree_with_python(a: float, b: float, operator: str) -> None:
    expected = NUMERIC[operator](a, b)
    assert matches({"Variable": "$.a", operator: b}, {"a": a}) is expected
    assert matches({"Variable": "$.a", f"{operator}Path": "$.b"}, {"a": a, "b": b}) is expected


def _java_order(a: str, b: str) -> int:
    """Java's String.compareTo, by its definition: UTF-16 code units, then length."""
    units_a = [int.from_bytes(a.encode("utf-16-be")[i : i + 2]) for i in range(0, 2 * _len16(a), 2)]
    units_b = [int.from_bytes(b.encode("utf-16-be")[i : i + 2]) for i in range(0, 2 * _len16(b), 2)]
    for x, y in zip(units_a, units_b, strict=False):
        if x != y:
            return x - y
    return len(units_a) - len(units_b)


def _len16(text: str) -> int:
    return len(text.encode("utf-16-be")) // 2


TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=6)
STRING = {
    "StringEquals": lambda order: order == 0,
    "StringLessThan": lambda order: order < 0,
    "StringGreaterThan": lambda order: order > 0,
    "StringLessThanEquals": lambda order: order <= 0,
    "StringGreaterThanEquals": lambda order: order >= 0,
}


@PROPERTIES
@given(a=TEXT, b=TEXT, operator=st.sampled_from(sorted(STRING)))
def test_string_comparisons_agree_with_java(a: str, b: str, operator: str) -> None:
    expected = STRING[operator](_java_order(a, b))
    assert matches({"Variable": "$.a", operator: b}, {"a": a}) is expected
    assert matches({"Variable": "$.a", f"{operator}Path": "$.b"}, {"a": a, "b": b}) is expected


OFFSETS = st.integers(-18 * 60, 18 * 60).map(lambda minutes: dt.timedelta(minutes=minutes))
INSTANTS = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
)


def _rfc3339(instant: dt.datetime, offset: dt.timedelta) -> str:
    local = instant.astimezone(dt.timezone(offset))
    text = f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local.strftime('%H:%M:%S')}"
    if local.microsecond:
        text += f".{local.microsecond:06d}"
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return text + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@PROPERTIES
@given(a=INSTANTS, b=INSTANTS, offset_a=OFFSETS, offset_b=OFFSETS)
def test_timestamp_comparisons_agree_with_datetime(
    a: dt.datetime, b: dt.datetime, offset_a: dt.timedelta, offset_b: dt.timedelta
) -> None:
    text_a, text_b = _rfc3339(a, offset_a), _rfc3339(b, offset_b)
    assume(1 <= a.astimezone(dt.timezone(offset_a)).year <= 9999)
    assume(1 <= b.astimezone(dt.timezone(offset_b)).year <= 9999)
    data = {"a": text_a, "b": text_b}
    assert matches({"Variable": "$.a", "TimestampEquals": text_b}, data) is (a == b)
    assert matches({"Variable": "$.a", "TimestampLessThan": text_b}, data) is (a < b)
    assert matches({"Variable": "$.a", "TimestampGreaterThanEqualsPath": "$.b"}, data) is (a >= b)


LEAVES = st.sampled_from(
    [
        {"Variable": "$.n", "NumericGreaterThan": 0},
        {"Variable": "$.n", "NumericEquals": 3},
        {"Variable": "$.s", "StringMatches": "a*"},
        {"Variable": "$.s", "IsString": True},
        {"Variable": "$.b", "BooleanEquals": True},
        {"Variable": "$.maybe", "IsPresent": True},
    ]
)
RULES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda r: {"Not": r}, inner),
        st.builds(lambda rs: {"And": rs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda rs: {"Or": rs}, st.lists(inner, min_size=1, max_size=3)),
    ),
    max_leaves=8,
)
DATA = st.fixed_dictionaries(
    {"n": st.integers(-5, 5), "s": st.sampled_from(["", "a", "ab", "ba"]), "b": st.booleans()},
    optional={"maybe": st.none()},
)


@PROPERTIES
@given(rule=RULES, data=DATA)
def test_not_negates(rule: dict[str, Any], data: dict[str, Any]) -> None:
    assert matches({"Not": rule}, data) is (not matches(rule, data))


@PROPERTIES
@given(rules=st.lists(RULES, min_size=1, max_size=4), data=DATA)
def test_and_and_or_agree_with_all_and_any(rules: list[dict[str, Any]], data: Any) -> None:
    results = [matches(rule, data) for rule in rules]
    assert matches({"And": rules}, data) is all(results)
    assert matches({"Or": rules}, data) is any(results)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*")


@PROPERTIES
@given(text=st.text(max_size=12), other=st.text(max_size=12))
def test_an_escaped_pattern_matches_exactly_its_own_string(text: str, other: str) -> None:
    rule = {"Variable": "$.s", "StringMatches": _escape(text)}
    assert matches(rule, {"s": text})
    assert matches(rule, {"s": other}) is (other == text)


@PROPERTIES
@given(
    pattern=st.text(st.sampled_from("ab*"), max_size=8),
    text=st.text(st.sampled_from("ab"), max_size=8),
)
def test_string_matches_agrees_with_a_regular_expression(pattern: str, text: str) -> None:
    import re

    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    expected = re.fullmatch(regex, text, re.DOTALL) is not None
    assert matches({"Variable": "$.s", "StringMatches": pattern}, {"s": text}) is expected
