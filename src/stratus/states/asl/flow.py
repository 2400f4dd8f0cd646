"""How data moves through a state, in each query language, and how errors are handled.

JSONPath states filter their input and output in AWS's fixed order: InputPath,
Parameters, (the state's work), ResultSelector, ResultPath, OutputPath; JSONata states
have Arguments and Output instead, and both evaluate Assign against the same values as
the output, with the variables as they were when the state was entered.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stratus.states.asl import jsonata, payload
from stratus.states.asl.errors import ALL, TASK_FAILED, TERMINAL, TIMEOUT, StatesError
from stratus.states.asl.paths import Path, compile_path, compile_reference_path
from stratus.states.asl.result_path import apply_result_path
from stratus.states.asl.runtime import Visit

JSONPATH = "JSONPath"
JSONATA = "JSONata"

#: A field left out: the identity (InputPath, OutputPath, ResultPath default to "$").
ABSENT: Any = object()


class PathFlow:
    """A JSONPath-mode state's input and output processing."""

    def __init__(self, spec: Mapping[str, Any], *, parameters_field: str = "Parameters") -> None:
        self.input_path = _path_field(spec, "InputPath", compile_path)
        self.output_path = _path_field(spec, "OutputPath", compile_path)
        self.result_path = _path_field(spec, "ResultPath", compile_reference_path)
        self.parameters = _template(spec, parameters_field)
        self.result_selector = _template(spec, "ResultSelector")
        self.assign = _template(spec, "Assign")

    def effective_input(self, raw: Any, visit: Visit) -> Any:
        """InputPath then Parameters: what the state works on."""
        return self.parameters_of(self.selected_input(raw, visit), visit)

    def parameters_of(self, selected: Any, visit: Visit) -> Any:
        """Parameters applied to the input InputPath selected."""
        if self.parameters is None:
            return selected
        return self.parameters.evaluate(selected, visit.scope())

    def selected_input(self, raw: Any, visit: Visit) -> Any:
        """InputPath only (states whose Parameters mean something else, e.g. Map's)."""
        if self.input_path is ABSENT:
            return raw
        return payload.apply_input_path(raw, self.input_path, visit.scope())

    def output(self, raw: Any, result: Any, visit: Visit) -> Any:
        """ResultSelector, ResultPath, OutputPath: the state's output for `result`."""
        if self.result_selector is not None:
            result = self.result_selector.evaluate(result, visit.scope())
        if self.result_path is not ABSENT:
            data = apply_result_path(raw, result, self.result_path)
        else:
            data = result
        self._assign(result, visit)
        return self.filtered(data, visit)

    def filtered(self, data: Any, visit: Visit) -> Any:
        """OutputPath alone (states with no result)."""
        if self.output_path is ABSENT:
            return data
        return payload.apply_output_path(data, self.output_path, visit.scope())

    def assign_on(self, value: Any, visit: Visit) -> None:
        """Assign with `$` = `value` (states with no result use their input)."""
        self._assign(value, visit)

    def _assign(self, value: Any, visit: Visit) -> None:
        if self.assign is not None:
            values = self.assign.evaluate(value, visit.scope())
            visit.frame.assign(values)


class JsonataFlow:
    """A JSONata-mode state's input and output processing."""

    def __init__(self, spec: Mapping[str, Any], *, arguments_field: str = "Arguments") -> None:
        self.arguments = _jsonata(spec, arguments_field)
        self.output_template = _jsonata(spec, "Output")
        self.assign = _jsonata(spec, "Assign")

    def effective_input(self, raw: Any, visit: Visit) -> Any:
        """Arguments, evaluated against the state input."""
        if self.arguments is None:
            return raw
        return self.arguments.evaluate(visit.states(raw), visit.frame.variables)

    def output(self, raw: Any, result: Any, visit: Visit) -> Any:
        """Output (default: the result) and Assign, both seeing ``$states.result``."""
        if self.output_template is None and self.assign is None:
            return result
        states = visit.states(raw, result=result)
        variables = visit.frame.variables
        data = result
        if self.output_template is not None:
            data = self.output_template.evaluate(states, variables)
        if self.assign is not None:
            visit.frame.assign(self.assign.evaluate(states, variables))
        return data

    def passthrough(self, raw: Any, visit: Visit) -> Any:
        """Output (default: the input) and Assign for states with no result."""
        if self.output_template is None and self.assign is None:
            return raw
        states = visit.states(raw)
        variables = visit.frame.variables
        data = raw
        if self.output_template is not None:
            data = self.output_template.evaluate(states, variables)
        if self.assign is not None:
            visit.frame.assign(self.assign.evaluate(states, variables))
        return data


def evaluate_field(value: Any, raw: Any, visit: Visit) -> Any:
    """A JSONata-mode field that may hold an expression (Seconds, TimeoutSeconds, …)."""
    if isinstance(value, jsonata.JsonataTemplate):
        return value.evaluate(visit.states(raw), visit.frame.variables)
    return value


def compile_field(value: Any) -> Any:
    """A JSONata-mode field: an expression compiled, anything else as it is."""
    return jsonata.compile_template(value) if jsonata.is_expression(value) else value


# --- errors --------------------------------------------------------------------------


