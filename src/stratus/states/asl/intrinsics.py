"""Intrinsic functions: the ``States.Name(…)`` calls of JSONPath-mode ``.$`` values.

A call is parsed once into a tree of literals, paths and nested calls; unknown names,
wrong argument counts, bad escapes and nesting deeper than AWS's 10 levels are rejected
at compile time. Argument *values* are checked when the call runs, and a bad one is a
``States.IntrinsicFailure`` carrying the rule it broke, as AWS's developer guide states
the rules (types, ranges, the 1000-item ArrayRange, the 10,000-character Base64 and Hash
inputs, shallow-only JsonMerge, …).

`intrinsic_calls` holds the compiled tree and `intrinsic_functions` the functions.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from stratus.states.asl.errors import RUNTIME, StatesError
from stratus.states.asl.intrinsic_calls import (
    MissingArgument,
    _Argument,
    _Call,
    _Literal,
    _PathArgument,
)
from stratus.states.asl.intrinsic_functions import FUNCTIONS
from stratus.states.asl.paths import (
    PathSyntaxError,
    compile_path,
    json_text,
)
from stratus.states.asl.scope import Scope

#: AWS: "You can nest up to 10 intrinsic functions within a field".
MAX_NESTING = 10


class IntrinsicSyntaxError(ValueError):
    """An intrinsic call AWS would not accept; the message says what is wrong."""


def is_intrinsic(text: Any) -> bool:
    """Whether a ``.$`` value is an intrinsic call rather than a path."""
    return isinstance(text, str) and text.startswith("States.")


class Intrinsic:
    """A compiled intrinsic call; `evaluate` runs it against ``$`` and the scope."""

    __slots__ = ("_call", "name", "text")

    def __init__(self, text: str, call: _Call) -> None:
        self.text = text
        #: The outermost function, e.g. ``"States.Format"``.
        self.name = call.name
        self._call = call

    def __repr__(self) -> str:
        return f"Intrinsic({self.text!r})"

    def evaluate(self, data: Any, scope: Scope) -> Any:
        """The call's value; a path argument that selects nothing is a States.Runtime."""
        try:
            return self._call.evaluate(data, scope)
        except MissingArgument as e:
            raise StatesError(
                RUNTIME,
                f"The JSONPath '{e.path.text}' specified in the intrinsic function "
                f"'{self.text}' could not be found in the input '{json_text(e.document)}'",
            ) from None

    def evaluate_raw(self, data: Any, scope: Scope) -> Any:
        """Like `evaluate`, but a missing path argument raises `MissingArgument`."""
        return self._call.evaluate(data, scope)


# ---- parsing ------------------------------------------------------------------------------

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"States\.([A-Za-z0-9]+)")
_ESCAPABLE = "'{}\\"


def compile_intrinsic(text: str) -> Intrinsic:
    """Parse ``States.Name(arg, …)``; raises `IntrinsicSyntaxError` naming the problem."""
    if not isinstance(text, str):
        raise IntrinsicSyntaxError("An intrinsic function call must be a string")
    return _compile(text)


@lru_cache(maxsize=1024)
def _compile(text: str) -> Intrinsic:
    reader = _Reader(text)
    call = reader.call(1)
    reader.skip_blanks()
    if reader.pos != len(text):
        raise reader.error("unexpected text after the call")
    return Intrinsic(text, call)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, what: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(
            f"Invalid intrinsic function call '{self.text}': {what} at position {self.pos}"
        )

    def skip_blanks(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self, depth: int) -> _Call:
        if depth > MAX_NESTING:
            raise self.error(f"intrinsic functions can be nested at most {MAX_NESTING} deep")
        match = _NAME.match(self.text, self.pos)
        if match is None:
            raise self.error("expected a function name such as States.Format")
        name = match.group()
        function = FUNCTIONS.get(name)
        if function is None:
            raise self.error(f"unknown intrinsic function {name}")
        self.pos = match.end()
        self.skip_blanks()
        if not self.text.startswith("(", self.pos):
            raise self.error(f"expected '(' after {name}")
        self.pos += 1
        args: list[_Argument] = []
        self.skip_blanks()
        if self.text.startswith(")", self.pos):
            self.pos += 1
        else:
            while True:
                args.append(self.argument(depth))
                self.skip_blanks()
                if self.text.startswith(",", self.pos):
                    self.pos += 1
                elif self.text.startswith(")", self.pos):
                    self.pos += 1
                    break
                else:
                    raise self.error("expected ',' or ')' after an argument")
        if not function.min_args <= len(args) <= function.max_args:
            raise self.error(f"{name} {function.arity_text()}, not {len(args)}")
        return _Call(name, function, tuple(args))

    def argument(self, depth: int) -> _Argument:
        self.skip_blanks()
        rest = self.text[self.pos :]
        if rest.startswith("'"):
            return self.string()
        if rest.startswith("$"):
            return self.path()
        if rest.startswith("States."):
            return self.call(depth + 1)
        for word, value in (("null", None), ("true", True), ("false", False)):
            if re.match(rf"{word}\b", rest):
                self.pos += len(word)
                return _Literal(value)
        match = _NUMBER.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            number = match.group()
            return _Literal(float(number) if re.search("[.eE]", number) else int(number))
        raise self.error("expected a string, number, boolean, null, path or intrinsic call")

    def string(self) -> _Literal:
        """A single-quoted literal; ``\\'``, ``\\{``, ``\\}``, ``\\\\`` are its only escapes."""
        self.pos += 1
        text = self.text
        value: list[str] = []
        pieces: list[str] = []  # the text between unescaped "{}" (Format's holes)
        current: list[str] = []
        while self.pos < len(text):
            c = text[self.pos]
            if c == "\\":
                escaped = text[self.pos + 1 : self.pos + 2]
                if not escaped or escaped not in _ESCAPABLE:
                    raise self.error("a backslash must escape one of ' { } \\")
                value.append(escaped)
                current.append(escaped)
                self.pos += 2
            elif c == "'":
                self.pos += 1
                pieces.append("".join(current))
                return _Literal("".join(value), tuple(pieces))
            elif text.startswith("{}", self.pos):
                value.append("{}")
                pieces.append("".join(current))
                current = []
                self.pos += 2
            else:
                value.append(c)
                current.append(c)
                self.pos += 1
        raise self.error("unterminated string")

    def path(self) -> _PathArgument:
        """A path runs to the next ``,`` or ``)`` outside its brackets and quotes."""
        start, depth, quote = self.pos, 0, ""
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if quote:
                if c == "\\":
                    self.pos += 1
                elif c == quote:
                    quote = ""
            elif c in "'\"":
                quote = c
            elif c in "[(":
                depth += 1
            elif c in "])":
                if depth == 0:
                    break
                depth -= 1
            elif c == "," and depth == 0:
                break
            self.pos += 1
        source = text[start : self.pos].strip()
        try:
            return _PathArgument(compile_path(source))
        except PathSyntaxError as e:
            raise self.error(str(e)) from None
