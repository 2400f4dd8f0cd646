"""Checking a definition the way CreateStateMachine and ValidateStateMachineDefinition do.

`validate` returns every problem as a `Diagnostic` with AWS's code, wording and location
(``SCHEMA_VALIDATION_FAILED: Field 'TimeoutSeconds' is not supported at /States/M``);
`load` raises `DefinitionError` when any of them is an error. The codes and messages were
taken from what AWS answers, as users quote it in issue threads and as the API reference
lists it; where AWS's wording for a rule could not be found, the message follows the
style of its neighbours.

Locations are AWS's, not RFC 6901 pointers: an array index is written ``Catch[0]``, as in
``/States/T/Catch[0]/Next`` and ``/States/P/Branches[0]/States/X``. Diagnostics come in a
fixed order: schema problems in document order, then transitions to missing states, then
the graph (no terminal state, unreachable states), which is the order AWS reports them in.

The checker is built in layers, one module each: `field_checks` (single values, and the
syntax inside fields, checked by the modules that compile it), `machine_checks` (machines,
states' shared fields, the graph), `retry_checks` (Retry and Catch) and `state_checks`
(what each type adds). `schema` holds the codes and field tables, `definition_json` reads
the text.
"""

from __future__ import annotations

import json
from typing import Any

from stratus.states.asl.definition_json import _NotJson, _parse
from stratus.states.asl.errors import DefinitionError, Diagnostic
from stratus.states.asl.schema import (
    ERROR,
    INVALID_JSON,
    MISSING_DESCRIPTION,
    TOO_DEEPLY_NESTED,
)
from stratus.states.asl.state_checks import _Checker


def validate(definition: str) -> list[Diagnostic]:
    """Every problem of `definition` (a JSON text), in a stable order; [] when it is valid."""
    if not definition or not definition.strip():
        return [Diagnostic(MISSING_DESCRIPTION, "Received a null or empty workflow input")]
    try:
        document = _parse(definition)
    except _NotJson as bad:
        return [Diagnostic(INVALID_JSON, bad.message)]
    checker = _Checker()
    try:
        checker.check_top(document)
    except RecursionError:
        return [Diagnostic(TOO_DEEPLY_NESTED, "The states are too deeply nested.")]
    return checker.diagnostics()


def load(definition: str) -> dict[str, Any]:
    """Parse and validate `definition`; raise `DefinitionError` if it has any error."""
    diagnostics = validate(definition)
    if any(d.severity == ERROR for d in diagnostics):
        raise DefinitionError([d for d in diagnostics if d.severity == ERROR])
    parsed: dict[str, Any] = json.loads(definition)
    return parsed
