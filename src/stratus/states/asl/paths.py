"""JSONPath as Step Functions reads it: compile once, evaluate fast.

AWS evaluates paths with Jayway JsonPath's semantics, so this module follows Jayway where
AWS documents nothing else:

- A *definite* path (only names and single indices) returns the value it selects, and
  fails with `PathMatchError` when it selects nothing. An *indefinite* path (wildcards,
  deep scan, filters, slices, unions) returns the list of what it selects, possibly
  empty, and never fails: missing keys and wrong types just select nothing there.
- ``$`` is the input, ``$$`` the context object and ``$name`` a workflow variable.

Values are treated as immutable JSON: results share structure with the data they were
selected from, and `apply_result_path` copies only the objects along its path. Nothing in
the interpreter may change a JSON value in place. (A deep copy per state would cost more
than the rest of a transition; copying the spine is all that ResultPath's semantics need.)

This module holds the compiled `Path`; the text is read by `path_parser`, indefinite paths
walk the steps of `path_segments`, filters evaluate with `path_filters`, and ResultPath is
`result_path`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from stratus.states.asl.json_values import _is_array, _is_object, json_text, json_type
from stratus.states.asl.path_parser import PathSyntaxError, _Parser
from stratus.states.asl.path_segments import _Index, _Name, _Names, _Segment
from stratus.states.asl.scope import Scope


class PathMatchError(Exception):
    """A definite path that selects nothing in the data it was applied to."""


# ---- paths --------------------------------------------------------------------------------


class Path:
    """A compiled path. `evaluate` returns the value (definite) or the list of matches."""

    __slots__ = ("_on_input", "is_definite", "is_reference", "root", "text")

    def __init__(self, text: str, root: str, *, definite: bool, reference: bool) -> None:
        self.text = text
        #: ``"$"``, ``"$$"`` or the variable's name (without the ``$``).
        self.root = root
        self.is_definite = definite
        #: Only names and single indices: what ResultPath and the ``…Path`` fields allow.
        self.is_reference = reference
        self._on_input = root == "$"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"

    def evaluate(self, data: Any, scope: Scope) -> Any:
        """Apply the path to `data` (``$``) or the scope (``$$``, ``$name``)."""
        raise NotImplementedError

    def _document(self, data: Any, scope: Scope) -> Any:
        root = self.root
        if root == "$":
            return data
        if root == "$$":
            return scope.context
        try:
            return scope.variables[root]
        except KeyError:
            raise PathMatchError(f"The variable '${root}' is not defined") from None


class _WholePath(Path):
    """``$``, ``$$`` or ``$name`` alone: no walk at all."""

    __slots__ = ()
    steps: tuple[str | int, ...] = ()

    def evaluate(self, data: Any, scope: Scope) -> Any:
        if self._on_input:
            return data
        return self._document(data, scope)


class _DefinitePath(Path):
    """Names and single indices: a plain lookup loop (what almost every path is)."""

    __slots__ = ("_merge", "steps")

    def __init__(
        self, text: str, root: str, steps: tuple[str | int, ...], merge: _Names | None
    ) -> None:
        super().__init__(text, root, definite=True, reference=merge is None)
        self.steps = steps
        self._merge = merge

    def evaluate(self, data: Any, scope: Scope) -> Any:
        node = data if self._on_input else self._document(data, scope)
        for step in self.steps:
            if isinstance(step, str):
                if node.__class__ is dict or isinstance(node, Mapping):
                    try:
                        node = node[step]
                        continue
                    except KeyError:
                        pass
            elif _is_array(node) and -len(node) <= step < len(node):
                node = node[step]
                continue
            raise self._miss(data, scope)
        if self._merge is not None:
            if not _is_object(node):
                raise self._miss(data, scope)
            return self._merge.apply([node], None)[0]
        return node

    def _miss(self, data: Any, scope: Scope) -> PathMatchError:
        """Jayway's words for why the walk stopped, found by walking again."""
        where = "$" if self._on_input else "$$" if self.root == "$$" else f"${self.root}"
        full = where + "".join(_fragment(step) for step in self.steps)
        if self._merge is not None:
            full += self._merge.fragment
        node = self._document(data, scope)
        for i, step in enumerate(self.steps):
            fragment = _fragment(step)
            if isinstance(step, str):
                if not _is_object(node):
                    return PathMatchError(
                        f"Expected to find an object with property {fragment} in path {where} "
                        f"but found '{json_type(node)}'. This is not a json object."
                    )
                if step not in node:
                    if i < len(self.steps) - 1 or self._merge is not None:
                        return PathMatchError(f"Missing property in path {where}{fragment}")
                    break
            elif not _is_array(node):
                return PathMatchError(
                    f"Filter: {fragment} can only be applied to arrays. "
                    f"Current context is: {json_text(node)}"
                )
            elif not -len(node) <= step < len(node):
                break
            node = node[step]
            where += fragment
        return PathMatchError(f"No results for path: {full}")


def _fragment(step: str | int) -> str:
    return f"['{step}']" if isinstance(step, str) else f"[{step}]"


class _QueryPath(Path):
    """A path with wildcards, filters, slices, unions or deep scan: a list of matches."""

    __slots__ = ("_segments",)

    def __init__(self, text: str, root: str, segments: list[_Segment]) -> None:
        super().__init__(text, root, definite=False, reference=False)
        self._segments = segments

    def evaluate(self, data: Any, scope: Scope) -> Any:
        doc = data if self._on_input else self._document(data, scope)
        nodes = [doc]
        for segment in self._segments:
            nodes = segment.apply(nodes, doc)
            if not nodes:
                break
        return nodes


def compile_path(text: str) -> Path:
    """Compile any JSONPath AWS accepts in a ``…Path`` field or a ``.$`` value."""
    if not isinstance(text, str):
        raise PathSyntaxError(f"A path must be a string, not {json_type(text)}")
    return _compile(text)


@lru_cache(maxsize=4096)
def _compile(text: str) -> Path:
    parser = _Parser(text)
    root = parser.root()
    segments = parser.segments()
    if parser.pos != len(text):
        raise parser.error(f"unexpected character {text[parser.pos]!r}")
    return _build(text, root, segments)


def compile_reference_path(text: str) -> Path:
    """Compile a Reference Path (names and single indices only), as ResultPath needs."""
    path = compile_path(text)
    if not path.is_reference:
        raise PathSyntaxError(
            f"'{text}' is not a reference path: only names and single array indices are "
            "allowed, not the operators @ .. , : ? * or functions"
        )
    return path


def _build(text: str, root: str, segments: list[_Segment]) -> Path:
    if not segments:
        return _WholePath(text, root, definite=True, reference=True)
    last = segments[-1]
    merge = last if isinstance(last, _Names) else None
    walk = segments[:-1] if merge is not None else segments
    if merge is not None:
        merge.merge = True
    if all(isinstance(s, (_Name, _Index)) for s in walk):
        return _DefinitePath(text, root, tuple(_step(s) for s in walk), merge)
    return _QueryPath(text, root, segments)


def _step(segment: _Segment) -> str | int:
    if isinstance(segment, _Name):
        return segment.name
    assert isinstance(segment, _Index)
    return segment.index
