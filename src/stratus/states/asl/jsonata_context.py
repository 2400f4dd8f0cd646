"""What AWS refuses in a JSONata expression before running it: reading the absent context.

AWS gives an expression no context item, so a field name or ``$`` read at the top level
is refused when the definition is created, and ``$$`` anywhere. `JsonataExpression` asks
`_top_level_reference` about each expression it compiles.
"""

from __future__ import annotations

from typing import Any, Final

from jsonata.parser import Parser

# Children evaluated against the same context as their parent, and those evaluated against
# the parent's own result (filters, sort terms, grouping, transform patterns).
_SAME_CONTEXT: Final = (
    "lhs", "rhs", "expressions", "procedure", "arguments", "body", "condition", "then",
    "_else", "expression", "lhs_object", "expr",
)  # fmt: skip
_OWN_RESULT: Final = ("stages", "predicate", "group", "terms", "pattern", "update", "delete")


def _top_level_reference(node: Any, top: bool) -> str | None:
    """What the expression reads from the (absent) top-level context, if anything.

    AWS gives an expression no context item: a field name, or ``$``, read at the top level
    is refused when the definition is created, and ``$$`` is refused anywhere. A lambda's
    body keeps the context it is defined in, as AWS judges it.
    """
    if isinstance(node, list):
        for item in node:
            found = _top_level_reference(item, top)
            if found is not None:
                return found
        return None
    if not isinstance(node, Parser.Symbol):
        return None
    kind = node.type
    if kind == "variable":
        if node.value == "$":
            return "$$"
        if node.value == "" and top:
            return "$"
    elif kind == "name" and top:
        return str(node.value)
    if kind == "path" and node.steps:
        found = _top_level_reference(node.steps[0], top) or _top_level_reference(
            node.steps[1:], False
        )
        if found is not None:
            return found
    for names, child_top in ((_SAME_CONTEXT, top), (_OWN_RESULT, False)):
        for name in names:
            child = getattr(node, name, None)
            if child is not None:
                found = _top_level_reference(child, child_top)
                if found is not None:
                    return found
    return None
