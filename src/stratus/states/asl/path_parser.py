"""Reading JSONPath text: a hand-written parser for Jayway's path and filter grammar.

It turns the text after the root into segments (`path_segments`) and each filter into a
test over Jayway's evaluators (`path_filters`); `paths` builds the compiled `Path` from
them. Every error is a `PathSyntaxError` that says what is wrong and where.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stratus.states.asl.path_filters import (
    _COMPARISONS,
    _UNDEFINED,
    _exists,
    _Matches,
    _matches,
    _Operand,
    _Test,
)
from stratus.states.asl.path_segments import (
    _Filter,
    _Index,
    _Indexes,
    _Name,
    _Names,
    _Scan,
    _Segment,
    _Slice,
    _Wildcard,
)


class PathSyntaxError(ValueError):
    """Path text that is not a path AWS accepts; the message says what is wrong."""


# Characters that end a name written in dot notation. Jayway stops only at ``.``, ``[``,
# blanks and ``(``; the operator characters are added so `@.x>1` reads as a comparison.
_NAME_STOP = frozenset(" \t\r\n.[]()'\",*?@=<>!&|~")


_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_INT = re.compile(r"\s*-?\d+\s*")
_WORD_OPS = ("subsetof", "contains", "noneof", "anyof", "empty", "size", "nin", "in")
_SYMBOL_OPS = ("==", "!=", "<=", ">=", "=~", "<", ">")


class _Parser:
    """A hand-written reader for Jayway's path and filter grammar."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, what: str) -> PathSyntaxError:
        return PathSyntaxError(f"Invalid JSONPath '{self.text}': {what} at position {self.pos}")

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def skip_blanks(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def expect(self, token: str) -> None:
        self.skip_blanks()
        if not self.text.startswith(token, self.pos):
            raise self.error(f"expected {token!r}")
        self.pos += len(token)

    def root(self) -> str:
        if self.peek() != "$":
            raise self.error("a path must start with '$'")
        self.pos += 1
        if self.peek() == "$":
            self.pos += 1
            return "$$"
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] == "_"
        ):
            self.pos += 1
        name = self.text[start : self.pos]
        if not name:
            return "$"
        if not name.isidentifier():
            raise self.error(f"'${name}' is not a valid variable name")
        return name

    def segments(self) -> list[_Segment]:
        segments: list[_Segment] = []
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "[":
                segments.append(self.bracket())
            elif c == ".":
                if self.peek(2) == "..":
                    self.pos += 2
                    if self.peek() == "[":
                        segments.append(_Scan(self.bracket()))
                    else:
                        segments.append(_Scan(self.dot_member()))
                else:
                    self.pos += 1
                    # Jayway also reads ``$.['a b']``, the form AWS's docs show.
                    segments.append(self.bracket() if self.peek() == "[" else self.dot_member())
            else:
                break
        return segments

    def dot_member(self) -> _Segment:
        if self.peek() == "*":
            self.pos += 1
            return _Wildcard()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _NAME_STOP:
            self.pos += 1
        if self.pos == start:
            raise self.error("expected a name after '.'")
        if self.peek() == "(":
            raise self.error("functions such as length() are not supported")
        return _Name(self.text[start : self.pos])

    def bracket(self) -> _Segment:
        self.expect("[")
        self.skip_blanks()
        c = self.peek()
        if c == "*":
            self.pos += 1
            self.expect("]")
            return _Wildcard()
        if c == "?":
            self.pos += 1
            self.expect("(")
            start = self.pos
            test = self.or_test()
            source = self.text[start : self.pos].strip()
            self.expect(")")
            self.expect("]")
            return _Filter(test, source)
        if c in ("'", '"'):
            names = [self.quoted()]
            self.skip_blanks()
            while self.peek() == ",":
                self.pos += 1
                self.skip_blanks()
                names.append(self.quoted())
                self.skip_blanks()
            self.expect("]")
            return _Name(names[0]) if len(names) == 1 else _Names(tuple(names))
        end = self.text.find("]", self.pos)
        if end < 0:
            raise self.error("unterminated '['")
        inside = self.text[self.pos : end]
        self.pos = end + 1
        return self.numeric_bracket(inside)

    def numeric_bracket(self, inside: str) -> _Segment:
        if ":" in inside:
            parts = inside.split(":")
            if len(parts) != 2 or not all(p.strip() == "" or _INT.fullmatch(p) for p in parts):
                raise self.error(f"invalid array slice [{inside}]")
            start, end = (int(p) if p.strip() else None for p in parts)
            return _Slice(start, end)
        parts = inside.split(",")
        if not all(_INT.fullmatch(p) for p in parts):
            raise self.error(f"invalid array index [{inside}]")
        indexes = tuple(int(p) for p in parts)
        return _Index(indexes[0]) if len(indexes) == 1 else _Indexes(indexes)

    def quoted(self) -> str:
        quote = self.peek()
        if quote not in ("'", '"'):
            raise self.error("expected a quoted name")
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if c == quote:
                return "".join(out)
            out.append(c)
        raise self.error("unterminated string")

    # -- filters: || over && over unary over comparisons ------------------------------

    def or_test(self) -> _Test:
        tests = [self.and_test()]
        while True:
            self.skip_blanks()
            if self.peek(2) != "||":
                break
            self.pos += 2
            tests.append(self.and_test())
        if len(tests) == 1:
            return tests[0]
        return lambda node, doc: any(t(node, doc) for t in tests)

    def and_test(self) -> _Test:
        tests = [self.unary_test()]
        while True:
            self.skip_blanks()
            if self.peek(2) != "&&":
                break
            self.pos += 2
            tests.append(self.unary_test())
        if len(tests) == 1:
            return tests[0]
        return lambda node, doc: all(t(node, doc) for t in tests)

    def unary_test(self) -> _Test:
        self.skip_blanks()
        if self.peek() == "!" and self.peek(2) != "!=":
            self.pos += 1
            inner = self.unary_test()
            return lambda node, doc: not inner(node, doc)
        if self.peek() == "(":
            self.pos += 1
            test = self.or_test()
            self.expect(")")
            return test
        return self.comparison()

    def comparison(self) -> _Test:
        left = self.operand()
        self.skip_blanks()
        op = next((o for o in _SYMBOL_OPS if self.text.startswith(o, self.pos)), None)
        if op is None:
            op = next((o for o in _WORD_OPS if self._word_at(o)), None)
        if op is None:
            return lambda node, doc: _exists(left(node, doc))
        self.pos += len(op)
        self.skip_blanks()
        if op == "=~":
            regex = self.regex()
            return lambda node, doc: _matches(left(node, doc), regex)
        right = self.operand()
        compare = _COMPARISONS[op]
        return lambda node, doc: compare(left(node, doc), right(node, doc))

    def _word_at(self, word: str) -> bool:
        end = self.pos + len(word)
        return self.text.startswith(word, self.pos) and not (
            end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_")
        )

    def operand(self) -> _Operand:
        self.skip_blanks()
        c = self.peek()
        if c not in ("@", "$"):
            literal = self.literal()
            return lambda node, doc: literal
        self.pos += 1
        if c == "$" and self.peek() == "$":
            raise self.error("the context object cannot be used inside a filter")
        current = c == "@"
        segments = self.segments()
        if segments and isinstance(segments[-1], _Names):
            segments[-1].merge = True
        definite = all(s.definite for s in segments[:-1]) and (
            not segments or segments[-1].definite or isinstance(segments[-1], _Names)
        )

        def value(node: Any, doc: Any) -> Any:
            nodes = [node if current else doc]
            for segment in segments:
                nodes = segment.apply(nodes, doc)
            if definite:
                return nodes[0] if nodes else _UNDEFINED
            return _Matches(nodes)

        return value

    def literal(self) -> Any:
        """A filter's constant: JSON, with Jayway's single-quoted strings allowed."""
        self.skip_blanks()
        c = self.peek()
        if c in ("'", '"'):
            return self.quoted()
        if c == "[":
            self.pos += 1
            items = self._items("]", self.literal)
            return items
        if c == "{":
            self.pos += 1
            return dict(self._items("}", self._member))
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self._word_at(word):
                self.pos += len(word)
                return value
        match = _NUMBER.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            number = match.group()
            return float(number) if any(ch in number for ch in ".eE") else int(number)
        raise self.error("expected a value")

    def _items(self, close: str, item: Callable[[], Any]) -> list[Any]:
        items: list[Any] = []
        self.skip_blanks()
        if self.peek() != close:
            items.append(item())
            self.skip_blanks()
            while self.peek() == ",":
                self.pos += 1
                items.append(item())
                self.skip_blanks()
        self.expect(close)
        return items

    def _member(self) -> tuple[str, Any]:
        self.skip_blanks()
        key = self.quoted()
        self.expect(":")
        return key, self.literal()

    def regex(self) -> re.Pattern[str]:
        if self.peek() != "/":
            raise self.error("expected a /regex/ after =~")
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != "/":
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise self.error("unterminated regex")
        pattern = self.text[self.pos + 1 : end]
        self.pos = end + 1
        flags = 0
        while self.peek() in _REGEX_FLAGS:
            flags |= _REGEX_FLAGS[self.peek()]
            self.pos += 1
        try:
            return re.compile(pattern, flags)
        except re.error as e:
            raise self.error(f"invalid regex: {e}") from None


_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
