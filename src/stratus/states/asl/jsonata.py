"""JSONata mode: ``{% … %}`` expressions, and the templates (Arguments, Output, …) holding them.

Expressions are parsed once, by `compile_template` or `compile_expression`, and evaluated
per state visit with ``$states`` and the workflow variables bound. The engine is
jsonata-python; how this module drives it, and why:

- A compiled `Jsonata` object is reused for every evaluation. Its own `evaluate` is avoided
  because it walks the whole input to validate it and copies every binding into a new
  frame; here the input is always undefined (AWS allows no context item at the top level),
  and `_Bindings` reads ``$states`` and the variables in place, so a visit costs the same
  whatever the number of variables.
- The engine keeps per-evaluation state (input, environment, ``$now()``'s timestamp) on one
  instance per thread, not on the compiled expression, and restores it after each
  evaluation. Evaluation never awaits, so asyncio tasks sharing a thread cannot interleave
  inside it. The timestamp is set here before each evaluation: the engine stamps only the
  expression it evaluates, while ``$now()`` reads the per-thread instance, which would
  otherwise report the time some *other* expression last ran or was compiled.
- The engine's own runtime bounds (`set_runtime_bounds`) time from compilation and keep
  their depth counter across evaluations, so they are unusable on a reused expression;
  `_Bindings` carries a per-evaluation deadline instead. Depth is bounded by Python's
  recursion limit (a `RecursionError` becomes a States.QueryEvaluationError).
- The engine takes some 20 µs for even ``$states.input.n + 1``. What most expressions in
  real workflows are (a variable and field names, compared with or added to a literal or
  another such path, joined by and/or) is computed here in about a microsecond, by the
  engine's own rules; anything else, or any doubt (an array on the way, a type error to
  report), goes to the engine. A property test holds the two to the same answers.

Results are plain JSON (dict, list, str, int, float, bool, None) and may share structure
with ``$states`` and the variables, which the interpreter treats as immutable.

`jsonata_fast` holds the engine-free evaluation, `jsonata_functions` the functions AWS adds,
`jsonata_context` the check of what an expression reads, and `jsonata_values` the
conversion of results to plain JSON.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from jsonata import Jsonata
from jsonata.jexception import JException

from stratus.states.asl.errors import QUERY_EVALUATION_ERROR, StatesError
from stratus.states.asl.jsonata_context import _top_level_reference
from stratus.states.asl.jsonata_fast import _SLOW, _compile_fast
from stratus.states.asl.jsonata_functions import _FUNCTIONS
from stratus.states.asl.jsonata_values import _NONE, _NULL, _plain, _Unsupported

#: Longest a single evaluation may run before it fails (the engine's usual bound).
TIMEOUT_SECONDS: Final = 5.0

INVALID: Final = "INVALID_JSONATA_EXPRESSION"
UNSUPPORTED: Final = "UNSUPPORTED_JSONATA_EXPRESSION"


def is_expression(value: Any) -> bool:
    """A string that is wholly ``{% … %}``: no blank may come before ``{%`` or after ``%}``."""
    return (
        isinstance(value, str)
        and len(value) >= 4
        and value.startswith("{%")
        and value.endswith("%}")
    )


class JsonataSyntaxError(ValueError):
    """An expression AWS refuses in a definition; `code` is the diagnostic's code.

    `location` is where in the template the expression sits (``/Input/x``, ``/Items/0``).
    """

    def __init__(self, message: str, expression: str, code: str = INVALID) -> None:
        super().__init__(message)
        self.expression = expression
        self.code = code
        self.location = ""


# ── expressions ─────────────────────────────────────────────────────────────────────────


class JsonataExpression:
    """One compiled expression (the text inside ``{% %}``)."""

    __slots__ = ("_compiled", "_fast", "text")

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        if not self.text:
            raise JsonataSyntaxError("Invalid JSONata expression '': it is empty", "")
        try:
            self._compiled = Jsonata(self.text)
        except JException as e:
            raise JsonataSyntaxError(
                f"Invalid JSONata expression '{self.text}': {e.error}: {e}", self.text
            ) from None
        except Exception as e:  # the parser also fails with plain Python errors
            raise JsonataSyntaxError(
                f"Invalid JSONata expression '{self.text}': {e}", self.text
            ) from None
        where = _top_level_reference(self._compiled.ast, True)
        if where is not None:
            message = (
                f"Reference to '{where}' is not supported."
                if where == "$$"
                else f"Reference to '{where}' at the top level is not supported."
            )
            raise JsonataSyntaxError(message, self.text, UNSUPPORTED)
        self._fast = _compile_fast(self._compiled.ast)

    def __repr__(self) -> str:
        return f"JsonataExpression({self.text!r})"

    def evaluate(
        self, states: Mapping[str, Any], variables: Mapping[str, Any], field: str = ""
    ) -> Any:
        """The expression's JSON value; an error or no value is a States.QueryEvaluationError.

        `field` names where the expression sits (``Output/v``) in the error's cause.
        """
        try:
            raw = self._run(states, variables)
        except RecursionError:
            raise StatesError(QUERY_EVALUATION_ERROR, self._cause(field, _DEEP)) from None
        except Exception as e:  # JException, and the plain Python errors the engine lets out
            raise StatesError(QUERY_EVALUATION_ERROR, self._cause(field, _THREW + str(e))) from None
        if raw is None:
            raise StatesError(QUERY_EVALUATION_ERROR, self._cause(field, _NOTHING))
        try:
            return _plain(raw)
        except _Unsupported:
            raise StatesError(QUERY_EVALUATION_ERROR, self._cause(field, _UNSUPPORTED)) from None

    def _run(self, states: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
        """The engine's raw result: None for undefined, `_NULL` for null."""
        if self._fast is not None:
            result = self._fast(states, variables)
            if result is not _SLOW:
                return result
        return self._engine(states, variables)

    def _engine(self, states: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
        compiled = self._compiled
        compiled.get_per_thread_instance().timestamp = int(time.time() * 1000)
        return compiled.eval(compiled.ast, None, _Bindings(states, variables))

    def _cause(self, field: str, problem: str) -> str:
        where = f" specified for the field '{field}'" if field else ""
        return f"The JSONata expression '{self.text}'{where}{problem}"


_NOTHING: Final = " returned nothing (undefined)."
_UNSUPPORTED: Final = " returned an unsupported result type."
_THREW: Final = " threw an error during evaluation: "
_DEEP: Final = _THREW + "Stack overflow: the expression nests too deeply"


def compile_expression(text: str) -> JsonataExpression:
    """Compile a bare expression (without ``{% %}``); raises `JsonataSyntaxError`."""
    return JsonataExpression(text)


class _Bindings(Jsonata.Frame):
    """The top frame of one evaluation: ``$states``, then the variables, then the functions."""

    def __init__(self, states: Mapping[str, Any], variables: Mapping[str, Any]) -> None:
        deadline = time.monotonic() + TIMEOUT_SECONDS

        def check_time(_expr: Any, _input: Any, _env: Any) -> None:
            if time.monotonic() > deadline:
                raise JException("D1012", -1, int(TIMEOUT_SECONDS * 1000))

        # "__evaluate_exit" is looked up at every step too: answer it here, not at the root.
        self.bindings = {
            "states": states,
            "$": None,
            "__evaluate_entry": check_time,
            "__evaluate_exit": None,
        }
        self.parent = _FUNCTIONS
        self.is_parallel_call = False
        self.variables = variables

    def lookup(self, name: str) -> Any:
        value = self.bindings.get(name, _NONE)
        if value is not _NONE:
            return value
        value = self.variables.get(name, _NONE)
        if value is not _NONE:
            return _NULL if value is None else value
        return self.parent.lookup(name)


# ── templates ───────────────────────────────────────────────────────────────────────────

_Build = Callable[[Mapping[str, Any], Mapping[str, Any]], Any]


class JsonataTemplate:
    """A JSONata-mode field value: expressions wherever a string is wholly ``{% … %}``."""

    __slots__ = ("_build", "is_constant")

    def __init__(self, build: _Build, constant: bool) -> None:
        self._build = build
        #: No expression anywhere: `evaluate` always gives (a copy of) the same value.
        self.is_constant = constant

    def evaluate(self, states: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
        """The template with every expression replaced by its value.

        `states` is ``$states`` (input, context, and where available result, errorOutput);
        `variables` are the workflow variables, read as ``$name``.
        """
        return self._build(states, variables)


def compile_template(template: Any, field: str = "") -> JsonataTemplate:
    """Compile a JSONata-mode template; `field` (``Arguments``) names it in error causes."""
    build, constant = _compile_node(template, field, "")
    return JsonataTemplate(build, constant)


def _compile_node(node: Any, field: str, location: str) -> tuple[_Build, bool]:
    if is_expression(node):
        try:
            expression = JsonataExpression(node[2:-2])
        except JsonataSyntaxError as e:
            e.location = location
            raise
        evaluate = expression.evaluate

        def build_expression(states: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
            return evaluate(states, variables, field)

        return build_expression, False
    if isinstance(node, dict):
        items = [
            (key, *_compile_node(value, f"{field}/{key}" if field else key, f"{location}/{key}"))
            for key, value in node.items()
        ]
        if all(constant for _, _, constant in items):
            return _constant(node), True
        builders = [(key, build) for key, build, _ in items]

        def build_object(states: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
            return {key: build(states, variables) for key, build in builders}

        return build_object, False
    if isinstance(node, list):
        elements = [
            _compile_node(value, f"{field}[{i}]", f"{location}/{i}") for i, value in enumerate(node)
        ]
        if all(constant for _, constant in elements):
            return _constant(node), True
        element_builders = [build for build, _ in elements]

        def build_array(states: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
            return [build(states, variables) for build in element_builders]

        return build_array, False
    return _constant(node), True


def _constant(value: Any) -> _Build:
    if isinstance(value, (dict, list)):
        frozen = json.dumps(value)  # a fresh copy per visit, so no caller shares the literal
        return lambda _states, _variables: json.loads(frozen)
    return lambda _states, _variables: value