def error_matches(names: tuple[str, ...], error: str) -> bool:
    """Whether a Retry or Catch `ErrorEquals` list handles `error`.

    States.Runtime is never handled. `States.ALL` handles everything else except
    States.DataLimitExceeded, and `States.TaskFailed` everything but States.Timeout.
    """
    if error == "States.Runtime":
        return False
    if error in names:
        return True
    if error in TERMINAL:
        return False
    if ALL in names:
        return True
    return TASK_FAILED in names and error != TIMEOUT


@dataclass(frozen=True)
class Retrier:
    """One element of a state's Retry."""

    errors: tuple[str, ...]
    interval: float = 1.0
    max_attempts: int = 3
    backoff: float = 2.0
    max_delay: float | None = None
    full_jitter: bool = False

    @classmethod
    def build(cls, spec: Mapping[str, Any]) -> Retrier:
        return cls(
            tuple(spec["ErrorEquals"]),
            float(spec.get("IntervalSeconds", 1)),
            int(spec.get("MaxAttempts", 3)),
            float(spec.get("BackoffRate", 2.0)),
            float(spec["MaxDelaySeconds"]) if "MaxDelaySeconds" in spec else None,
            spec.get("JitterStrategy") == "FULL",
        )

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` + 1."""
        seconds = self.interval * self.backoff**attempt
        if self.max_delay is not None:
            seconds = min(seconds, self.max_delay)
        return random.uniform(0, seconds) if self.full_jitter else seconds


class Catcher:
    """One element of a state's Catch."""

    def __init__(self, spec: Mapping[str, Any], language: str) -> None:
        self.errors = tuple(spec["ErrorEquals"])
        self.next = str(spec["Next"])
        self.language = language
        if language == JSONATA:
            self.output_template = _jsonata(spec, "Output")
            self.jsonata_assign = _jsonata(spec, "Assign")
        else:
            self.result_path = _path_field(spec, "ResultPath", compile_reference_path)
            self.path_assign = _template(spec, "Assign")

    def output(self, raw: Any, error: StatesError, visit: Visit) -> Any:
        """The state's output when this catcher handles `error`."""
        error_output = {"Error": error.error, "Cause": error.cause}
        if self.language == JSONATA:
            states = visit.states(raw, errorOutput=error_output)
            variables = visit.frame.variables
            data: Any = error_output
            if self.output_template is not None:
                data = self.output_template.evaluate(states, variables)
            if self.jsonata_assign is not None:
                visit.frame.assign(self.jsonata_assign.evaluate(states, variables))
            return data
        if self.path_assign is not None:
            visit.frame.assign(self.path_assign.evaluate(error_output, visit.scope()))
        if self.result_path is ABSENT:
            return error_output
        return apply_result_path(raw, error_output, self.result_path)


Attempt = Callable[[], Awaitable[tuple[str | None, Any]]]


class Guard:
    """A state's Retry and Catch around its work."""

    def __init__(self, spec: Mapping[str, Any], language: str) -> None:
        self.retriers = [Retrier.build(r) for r in spec.get("Retry", ())]
        self.catchers = [Catcher(c, language) for c in spec.get("Catch", ())]

    async def run(self, raw: Any, visit: Visit, attempt: Attempt) -> tuple[str | None, Any]:
        """Run `attempt`, retrying and catching its errors as the state says."""
        if not self.retriers and not self.catchers:
            return await attempt()
        counts = [0] * len(self.retriers)
        clock = visit.run.clock
        while True:
            try:
                return await attempt()
            except StatesError as error:
                failure = visit.locate(error)
            delay = self._retry_delay(failure.error, counts)
            if delay is not None:
                visit.retry_count += 1
                history = visit.run.history
                # A retry whose events a durable history replays has already waited.
                if not (history.durable and history.replayed() is not None):
                    await clock.sleep_until(clock.now() + dt.timedelta(seconds=delay))
                continue
            for catcher in self.catchers:
                if error_matches(catcher.errors, failure.error):
                    return catcher.next, catcher.output(raw, failure, visit)
            raise failure

    def _retry_delay(self, error: str, counts: list[int]) -> float | None:
        """The wait before retrying `error`, or None: the first retrier that matches
        decides, and once its attempts are spent the error goes to the catchers."""
        for index, retrier in enumerate(self.retriers):
            if error_matches(retrier.errors, error):
                if counts[index] >= retrier.max_attempts:
                    return None
                counts[index] += 1
                return retrier.delay(counts[index] - 1)
        return None


# --- compiling fields ----------------------------------------------------------------


def _path_field(spec: Mapping[str, Any], name: str, compile: Callable[[str], Path]) -> Any:
    if name not in spec:
        return ABSENT
    value = spec[name]
    if value is None:
        return None
    if value == "$":
        return ABSENT  # the identity, with nothing to evaluate
    return compile(value)


def _template(spec: Mapping[str, Any], name: str) -> payload.Template | None:
    return payload.compile_template(spec[name]) if name in spec else None


def _jsonata(spec: Mapping[str, Any], name: str) -> jsonata.JsonataTemplate | None:
    # The field's name goes into the cause of an evaluation error, as on AWS.
    return jsonata.compile_template(spec[name], name) if name in spec else None
