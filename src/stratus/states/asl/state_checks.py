"""Checking what each state type adds to the shared fields, Map's parts included.

`_Checker` is the whole checker: `_MachineChecker` dispatches each state to the
``_check_<type>`` method here by its Type. Map's parts (its item processor, Label,
ItemReader, ItemBatcher and ResultWriter) are checked here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stratus.states.asl.locations import (
    _at,
    _has_dollar_key,
    _is_expression,
    _looks_like_path,
    _relative,
)
from stratus.states.asl.machine_checks import _Scope
from stratus.states.asl.retry_checks import _RetryCatchChecker
from stratus.states.asl.schema import (
    _ARN,
    _BRANCH_FIELDS,
    _LABEL_FORBIDDEN,
    _PROCESSOR_FIELDS,
    DUPLICATE_LABEL_NAME,
    INVALID_LABEL_NAME,
    JSONATA,
    JSONPATH,
    MAX_LABEL,
    MAX_SECONDS,
    NO_PATH,
    PASS_RESULT_IS_STATIC,
    WARNING,
)


class _Checker(_RetryCatchChecker):
    """Walks a parsed definition once and collects what is wrong with it."""

    # ── each type ──

    def _check_pass(
        self, name: str, state: Mapping[str, Any], location: str, scope: _Scope, language: str
    ) -> None:
        if language == JSONPATH and _has_dollar_key(state.get("Result")):
            self.report(
                PASS_RESULT_IS_STATIC,
                "The Result of a Pass state is static: fields ending in '.$' are not "
                "evaluated; use Parameters to select from the input",
                _at(location, "Result"),
                severity=WARNING,
            )

    def _check_task(
        self, name: str, state: Mapping[str, Any], location: str, scope: _Scope, language: str
    ) -> None:
        if "Resource" not in state:
            self.schema("These fields are required: [Resource]", location)
        elif not isinstance(state["Resource"], str):
            self.schema("Expected value of type String", _at(location, "Resource"))
        elif not _ARN.fullmatch(state["Resource"]):
            self.schema("Value is not a valid resource ARN", _at(location, "Resource"))
        timeout = self._seconds_pair(state, location, language, "TimeoutSeconds", minimum=1)
        heartbeat = self._seconds_pair(state, location, language, "HeartbeatSeconds", minimum=1)
        if timeout is not None and heartbeat is not None and heartbeat >= timeout:
            self.schema(
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
                _at(location, "HeartbeatSeconds"),
            )
        if "Credentials" in state:
            self._credentials(state["Credentials"], _at(location, "Credentials"), language)
        self._retry_and_catch(name, state, location, scope, language)

    def _check_wait(
        self, name: str, state: Mapping[str, Any], location: str, scope: _Scope, language: str
    ) -> None:
        given = [k for k in ("SecondsPath", "Seconds", "TimestampPath", "Timestamp") if k in state]
        names = "[SecondsPath, Seconds, TimestampPath, Timestamp]"
        if len(given) > 1:
            self.schema(f"There should only be one of the following fields: {names}", location)
        elif not given:
            self.schema(
                f"This object should have only one of the following fields: {names}", location
            )
        if "Seconds" in state:
            self._integer(state["Seconds"], _at(location, "Seconds"), 0, MAX_SECONDS, language)
        if "Timestamp" in state:
            self._timestamp(state["Timestamp"], _at(location, "Timestamp"), language)
        if language == JSONPATH:
            for key in ("SecondsPath", "TimestampPath"):
                if key in state:
                    self._reference_path(state[key], _at(location, key))

    def _check_choice(
        self, name: str, state: Mapping[str, Any], location: str, scope: _Scope, language: str
    ) -> None:
        choices = state.get("Choices")
        if "Choices" not in state:
            self.schema("These fields are required: [Choices]", location)
        elif not isinstance(choices, list):
            self.schema("Expected value of type Array", _at(location, "Choices"))
        elif not choices:
            self.schema("Value cannot be empty", _at(location, "Choices"))
        else:
            for index, rule in enumerate(choices):
                where = _at(location, "Choices", index)
                self._choice_rule(name, rule, where, scope, language, index)
        if "Default" in state:
            self._transition(scope, name, state["Default"], _at(location, "Default"))

    def _choice_rule(
        self, name: str, rule: Any, location: str, scope: _Scope, language: str, index: int
    ) -> None:
        from stratus.states.asl import choice

        if not isinstance(rule, dict):
            self.schema("Expected value of type Object", location)
            return
        if "Next" not in rule:
            self.schema("These fields are required: [Next]", location)
        else:
            self._transition(scope, name, rule["Next"], _at(location, "Next"))
        try:
            choice.compile_rule(rule, language, index=index)
        except choice.ChoiceRuleError as bad:
            self.report(bad.code, str(bad), location + _relative(bad.location))
        # The rule's own compiler leaves its Assign and Output to the state's checks.
        if "Assign" in rule:
            self._assign(rule["Assign"], _at(location, "Assign"), language)
        if language == JSONATA and "Output" in rule:
            self._jsonata(rule["Output"], _at(location, "Output"))

    def _check_parallel(
        self, name: str, state: Mapping[str, Any], location: str, scope: _Scope, language: str
    ) -> None:
        branches = state.get("Branches")
        if "Branches" not in state:
            self.schema("These fields are required: [Branches]", location)
        elif not isinstance(branches, list):
            self.schema("Expected value of type Array", _at(location, "Branches"))
        elif not branches:
            self.schema("Value cannot be empty", _at(location, "Branches"))
        else:
            for index, branch in enumerate(branches):
                where = _at(location, "Branches", index)
                if isinstance(branch, dict):
                    self._machine(branch, where, _BRANCH_FIELDS, top=False)
                else:
                    self.schema("Expected value of type Object", where)
        self._retry_and_catch(name, state, location, scope, language)

    def _check_map(
        self, name: str, state: Mapping[str, Any], location: str, scope: _Scope, language: str
    ) -> None:
        has_processor, has_iterator = "ItemProcessor" in state, "Iterator" in state
        if has_processor and has_iterator:
            self.schema(
                "There should only be one of the following fields: [ItemProcessor, Iterator]",
                location,
            )
        elif not (has_processor or has_iterator):
            self.schema(
                "This object should have only one of the following fields: "
                "[ItemProcessor, Iterator]",
                location,
            )
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                self._processor(state[key], _at(location, key), key == "ItemProcessor")
        if "ItemSelector" in state and "Parameters" in state:
            self.schema(
                "There should only be one of the following fields: [ItemSelector, Parameters]",
                location,
            )
        if "ItemSelector" in state:
            if language == JSONPATH:
                self._payload(state["ItemSelector"], _at(location, "ItemSelector"), True)
            else:
                self._jsonata(state["ItemSelector"], _at(location, "ItemSelector"))
        if language == JSONPATH and "ItemsPath" in state:
            self._reference_path(state["ItemsPath"], _at(location, "ItemsPath"))
        if language == JSONATA and "Items" in state:
            items = state["Items"]
            if isinstance(items, list | dict) or _is_expression(items):
                self._jsonata(items, _at(location, "Items"))
            else:
                self.schema("Expected value of type Array", _at(location, "Items"))
        self._bounded_pair(state, location, language, "MaxConcurrency", 0, None)
        self._bounded_pair(state, location, language, "ToleratedFailureCount", 0, None)
        self._bounded_pair(
            state, location, language, "ToleratedFailurePercentage", 0, 100, integer=False
        )
        if "Label" in state:
            self._label(state["Label"], _at(location, "Label"))
        if "ItemReader" in state:
            self._item_reader(state["ItemReader"], _at(location, "ItemReader"), language)
        if "ItemBatcher" in state:
            self._item_batcher(state["ItemBatcher"], _at(location, "ItemBatcher"), language)
        if "ResultWriter" in state:
            self._result_writer(state["ResultWriter"], _at(location, "ResultWriter"), language)
        self._retry_and_catch(name, state, location, scope, language)

    def _check_succeed(
        self, name: str, state: Mapping[str, Any], location: str, scope: _Scope, language: str
    ) -> None:
        """Succeed has nothing of its own beyond the shared fields."""

    def _check_fail(
        self, name: str, state: Mapping[str, Any], location: str, scope: _Scope, language: str
    ) -> None:
        for key in ("Error", "Cause"):
            path = f"{key}Path"
            if key in state and path in state:
                self.schema(
                    f"There should only be one of the following fields: [{key}, {path}]", location
                )
            if key in state:
                value = state[key]
                if language == JSONATA and _is_expression(value):
                    self._jsonata(value, _at(location, key))
                elif not isinstance(value, str):
                    self.schema("Expected value of type String", _at(location, key))
                elif language == JSONPATH and _looks_like_path(value):
                    self.report(
                        NO_PATH,
                        f"The value of field '{key}' looks like a path, but the field name does "
                        "not end with 'Path'",
                        _at(location, key),
                        severity=WARNING,
                    )
            if path in state and language == JSONPATH:
                self._path_or_intrinsic(state[path], _at(location, path))

    # ── Map's parts ──

    def _processor(self, processor: Any, location: str, item_processor: bool) -> None:
        if not isinstance(processor, dict):
            self.schema("Expected value of type Object", location)
            return
        allowed = _PROCESSOR_FIELDS if item_processor else _BRANCH_FIELDS
        self._machine(processor, location, allowed, top=False)
        if item_processor and "ProcessorConfig" in processor:
            self._processor_config(processor["ProcessorConfig"], _at(location, "ProcessorConfig"))

    def _processor_config(self, config: Any, location: str) -> None:
        if not isinstance(config, dict):
            self.schema("Expected value of type Object", location)
            return
        for key in config:
            if key not in ("Mode", "ExecutionType"):
                self.schema(f"Field '{key}' is not supported", location)
        self._choice_of(config, "Mode", ("INLINE", "DISTRIBUTED"), location)
        self._choice_of(config, "ExecutionType", ("STANDARD", "EXPRESS"), location)
        if config.get("Mode") == "DISTRIBUTED" and "ExecutionType" not in config:
            self.schema("These fields are required: [ExecutionType]", location)

    def _label(self, label: Any, location: str) -> None:
        if not isinstance(label, str):
            self.schema("Expected value of type String", location)
        elif len(label) > MAX_LABEL:
            self.report(
                INVALID_LABEL_NAME,
                f"Invalid Label name: Label '{label}' exceeds the {MAX_LABEL}-character limit",
                location,
            )
        elif any(c.isspace() or not c.isprintable() or c in _LABEL_FORBIDDEN for c in label):
            self.report(
                INVALID_LABEL_NAME,
                f"Invalid Label name: Label '{label}' contains a character that is not allowed",
                location,
            )
        elif label in self._labels:
            self.report(DUPLICATE_LABEL_NAME, f"Duplicate Label name: {label}", location)
        else:
            self._labels.add(label)

    def _item_reader(self, reader: Any, location: str, language: str) -> None:
        if not self._resource_holder(reader, location, language, required=True):
            return
        config = reader.get("ReaderConfig")
        if "ReaderConfig" not in reader:
            return
        where = _at(location, "ReaderConfig")
        if not isinstance(config, dict):
            self.schema("Expected value of type Object", where)
            return
        kinds = ("CSV", "JSON", "JSONL", "MANIFEST", "PARQUET")
        self._choice_of(config, "InputType", kinds, where)
        self._bounded_pair(config, where, language, "MaxItems", 0, None)

    def _item_batcher(self, batcher: Any, location: str, language: str) -> None:
        if not isinstance(batcher, dict):
            self.schema("Expected value of type Object", location)
            return
        self._bounded_pair(batcher, location, language, "MaxItemsPerBatch", 0, None)
        self._bounded_pair(batcher, location, language, "MaxInputBytesPerBatch", 0, None)
        if "BatchInput" in batcher:
            if language == JSONPATH:
                self._payload(batcher["BatchInput"], _at(location, "BatchInput"), True)
            else:
                self._jsonata(batcher["BatchInput"], _at(location, "BatchInput"))

    def _result_writer(self, writer: Any, location: str, language: str) -> None:
        if not self._resource_holder(writer, location, language, required=False):
            return
        if "WriterConfig" in writer:
            where = _at(location, "WriterConfig")
            config = writer["WriterConfig"]
            if not isinstance(config, dict):
                self.schema("Expected value of type Object", where)
                return
            self._choice_of(config, "OutputType", ("JSON", "JSONL"), where)
            self._choice_of(config, "Transformation", ("NONE", "COMPACT", "FLATTEN"), where)

    def _resource_holder(
        self, holder: Any, location: str, language: str, *, required: bool
    ) -> bool:
        """ItemReader and ResultWriter: a Resource and its Parameters or Arguments."""
        if not isinstance(holder, dict):
            self.schema("Expected value of type Object", location)
            return False
        if "Resource" in holder:
            resource = holder["Resource"]
            if not isinstance(resource, str):
                self.schema("Expected value of type String", _at(location, "Resource"))
            elif not _ARN.fullmatch(resource):
                self.schema("Value is not a valid resource ARN", _at(location, "Resource"))
        elif required:
            self.schema("These fields are required: [Resource]", location)
        if "Parameters" in holder:
            if language == JSONATA:
                self._wrong_language("Parameters", JSONATA, _at(location, "Parameters"))
            else:
                self._payload(holder["Parameters"], _at(location, "Parameters"), True)
        if "Arguments" in holder:
            if language == JSONPATH:
                self._wrong_language("Arguments", JSONPATH, location)
            else:
                self._jsonata(holder["Arguments"], _at(location, "Arguments"))
        return True
