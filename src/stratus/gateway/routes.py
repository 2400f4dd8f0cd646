"""Matching a request path against API routes: `{param}`, `{proxy+}` and `ANY`.

Both kinds of API route the same way: among the routes whose template matches, the most
specific path wins (position by position a literal beats a `{param}`, which beats a
greedy `{proxy+}`), and on one path a route for the exact method beats `ANY`. Templates
with no variables are kept in a dict, so the common case is one lookup.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import unquote

T = TypeVar("T")

_LITERAL, _PARAM, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class PathTemplate:
    """A parsed route path such as `/items/{id}` or `/files/{proxy+}`."""

    text: str
    #: (kind, literal text or parameter name) per segment.
    segments: tuple[tuple[int, str], ...]

    @property
    def has_variables(self) -> bool:
        return any(kind != _LITERAL for kind, _ in self.segments)

    @property
    def specificity(self) -> tuple[int, ...]:
        return tuple(kind for kind, _ in self.segments)


def parse_template(path: str) -> PathTemplate:
    """Parse a route path; raises ValueError for a malformed one."""
    if not path.startswith("/"):
        raise ValueError("a route path must start with /")
    parts = [part for part in path.split("/")[1:]]
    if parts == [""]:
        parts = []
    segments: list[tuple[int, str]] = []
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            if name.endswith("+"):
                if index != len(parts) - 1:
                    raise ValueError("a greedy path variable must be the last segment")
                segments.append((_GREEDY, name[:-1]))
            else:
                segments.append((_PARAM, name))
            if not segments[-1][1]:
                raise ValueError("a path variable needs a name")
        elif "{" in part or "}" in part or part == "":
            raise ValueError(f"invalid path segment {part!r}")
        else:
            segments.append((_LITERAL, part))
    return PathTemplate(path, tuple(segments))


def match_template(template: PathTemplate, parts: list[str]) -> dict[str, str] | None:
    """The path parameters if `parts` (the request path's segments) match."""
    params: dict[str, str] = {}
    segments = template.segments
    for index, (kind, text) in enumerate(segments):
        if kind == _GREEDY:
            rest = parts[index:]
            if not rest or rest == [""]:
                return None
            params[text] = unquote("/".join(rest))
            return params
        if index >= len(parts):
            return None
        part = parts[index]
        if kind == _LITERAL:
            if part != text:
                return None
        else:
            if not part:
                return None
            params[text] = unquote(part)
    if len(parts) != len(segments):
        return None
    return params


@dataclass(frozen=True)
class RouteMatch(Generic[T]):
    """The route chosen for a request and its path parameters (read-only: a route
    without variables answers every request with the same match)."""

    target: T
    template: PathTemplate
    params: dict[str, str]


@dataclass
class RouteTable(Generic[T]):
    """Routes keyed by (method or "ANY", template); `match` picks the best one."""

    #: Templates without variables: normalised path -> method (or "ANY") -> its match.
    _exact: dict[str, dict[str, RouteMatch[T]]] = field(default_factory=dict)
    #: (method, template, specificity, target) for templates with variables.
    _variable: list[tuple[str, PathTemplate, tuple[int, ...], T]] = field(default_factory=list)

    @classmethod
    def build(cls, routes: Iterable[tuple[str, PathTemplate, T]]) -> RouteTable[T]:
        table: RouteTable[T] = cls()
        for method, template, target in routes:
            if template.has_variables:
                table._variable.append((method, template, template.specificity, target))
            else:
                by_method = table._exact.setdefault(_normal(template.text), {})
                by_method[method] = RouteMatch(target, template, {})
        return table

    def match(self, method: str, path: str) -> RouteMatch[T] | None:
        normal = _normal(path)
        by_method = self._exact.get(normal)
        if by_method is not None:
            found = by_method.get(method) or by_method.get("ANY")
            if found is not None:
                return found
        if not self._variable:
            return None
        parts = normal.split("/")[1:] if normal != "/" else []
        best: tuple[tuple[int, ...], int, PathTemplate, T, dict[str, str]] | None = None
        for route_method, template, specificity, target in self._variable:
            if route_method != method and route_method != "ANY":
                continue
            params = match_template(template, parts)
            if params is None:
                continue
            rank = (specificity, 0 if route_method == method else 1)
            if best is None or rank < (best[0], best[1]):
                best = (rank[0], rank[1], template, target, params)
        if best is None:
            return None
        return RouteMatch(best[3], best[2], best[4])


def _normal(path: str) -> str:
    # A trailing slash names the same resource ("/items/" is "/items").
    if len(path) > 1 and path.endswith("/"):
        return path.rstrip("/") or "/"
    return path or "/"
