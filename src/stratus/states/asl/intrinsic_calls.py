"""The compiled tree of an intrinsic call: literals, path arguments and nested calls.

`intrinsics` parses a call into this tree once; evaluating it evaluates each argument and
hands the values to the call's function (`intrinsic_functions`). A path argument that
selects nothing raises `MissingArgument`, which says which path and what it searched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from stratus.states.asl.paths import Path, PathMatchError
from stratus.states.asl.scope import Scope

if TYPE_CHECKING:
    from stratus.states.asl.intrinsic_functions import _Function


class MissingArgument(PathMatchError):
    """A path argument that selected nothing; says which path and what it searched."""

    def __init__(self, path: Path, document: Any, detail: str) -> None:
        super().__init__(detail)
        self.path = path
        self.document = document


class _Literal:
    __slots__ = ("pieces", "value")

    def __init__(self, value: Any, pieces: tuple[str, ...] | None = None) -> None:
        self.value = value
        #: For a string: its text split at each unescaped ``{}`` (States.Format's holes).
        self.pieces = pieces

    def evaluate(self, data: Any, scope: Scope) -> Any:
        return self.value


class _PathArgument:
    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def evaluate(self, data: Any, scope: Scope) -> Any:
        try:
            return self.path.evaluate(data, scope)
        except PathMatchError as e:
            raise MissingArgument(self.path, _document(self.path, data, scope), str(e)) from None


def _document(path: Path, data: Any, scope: Scope) -> Any:
    if path.root == "$":
        return data
    if path.root == "$$":
        return scope.context
    return scope.variables.get(path.root)


class _Call:
    __slots__ = ("args", "function", "name")

    def __init__(self, name: str, function: _Function, args: tuple[_Argument, ...]) -> None:
        self.name = name
        self.function = function
        self.args = args

    def evaluate(self, data: Any, scope: Scope) -> Any:
        values = [arg.evaluate(data, scope) for arg in self.args]
        return self.function.run(self, values)


_Argument: TypeAlias = _Literal | _PathArgument | _Call
