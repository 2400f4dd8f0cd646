"""JSONPath as Step Functions reads it: the developer guide's "Paths" and "ResultPath"
pages section by section, then the Jayway behaviour AWS inherits, then properties."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stratus.states.asl.errors import RESULT_PATH_MATCH_FAILURE, StatesError
from stratus.states.asl.paths import (
    PathMatchError,
    PathSyntaxError,
    compile_path,
    compile_reference_path,
)
from stratus.states.asl.result_path import apply_result_path
from stratus.states.asl.scope import Scope

pytestmark = pytest.mark.timeout(60)

EMPTY = Scope()


def select(text: str, data: Any, scope: Scope = EMPTY) -> Any:
    return compile_path(text).evaluate(data, scope)


# ---- "Reference paths": the guide's example --------------------------------------------

GUIDE_INPUT = {"foo": 123, "bar": ["a", "b", "c"], "car": {"cdr": True}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("$.foo", 123), ("$.bar", ["a", "b", "c"]), ("$.car.cdr", True)],
)
def test_reference_paths_of_the_guide(text: str, expected: Any) -> None:
    path = compile_reference_path(text)
    assert path.is_reference
    assert path.evaluate(GUIDE_INPUT, EMPTY) == expected


def test_dollar_alone_is_the_input_itself_not_a_copy() -> None:
    data = {"a": [1, 2]}
    assert select("$", data) is data


def test_bracket_notation_for_names_with_special_characters() -> None:
    data = {"abc": {"def ghi": 1, "it's": 2}, "detail-type": "x"}
    assert select("$.abc.['def ghi']", data) == 1  # the guide's own spelling
    assert select("$.abc['def ghi']", data) == 1
    assert select('$["abc"]["def ghi"]', data) == 1
    assert select("$.abc['it\\'s']", data) == 2
    assert select("$.detail-type", data) == "x"  # Jayway reads this in dot notation


@pytest.mark.parametrize(
    "text",
    ["$.a[*]", "$..a", "$.a[0:1]", "$.a[0,1]", "$.a[?(@.x)]", "$['a','b']", "$.*"],
)
def test_operators_are_not_reference_paths(text: str) -> None:
    assert not compile_path(text).is_reference
    with pytest.raises(PathSyntaxError, match="not a reference path"):
        compile_reference_path(text)


@pytest.mark.parametrize("text", ["$", "$.a", "$['a b'].c", "$.a[0]", "$.a[0][1].b", "$$.Task"])
def test_names_and_single_indices_are_reference_paths(text: str) -> None:
    assert compile_reference_path(text).is_reference


def test_flattening_an_array_of_arrays() -> None:
    # "Flattening an array of arrays": "flattenArray.$": "$[*][*]".
    assert select("$[*][*]", [[1, 2, 3], [4, 5, 6]]) == [1, 2, 3, 4, 5, 6]


# ---- roots: input, context object, variables ------------------------------------------


def test_context_object_paths_start_with_two_dollars() -> None:
    scope = Scope(context={"Execution": {"Id": "arn:exec"}, "Map": {"Item": {"Index": 3}}})
    assert select("$$.Execution.Id", {}, scope) == "arn:exec"
    assert select("$$.Map.Item.Index", {}, scope) == 3
    assert select("$$", {}, scope) == scope.context
    assert compile_path("$$.Execution.Id").root == "$$"


def test_variables_are_a_dollar_and_a_name() -> None:
    scope = Scope(variables={"order": {"items": [{"sku": "a"}]}, "count": 42})
    assert select("$count", {}, scope) == 42
    assert select("$order.items[0].sku", {}, scope) == "a"
    assert select("$order.items[*].sku", {}, scope) == ["a"]
    assert compile_path("$order.items").root == "order"


def test_an_unassigned_variable_selects_nothing() -> None:
    with pytest.raises(PathMatchError, match=r"\$missing"):
        select("$missing.a", {}, Scope(variables={"other": 1}))


def test_root_kinds() -> None:
    assert compile_path("$.a").root == "$"
    assert compile_path("$_x1").root == "_x1"


# ---- definite and indefinite paths (Jayway) ----------------------------------------------

DATA: dict[str, Any] = {
    "items": [
        {"name": "a", "price": 5, "tags": ["x"]},
        {"name": "b", "price": 15},
        {"name": "c", "price": 25, "tags": []},
    ],
    "store": {"book": [{"price": 8}, {"price": 12, "isbn": "1"}], "bike": {"price": 99}},
}


def test_a_definite_path_returns_the_value() -> None:
    assert select("$.items[1].name", DATA) == "b"
    assert compile_path("$.items[1].name").is_definite


def test_negative_index_counts_from_the_end() -> None:
    assert select("$.items[-1].name", DATA) == "c"


def test_a_single_index_is_unwrapped() -> None:
    # AWS returns the element for "$.items[0]", not a one-element list.
    assert select("$.items[0]", DATA) == DATA["items"][0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.items[*].name", ["a", "b", "c"]),
        ("$.items[0:2].name", ["a", "b"]),
        ("$.items[1:].name", ["b", "c"]),
        ("$.items[:-1].name", ["a", "b"]),
        ("$.items[-2:].name", ["b", "c"]),
        ("$.items[0,2].name", ["a", "c"]),
        ("$..price", [5, 15, 25, 8, 12, 99]),
        ("$.store..price", [8, 12, 99]),
        ("$.store.*.price", [99]),
        ("$.store.book[*].isbn", ["1"]),
        ("$.items[?(@.price > 10)].name", ["b", "c"]),
        ("$.items[?(@.price >= 15 && @.price < 25)].name", ["b"]),
        ("$.items[?(@.price < 10 || @.name == 'c')].name", ["a", "c"]),
        ("$.items[?(@.name == 'b')].price", [15]),
        ('$.items[?(@.name != "b")].name', ["a", "c"]),
        ("$.items[?(@.tags)].name", ["a", "c"]),
        ("$.items[?(!@.tags)].name", ["b"]),
        ("$.items[?(@.name in ['a', 'c'])].name", ["a", "c"]),
        ("$.items[?(@.name nin ['a', 'c'])].name", ["b"]),
        ("$.items[?(@.name =~ /[AB]/i)].name", ["a", "b"]),
        ("$.items[?(@.tags size 1)].name", ["a"]),
        ("$.items[?(@.tags empty true)].name", ["c"]),
        ("$.items[?(@.tags contains 'x')].name", ["a"]),
        ("$.items[?(@.price > $.store.book[0].price)].name", ["b", "c"]),
        ("$..book[?(@.price < 10)]", [{"price": 8}]),
        ("$.items[?(@.missing > 1)]", []),
    ],
)
def test_indefinite_paths_return_the_list_of_matches(text: str, expected: Any) -> None:
    path = compile_path(text)
    assert not path.is_definite
    assert path.evaluate(DATA, EMPTY) == expected


def test_an_indefinite_path_matching_nothing_is_an_empty_list() -> None:
    assert select("$.nothing[*]", {}) == []
    assert select("$.items[?(@.price > 1000)]", DATA) == []
    assert select("$..nowhere", DATA) == []


def test_a_filter_on_an_object_tests_the_object_itself() -> None:
    assert select("$[?(@.a == 1)]", {"a": 1}) == [{"a": 1}]
    assert select("$[?(@.a == 2)]", {"a": 1}) == []


def test_filters_compare_json_types_strictly() -> None:
    data = [{"v": 1}, {"v": 1.0}, {"v": True}, {"v": "1"}, {"v": None}]
    assert select("$[?(@.v == 1)]", data) == [{"v": 1}, {"v": 1.0}]
    assert select("$[?(@.v == true)]", data) == [{"v": True}]
    assert select("$[?(@.v == null)]", data) == [{"v": None}]
    assert select("$[?(@.v == '1')]", data) == [{"v": "1"}]


def test_several_quoted_names_at_the_end_merge_into_one_object() -> None:
    assert select("$['a','b','z']", {"a": 1, "b": 2, "c": 3}) == {"a": 1, "b": 2}


# ---- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "data", "message"),
    [
        ("$.x", {}, "No results for path: $['x']"),
        ("$.a.x", {"a": {}}, "No results for path: $['a']['x']"),
        ("$.a.b.c", {}, "Missing property in path $['a']"),
        ("$.a.b", {"a": "text"}, "Expected to find an object with property ['b'] in path $['a']"),
        ("$.a[0]", {"a": {"k": 1}}, "Filter: [0] can only be applied to arrays"),
        ("$.a[3]", {"a": [1]}, "No results for path: $['a'][3]"),
        ("$.a.b", {"a": None}, "but found 'null'"),
    ],
)
def test_a_definite_path_that_selects_nothing_fails(text: str, data: Any, message: str) -> None:
    with pytest.raises(PathMatchError) as caught:
        select(text, data)
    assert message in str(caught.value)


def test_a_null_value_is_a_match() -> None:
    assert select("$.a", {"a": None}) is None


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "must start with '$'"),
        ("a.b", "must start with '$'"),
        ("$.", "expected a name"),
        ("$.a[", "unterminated"),
        ("$.a['b]", "unterminated"),
        ("$.a b", "unexpected character"),
        ("$.list.length()", "functions"),
        ("$.a[1:2:3]", "slice"),
        ("$.a[x]", "index"),
        ("$.a[?(@.b ==)]", "expected a value"),
        ("$.a[?(@.b =~ 'x')]", "regex"),
        ("$1", "variable name"),
        ("$$$", "unexpected character"),
    ],
)
def test_bad_path_text_is_rejected_with_a_reason(text: str, complaint: str) -> None:
    with pytest.raises(PathSyntaxError) as caught:
        compile_path(text)
    assert complaint in str(caught.value)


def test_a_path_must_be_a_string() -> None:
    with pytest.raises(PathSyntaxError, match="string"):
        compile_path(42)  # type: ignore[arg-type]


def test_compiled_paths_keep_their_text() -> None:
    assert compile_path("$.a['b c']").text == "$.a['b c']"


# ---- "Specifying state output using ResultPath" ----------------------------------------

STATE_INPUT = {"comment": "This is a test", "details": "Default example", "who": "Step Functions"}
RESULT = "Hello, Step Functions!"


def test_resultpath_dollar_replaces_the_input_with_the_result() -> None:
    assert apply_result_path(STATE_INPUT, RESULT, compile_reference_path("$")) == RESULT


def test_resultpath_null_discards_the_result_and_keeps_the_input() -> None:
    assert apply_result_path(STATE_INPUT, RESULT, None) is STATE_INPUT


def test_resultpath_includes_the_result_with_the_input() -> None:
    output = apply_result_path(STATE_INPUT, RESULT, compile_reference_path("$.taskresult"))
    assert output == {**STATE_INPUT, "taskresult": RESULT}
    assert "taskresult" not in STATE_INPUT


def test_resultpath_updates_a_node_in_the_input() -> None:
    data: dict[str, Any] = {"master": {"detail": [1, 2, 3]}, "other": {"kept": True}}
    output = apply_result_path(data, [4, 5, 6], compile_reference_path("$.master.detail"))
    assert output == {"master": {"detail": [4, 5, 6]}, "other": {"kept": True}}
    assert data["master"]["detail"] == [1, 2, 3]


def test_resultpath_creates_missing_objects_along_the_way() -> None:
    output = apply_result_path({"a": 1}, "r", compile_reference_path("$.x.y.z"))
    assert output == {"a": 1, "x": {"y": {"z": "r"}}}


def test_resultpath_into_an_array_element() -> None:
    output = apply_result_path({"l": [1, {"a": 0}]}, "r", compile_reference_path("$.l[1].a"))
    assert output == {"l": [1, {"a": "r"}]}


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("just a string", "$.taskresult"),
        ({"a": "text"}, "$.a.b"),
        ({"a": None}, "$.a.b"),
        ({"l": [1]}, "$.l[5]"),
        ({"l": {"k": 1}}, "$.l[0]"),
        ([1, 2], "$.a"),
    ],
)
def test_resultpath_that_cannot_apply_is_a_match_failure(raw: Any, text: str) -> None:
    with pytest.raises(StatesError) as caught:
        apply_result_path(raw, "r", compile_reference_path(text))
    assert caught.value.error == RESULT_PATH_MATCH_FAILURE
    assert caught.value.cause.startswith(f"Unable to apply ReferencePath {text} to input ")


def test_resultpath_failure_quotes_the_input_as_compact_json() -> None:
    with pytest.raises(StatesError) as caught:
        apply_result_path('{"min_size":1}', {}, compile_reference_path("$.partitioned"))
    assert caught.value.cause == (
        'Unable to apply ReferencePath $.partitioned to input "{\\"min_size\\":1}"'
    )


def test_resultpath_cannot_write_the_context_or_a_variable() -> None:
    for text in ("$$.Execution", "$var.a"):
        with pytest.raises(StatesError) as caught:
            apply_result_path({}, 1, compile_reference_path(text))
        assert caught.value.error == RESULT_PATH_MATCH_FAILURE


# ---- properties ---------------------------------------------------------------------------

KEYS = st.text(min_size=1, max_size=8)
SIMPLE_KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)


def _bracketed(key: str) -> str:
    return "['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']"


def _nest(keys: list[str], leaf: Any) -> Any:
    for key in reversed(keys):
        leaf = {key: leaf}
    return leaf


@given(keys=st.lists(KEYS, min_size=1, max_size=6), leaf=JSON)
def test_a_reference_path_selects_the_leaf_it_names(keys: list[str], leaf: Any) -> None:
    path = compile_reference_path("$" + "".join(_bracketed(k) for k in keys))
    assert path.evaluate(_nest(keys, leaf), EMPTY) == leaf


@given(keys=st.lists(SIMPLE_KEYS, min_size=1, max_size=6), leaf=JSON)
def test_dot_and_bracket_notation_agree(keys: list[str], leaf: Any) -> None:
    data = _nest(keys, leaf)
    dotted = compile_reference_path("$." + ".".join(keys))
    bracketed = compile_reference_path("$" + "".join(_bracketed(k) for k in keys))
    assert dotted.evaluate(data, EMPTY) == bracketed.evaluate(data, EMPTY) == leaf


@given(
    base=st.dictionaries(KEYS, JSON, max_size=4),
    keys=st.lists(KEYS, min_size=1, max_size=4),
    result=JSON,
)
def test_resultpath_puts_the_result_and_keeps_everything_else(
    base: dict[str, Any], keys: list[str], result: Any
) -> None:
    before = copy.deepcopy(base)
    path = compile_reference_path("$" + "".join(_bracketed(k) for k in keys))
    try:
        output = apply_result_path(base, result, path)
    except StatesError as e:
        # Only a non-object in the way may stop it.
        assert e.error == RESULT_PATH_MATCH_FAILURE
        node: Any = base
        for key in keys[:-1]:
            node = node.get(key, {}) if isinstance(node, dict) else None
        assert not isinstance(node, dict)
        return
    assert base == before  # the input is never changed
    assert path.evaluate(output, EMPTY) == result
    for key in base:
        if key != keys[0]:
            assert output[key] == base[key]


@given(
    items=st.lists(st.integers(), max_size=10),
    start=st.none() | st.integers(-12, 12),
    end=st.none() | st.integers(-12, 12),
)
def test_slices_select_like_python_slices(
    items: list[int], start: int | None, end: int | None
) -> None:
    text = f"$[{'' if start is None else start}:{'' if end is None else end}]"
    assert select(text, items) == items[start:end]


@given(items=st.lists(JSON, max_size=6))
def test_wildcard_on_an_array_selects_every_item(items: list[Any]) -> None:
    assert select("$[*]", items) == items
    assert select("$.*", {str(i): v for i, v in enumerate(items)}) == items
