"""Checking the Retry and Catch fields of Task, Parallel and Map states.

Each retrier and catcher is checked for its fields, its ErrorEquals (``States.ALL`` alone
and last), its bounds and, for a catcher, its transition, ResultPath, Output and Assign.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stratus.states.asl.errors import ALL
from stratus.states.asl.locations import _at, _fields
from stratus.states.asl.machine_checks import _MachineChecker, _Scope
from stratus.states.asl.schema import (
    _CATCHER_FIELDS,
    _RETRIER_FIELDS,
    JSONATA,
    JSONPATH,
    MAX_DELAY_SECONDS,
    MAX_SECONDS,
)


class _RetryCatchChecker(_MachineChecker):
    """The checks of the Retry and Catch fields."""

    def _retry_and_catch(
        self, name: str, state: Mapping[str, Any], location: str, scope: _Scope, language: str
    ) -> None:
        for key, allowed in (("Retry", _RETRIER_FIELDS), ("Catch", _CATCHER_FIELDS)):
            if key not in state:
                continue
            entries, where = state[key], _at(location, key)
            if not isinstance(entries, list):
                self.schema("Expected value of type Array", where)
                continue
            for index, entry in enumerate(entries):
                here = _at(where, index)
                if not isinstance(entry, dict):
                    self.schema("Expected value of type Object", here)
                    continue
                for field_name in entry:
                    if field_name not in allowed:
                        self.schema(f"Field '{field_name}' is not supported", here)
                required = ("ErrorEquals", "Next") if key == "Catch" else ("ErrorEquals",)
                missing = [f for f in required if f not in entry]
                if missing:
                    self.schema(f"These fields are required: {_fields(missing)}", here)
                if "ErrorEquals" in entry:
                    last = index == len(entries) - 1
                    self._error_equals(entry["ErrorEquals"], _at(here, "ErrorEquals"), last)
                self._string(entry, "Comment", here)
                if key == "Retry":
                    self._retrier(entry, here)
                else:
                    self._catcher(name, entry, here, scope, language)

    def _error_equals(self, names: Any, location: str, last: bool) -> None:
        if not isinstance(names, list):
            self.schema("Expected value of type Array", location)
        elif not names:
            self.schema("Value cannot be empty", location)
        elif not all(isinstance(n, str) for n in names):
            self.schema("Expected value of type String", location)
        elif ALL in names and (len(names) > 1 or not last):
            self.schema(f"{ALL} must appear alone and at end of list", location)

    def _retrier(self, retrier: Mapping[str, Any], location: str) -> None:
        # AWS accepts an IntervalSeconds of 0, though the language spec asks for >= 1.
        bounds = (
            ("IntervalSeconds", 0, MAX_SECONDS),
            ("MaxAttempts", 0, MAX_SECONDS),
            ("MaxDelaySeconds", 1, MAX_DELAY_SECONDS),
        )
        for key, minimum, maximum in bounds:
            if key in retrier:
                self._integer(retrier[key], _at(location, key), minimum, maximum)
        if "BackoffRate" in retrier:
            self._number(retrier["BackoffRate"], _at(location, "BackoffRate"), 1, None)
        self._choice_of(retrier, "JitterStrategy", ("NONE", "FULL"), location)

    def _catcher(
        self, name: str, catcher: Mapping[str, Any], location: str, scope: _Scope, language: str
    ) -> None:
        if "Next" in catcher:
            self._transition(scope, name, catcher["Next"], _at(location, "Next"))
        if "ResultPath" in catcher:
            if language == JSONATA:
                self._wrong_language("ResultPath", JSONATA, _at(location, "ResultPath"))
            elif catcher["ResultPath"] is not None:
                self._result_path(catcher["ResultPath"], _at(location, "ResultPath"))
        if "Output" in catcher:
            if language == JSONPATH:
                self._wrong_language("Output", JSONPATH, location)
            else:
                self._jsonata(catcher["Output"], _at(location, "Output"))
        if "Assign" in catcher:
            self._assign(catcher["Assign"], _at(location, "Assign"), language)
