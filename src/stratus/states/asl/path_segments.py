"""The steps a compiled JSONPath walks: names, indices, slices, wildcards, filters, scans.

Each segment maps the nodes reached so far to the nodes it selects. A path of only names
and single indices is walked by `paths` without them, as a plain lookup loop; the
segments serve the indefinite paths and the paths inside filters.
"""

from __future__ import annotations

from typing import Any

from stratus.states.asl.json_values import _is_array, _is_object
from stratus.states.asl.path_filters import _Test


class _Segment:
    """One step of a path: from the nodes reached so far to the nodes it selects."""

    definite = False
    fragment = ""

    def apply(self, nodes: list[Any], doc: Any) -> list[Any]:
        raise NotImplementedError


class _Name(_Segment):
    definite = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.fragment = f"['{name}']"

    def apply(self, nodes: list[Any], doc: Any) -> list[Any]:
        name = self.name
        return [n[name] for n in nodes if _is_object(n) and name in n]


class _Names(_Segment):
    """``['a','b']``: as the last step, Jayway merges the keys found into one object."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.merge = False
        self.fragment = "[" + ",".join(f"'{n}'" for n in names) + "]"

    def apply(self, nodes: list[Any], doc: Any) -> list[Any]:
        if self.merge:
            return [{k: n[k] for k in self.names if k in n} for n in nodes if _is_object(n)]
        return [n[k] for n in nodes if _is_object(n) for k in self.names if k in n]


class _Index(_Segment):
    definite = True

    def __init__(self, index: int) -> None:
        self.index = index
        self.fragment = f"[{index}]"

    def apply(self, nodes: list[Any], doc: Any) -> list[Any]:
        out = []
        for n in nodes:
            if _is_array(n) and -len(n) <= self.index < len(n):
                out.append(n[self.index])
        return out


class _Indexes(_Segment):
    def __init__(self, indexes: tuple[int, ...]) -> None:
        self.indexes = indexes
        self.fragment = "[" + ",".join(map(str, indexes)) + "]"

    def apply(self, nodes: list[Any], doc: Any) -> list[Any]:
        return [n[i] for n in nodes if _is_array(n) for i in self.indexes if -len(n) <= i < len(n)]


class _Slice(_Segment):
    def __init__(self, start: int | None, end: int | None) -> None:
        self.start, self.end = start, end
        self.fragment = f"[{'' if start is None else start}:{'' if end is None else end}]"

    def apply(self, nodes: list[Any], doc: Any) -> list[Any]:
        out: list[Any] = []
        for n in nodes:
            if _is_array(n):
                out.extend(n[self.start : self.end])
        return out


class _Wildcard(_Segment):
    fragment = "[*]"

    def apply(self, nodes: list[Any], doc: Any) -> list[Any]:
        out: list[Any] = []
        for n in nodes:
            if _is_object(n):
                out.extend(n.values())
            elif _is_array(n):
                out.extend(n)
        return out


class _Filter(_Segment):
    """``[?(…)]``: an array's matching items, or an object itself when it matches."""

    def __init__(self, test: _Test, source: str) -> None:
        self.test = test
        self.fragment = f"[?({source})]"

    def apply(self, nodes: list[Any], doc: Any) -> list[Any]:
        test = self.test
        out: list[Any] = []
        for n in nodes:
            if _is_array(n):
                out.extend(item for item in n if test(item, doc))
            elif _is_object(n) and test(n, doc):
                out.append(n)
        return out


class _Scan(_Segment):
    """``..x``: `x` applied to the node and to every object and array beneath it."""

    def __init__(self, inner: _Segment) -> None:
        self.inner = inner
        self.fragment = ".." + inner.fragment

    def apply(self, nodes: list[Any], doc: Any) -> list[Any]:
        out: list[Any] = []
        inner = self.inner
        for top in nodes:
            stack = [top]
            while stack:
                node = stack.pop()
                if _is_object(node):
                    children = list(node.values())
                elif _is_array(node):
                    children = list(node)
                else:
                    continue
                if isinstance(inner, _Filter):
                    if inner.test(node, doc):
                        out.append(node)
                else:
                    out.extend(inner.apply([node], doc))
                stack.extend(reversed(children))
        return out
