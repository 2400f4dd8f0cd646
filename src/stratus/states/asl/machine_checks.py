"""Checking the machines of a definition: its top level, each States object and its graph.

A machine is the top level, a Parallel branch or a Map's item processor. For each one the
checker sees StartAt and States, each state's name, type, query language and shared
data-flow fields, the transitions between states, and the graph: a terminal state, and
no state that nothing names. What each type adds is checked in `state_checks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stratus.states.asl.field_checks import _PHASE_GRAPH, _PHASE_TARGETS, _FieldChecker
from stratus.states.asl.locations import _at, _fields, _targets
from stratus.states.asl.schema import (
    _COMMON,
    _FIELDS,
    _FLOWING,
    _JSONATA_ONLY,
    _JSONPATH_ONLY,
    _TOP_FIELDS,
    _TYPES,
    DUPLICATE_STATE_NAME,
    INVALID_STATE_NAME,
    JSONATA,
    JSONPATH,
    MAX_SECONDS,
    MAX_STATE_NAME,
    MISSING_END,
    MISSING_TARGET,
)


@dataclass
class _Scope:
    """One States object: a machine's, a branch's or an item processor's."""

    location: str
    states: Mapping[str, Any]
    #: state name → the names its transitions point at (Next, Default, Choices, Catch).
    edges: dict[str, list[str]] = field(default_factory=dict)


