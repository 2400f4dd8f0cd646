"""The tables behind CreateStateMachine's checks: AWS's diagnostic codes, limits and fields.

The codes and severities a `Diagnostic` carries, the limits AWS puts on names and numbers,
the fields each state type (and each Retry, Catch, branch and item processor) accepts in
either query language, and the formats of timestamps, ARNs and Map labels. Like the
messages (see `validate`), they follow what AWS answers, as users quote it and as the API
reference lists it. The checks in `field_checks`, `machine_checks`, `retry_checks` and
`state_checks` read these tables.
"""

from __future__ import annotations

import re

JSONPATH = "JSONPath"
JSONATA = "JSONata"

INVALID_JSON = "INVALID_JSON_DESCRIPTION"
MISSING_DESCRIPTION = "MISSING_DESCRIPTION"
SCHEMA = "SCHEMA_VALIDATION_FAILED"
MISSING_TARGET = "MISSING_TRANSITION_TARGET"
MISSING_END = "MISSING_END_STATE"
DUPLICATE_STATE_NAME = "DUPLICATE_STATE_NAME"
INVALID_STATE_NAME = "INVALID_STATE_NAME"
DUPLICATE_LABEL_NAME = "DUPLICATE_LABEL_NAME"
INVALID_LABEL_NAME = "INVALID_LABEL_NAME"
TOO_DEEPLY_NESTED = "TOO_DEEPLY_NESTED"
INVALID_JSONATA = "INVALID_JSONATA_EXPRESSION"
INVALID_VARIABLE_NAME = "INVALID_VARIABLE_NAME"
RESERVED_VARIABLE_NAME = "RESERVED_VARIABLE_NAME"
NO_DOLLAR = "NO_DOLLAR"
NO_PATH = "NO_PATH"
PASS_RESULT_IS_STATIC = "PASS_RESULT_IS_STATIC"

ERROR = "ERROR"
WARNING = "WARNING"

MAX_STATE_NAME = 80
MAX_LABEL = 40
#: Upper bound of Seconds, TimeoutSeconds, HeartbeatSeconds, IntervalSeconds, MaxAttempts.
MAX_SECONDS = 99_999_999
MAX_DELAY_SECONDS = 31_622_400


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_COMMON = ("Type", "Comment", "QueryLanguage")
_FLOW = "InputPath OutputPath Output Assign "
_RESULT = "ResultPath ResultSelector Retry Catch Next End "
#: The fields each state type accepts, in either language (AWS answers "Field 'X' is not
#: supported" at the state for any other one). Measured against AWS by others; see module doc.
_FIELDS: dict[str, frozenset[str]] = {
    kind: _names(names)
    for kind, names in {
        "Pass": _FLOW + "Result ResultPath Parameters Next End",
        "Task": _FLOW + _RESULT + "Parameters Arguments Resource Credentials TimeoutSeconds "
        "TimeoutSecondsPath HeartbeatSeconds HeartbeatSecondsPath",
        "Wait": _FLOW + "Seconds SecondsPath Timestamp TimestampPath Next End",
        "Choice": _FLOW + "Choices Default",
        "Parallel": _FLOW + _RESULT + "Parameters Arguments Branches",
        "Map": _FLOW + _RESULT + "Parameters ItemProcessor Iterator ItemsPath Items "
        "ItemSelector ItemReader ItemBatcher ResultWriter MaxConcurrency MaxConcurrencyPath "
        "ToleratedFailurePercentage ToleratedFailurePercentagePath ToleratedFailureCount "
        "ToleratedFailureCountPath Label",
        "Succeed": "InputPath OutputPath Output",
        "Fail": "Error Cause ErrorPath CausePath",
    }.items()
}
_TYPES = tuple(_FIELDS)
_FLOWING = frozenset(("Pass", "Task", "Wait", "Parallel", "Map"))

_JSONPATH_ONLY = _names(
    "InputPath OutputPath ResultPath ResultSelector Parameters Result ItemsPath "
    "TimeoutSecondsPath HeartbeatSecondsPath SecondsPath TimestampPath MaxConcurrencyPath "
    "ToleratedFailurePercentagePath ToleratedFailureCountPath ErrorPath CausePath"
)
_JSONATA_ONLY = frozenset(("Arguments", "Output", "Items"))

_RETRIER_FIELDS = _names(
    "ErrorEquals IntervalSeconds MaxAttempts BackoffRate MaxDelaySeconds JitterStrategy Comment"
)
_CATCHER_FIELDS = _names("ErrorEquals Next ResultPath Output Assign Comment")
_TOP_FIELDS = frozenset(
    ("StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage")
)
_BRANCH_FIELDS = frozenset(("StartAt", "States", "Comment"))
_PROCESSOR_FIELDS = frozenset(("StartAt", "States", "Comment", "ProcessorConfig"))

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_ARN = re.compile(r"arn:[^:\s]+:[^:\s]+:[^:\s]*:[^:\s]*:\S+")
#: Characters a Map Label may not contain (whitespace and controls are checked apart).
_LABEL_FORBIDDEN = frozenset('<>{}[]?*"#%\\^|~`$&,;:/')
