"""ResultPath: putting a state's result into a copy of its input.

Values are immutable JSON, so the result is placed in a copy that shares everything but
the objects and arrays along the path. (A deep copy per state would cost more than the
rest of a transition; copying the spine is all that ResultPath's semantics need.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stratus.states.asl.errors import RESULT_PATH_MATCH_FAILURE, StatesError
from stratus.states.asl.json_values import _is_array, _is_object, json_text

if TYPE_CHECKING:
    from stratus.states.asl.paths import Path


def apply_result_path(raw_input: Any, result: Any, path: Path | None) -> Any:
    """ResultPath: put `result` into a copy of `raw_input` where `path` points.

    ``None`` (``"ResultPath": null``) keeps the input, ``$`` is the result itself; missing
    objects along the path are created; a non-object in the way is a
    ``States.ResultPathMatchFailure``. `raw_input` is never changed.
    """
    if path is None:
        return raw_input
    steps = getattr(path, "steps", None)
    if path.root != "$" or steps is None or not path.is_reference:
        raise StatesError(
            RESULT_PATH_MATCH_FAILURE, f"ResultPath {path.text} is not a reference path into $"
        )
    if not steps:
        return result
    try:
        return _put(raw_input, steps, 0, result)
    except _Unapplicable:
        raise StatesError(
            RESULT_PATH_MATCH_FAILURE,
            f"Unable to apply ReferencePath {path.text} to input {json_text(raw_input)}",
        ) from None


class _Unapplicable(Exception):
    pass


def _put(node: Any, steps: tuple[str | int, ...], i: int, value: Any) -> Any:
    step = steps[i]
    if isinstance(step, str):
        if not _is_object(node):
            raise _Unapplicable
        copy = dict(node)
        copy[step] = value if i == len(steps) - 1 else _put(node.get(step, {}), steps, i + 1, value)
        return copy
    if not _is_array(node) or not -len(node) <= step < len(node):
        raise _Unapplicable
    items = list(node)
    items[step] = value if i == len(steps) - 1 else _put(node[step], steps, i + 1, value)
    return items