class _MachineChecker(_FieldChecker):
    """The checks of machines, their states' common fields and their transition graphs."""

    # ── machines ──

    def check_top(self, document: Mapping[str, Any]) -> None:
        """The top level: its own fields, then the machine it holds."""
        for name in document:
            if name not in _TOP_FIELDS:
                self.schema(f"Field '{name}' is not supported", "/")
        self._string(document, "Comment", "")
        if "Version" in document and document["Version"] != "1.0":
            self.schema("Value should be one of the following: [1.0]", "/Version")
        if "TimeoutSeconds" in document:
            self._integer(document["TimeoutSeconds"], "/TimeoutSeconds", 0, MAX_SECONDS)
        if "QueryLanguage" in document:
            self._top_language = self._language(document["QueryLanguage"], "/QueryLanguage")
        self._machine(document, "", _TOP_FIELDS, top=True)

    def _machine(
        self, machine: Mapping[str, Any], location: str, allowed: frozenset[str], *, top: bool
    ) -> None:
        if not top:
            for name in machine:
                if name not in allowed:
                    self.schema(f"Field '{name}' is not supported", location)
            self._string(machine, "Comment", location)
        missing = [name for name in ("StartAt", "States") if name not in machine]
        if missing:
            self.schema(f"These fields are required: {_fields(missing)}", location or "/")
        states = machine.get("States")
        if "States" in machine and not isinstance(states, dict):
            self.schema("Expected value of type Object", _at(location, "States"))
            states = None
        elif isinstance(states, dict) and not states:
            self.schema("Value cannot be empty", _at(location, "States"))
        scope = _Scope(_at(location, "States"), states or {})
        start = machine.get("StartAt")
        if "StartAt" in machine:
            if not isinstance(start, str):
                self.schema("Expected value of type String", _at(location, "StartAt"))
                start = None
            elif states is not None and start not in states:
                self._missing_target(start, _at(location, "StartAt"))
        for name in getattr(states, "repeated", ()):
            self.report(
                DUPLICATE_STATE_NAME, f"Duplicate State name: {name}", _at(scope.location, name)
            )
        for name, state in scope.states.items():
            self._state_name(name, _at(scope.location, name))
            self._state(name, state, _at(scope.location, name), scope)
        if states:
            self._graph(scope, start if isinstance(start, str) else None, top=top)

    def _state_name(self, name: str, location: str) -> None:
        if len(name) > MAX_STATE_NAME:
            self.report(
                INVALID_STATE_NAME,
                f"Invalid State name: State '{name}' exceeds the {MAX_STATE_NAME}-character "
                "limit allowed by the service",
                location,
            )
        if name in self._state_names:
            # State names are unique in the whole machine, branches included.
            self.report(DUPLICATE_STATE_NAME, f"Duplicate State name: {name}", location)
        self._state_names.add(name)

    def _graph(self, scope: _Scope, start: str | None, *, top: bool) -> None:
        terminal = any(
            isinstance(state, dict)
            and (state.get("Type") in ("Succeed", "Fail") or state.get("End") is True)
            for state in scope.states.values()
        )
        unknown = any(
            not isinstance(state, dict) or _FIELDS.get(str(state.get("Type"))) is None
            for state in scope.states.values()
        )
        if not terminal and not unknown:
            # AWS gives the top-level one no location at all, and then reports no
            # unreachable states. (A state of unknown type might be the end: no verdict.)
            where = "" if top else scope.location.rsplit("/", 1)[0]
            self.report(MISSING_END, "Workflow has no terminal state", where, phase=_PHASE_GRAPH)
            return
        # "Reachable" in AWS's looser sense: named by StartAt or by some transition. (With
        # a StartAt naming no state, AWS still passes a state that another one names.)
        referenced = {target for targets in scope.edges.values() for target in targets}
        if start is not None:
            referenced.add(start)
        for name in scope.states:
            if name not in referenced:
                self.report(
                    MISSING_TARGET,
                    f'State "{name}" is not reachable.',
                    _at(scope.location, name),
                    phase=_PHASE_GRAPH,
                )

    def _missing_target(self, target: str, location: str) -> None:
        self.report(
            MISSING_TARGET, f"Missing 'Next' target: {target}", location, phase=_PHASE_TARGETS
        )

    def _transition(self, scope: _Scope, source: str, target: Any, location: str) -> None:
        if not isinstance(target, str):
            self.schema("Expected value of type String", location)
            return
        scope.edges.setdefault(source, []).append(target)
        if target not in scope.states:
            self._missing_target(target, location)

    # ── states ──

    def _state(self, name: str, state: Any, location: str, scope: _Scope) -> None:
        if not isinstance(state, dict):
            self.schema("Expected value of type Object", location)
            return
        kind = state.get("Type") if isinstance(state.get("Type"), str) else None
        if "Type" not in state:
            self.schema("These fields are required: [Type]", location)
        elif kind not in _FIELDS:
            self.schema(
                f"Value should be one of the following: {_fields(_TYPES)}", _at(location, "Type")
            )
        language = self._state_language(state, location)
        if kind not in _FIELDS:
            # Still follow its transitions, so the states it names are not "unreachable".
            scope.edges[name] = [t for t in _targets(state) if isinstance(t, str)]
            return
        allowed = _FIELDS[kind]
        for key in state:
            if key in _COMMON:
                continue
            if key not in allowed:
                self.schema(f"Field '{key}' is not supported", location)
            elif language == JSONATA and key in _JSONPATH_ONLY:
                self._wrong_language(key, JSONATA, _at(location, key))
            elif language == JSONPATH and key in _JSONATA_ONLY:
                self._wrong_language(key, JSONPATH, location)
        self._string(state, "Comment", location)
        if kind in _FLOWING:
            self._next_or_end(name, state, location, scope)
        self._io(state, location, language, allowed)
        check = getattr(self, f"_check_{kind.lower()}")
        check(name, state, location, scope, language)

    def _state_language(self, state: Mapping[str, Any], location: str) -> str:
        if "QueryLanguage" not in state:
            # Nested states inherit the machine's language, never their parent state's.
            return self._top_language
        language = self._language(state["QueryLanguage"], _at(location, "QueryLanguage"))
        if self._top_language == JSONATA and language == JSONPATH:
            self.schema(
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                location,
            )
        return language

    def _language(self, value: Any, location: str) -> str:
        if value not in (JSONPATH, JSONATA):
            self.schema("Value should be one of the following: [JSONPath, JSONata]", location)
        # AWS treats every value but the exact string JSONPath as JSONata.
        return JSONPATH if value == JSONPATH else JSONATA

    def _wrong_language(self, key: str, language: str, location: str) -> None:
        other = JSONPATH if language == JSONATA else JSONATA
        self.schema(
            f"The QueryLanguage is set to '{language}', but field '{key}' is only supported "
            f"for the '{other}' QueryLanguage",
            location,
        )

    def _next_or_end(
        self, name: str, state: Mapping[str, Any], location: str, scope: _Scope
    ) -> None:
        end = state.get("End")
        if "End" in state and not isinstance(end, bool):
            self.schema("Expected value of type Boolean", _at(location, "End"))
        if "Next" in state and end is True:
            self.schema("There should only be one of the following fields: [Next, End]", location)
        elif "Next" not in state and end is not True:
            self.schema(
                "This object should have only one of the following fields: [Next, End]", location
            )
        if "Next" in state:
            self._transition(scope, name, state["Next"], _at(location, "Next"))

    def _io(
        self, state: Mapping[str, Any], location: str, language: str, allowed: frozenset[str]
    ) -> None:
        """The data-flow fields every type shares (each only where its type has it)."""
        if language == JSONPATH:
            for key in ("InputPath", "OutputPath"):
                if key in allowed and key in state and state[key] is not None:
                    self._path(state[key], _at(location, key))
            if "ResultPath" in allowed and state.get("ResultPath") is not None:
                self._result_path(state["ResultPath"], _at(location, "ResultPath"))
            for key in ("Parameters", "ResultSelector"):
                if key in allowed and key in state:
                    self._payload(state[key], _at(location, key), object_required=True)
            if "Assign" in allowed and "Assign" in state:
                self._assign(state["Assign"], _at(location, "Assign"), JSONPATH)
        else:
            for key in ("Output", "Arguments"):
                if key in allowed and key in state:
                    self._jsonata(state[key], _at(location, key))
            if "Assign" in allowed and "Assign" in state:
                self._assign(state["Assign"], _at(location, "Assign"), JSONATA)
