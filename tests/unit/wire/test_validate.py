"""Model constraint checks with AWS's wording."""

from __future__ import annotations

from typing import Any

import pytest

from stratus.errors import ValidationException
from stratus.wire.model import load_service_model
from stratus.wire.validate import RequestValidator, compile_pattern

LAMBDA = load_service_model("lambda")
LOGS = load_service_model("logs")
ROLE = "arn:aws:iam::123456789012:role/r"


def _errors(operation: str, params: dict[str, Any], model: Any = LAMBDA) -> str:
    with pytest.raises(ValidationException) as caught:
        RequestValidator().validate(model.operation_model(operation), params)
    assert caught.value.status == 400
    return caught.value.message


def test_valid_parameters_pass() -> None:
    params = {"FunctionName": "my-fn", "Role": ROLE, "Code": {"ZipFile": b"PK"}, "MemorySize": 512}

    RequestValidator().validate(LAMBDA.operation_model("CreateFunction"), params)


def test_a_pattern_violation_quotes_value_location_and_pattern() -> None:
    pattern = (
        LAMBDA.operation_model("GetFunction")
        .input_shape.members["FunctionName"]
        .metadata["pattern"]
    )

    message = _errors("GetFunction", {"FunctionName": "a b"})

    assert message == (
        "1 validation error detected: Value 'a b' at 'functionName' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {pattern}"
    )


def test_a_missing_required_member_is_null() -> None:
    message = _errors("CreateFunction", {"FunctionName": "f", "Code": {}})

    assert message == (
        "1 validation error detected: Value null at 'role' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_all_violations_are_collected_and_counted() -> None:
    message = _errors(
        "CreateFunction",
        {"FunctionName": "f" * 141, "Code": {}, "MemorySize": 99999, "Timeout": 0},
    )

    assert message.startswith("4 validation errors detected: ")
    violations = message.removeprefix("4 validation errors detected: ").split("; ")
    assert (
        "Value null at 'role' failed to satisfy constraint: Member must not be null" in violations
    )
    assert (
        f"Value '{'f' * 141}' at 'functionName' failed to satisfy constraint: "
        "Member must have length less than or equal to 140"
    ) in violations
    assert (
        "Value '99999' at 'memorySize' failed to satisfy constraint: "
        "Member must have value less than or equal to 32768"
    ) in violations
    assert (
        "Value '0' at 'timeout' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    ) in violations


def test_a_too_short_string_reports_its_minimum() -> None:
    message = _errors("CreateLogGroup", {"logGroupName": ""}, LOGS)

    assert (
        "Value '' at 'logGroupName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    ) in message


def test_enum_violations_list_the_allowed_values() -> None:
    message = _errors("Invoke", {"FunctionName": "f", "InvocationType": "Sometimes"})

    assert message == (
        "1 validation error detected: Value 'Sometimes' at 'invocationType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
    )


def test_nested_members_are_named_with_dots() -> None:
    message = _errors(
        "CreateFunction",
        {
            "FunctionName": "f",
            "Role": ROLE,
            "Code": {},
            "EphemeralStorage": {},
            "TracingConfig": {"Mode": "Loud"},
        },
    )

    assert "Value null at 'ephemeralStorage.size' failed" in message
    assert "Value 'Loud' at 'tracingConfig.mode' failed" in message


def test_scalar_list_members_are_reported_against_the_list() -> None:
    message = _errors(
        "PublishLayerVersion",
        {
            "LayerName": "l",
            "Content": {},
            "CompatibleArchitectures": ["x86_64", "sparc"],
        },
    )

    assert message == (
        "1 validation error detected: Value '[x86_64, sparc]' at 'compatibleArchitectures' "
        "failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy "
        "enum value set: [x86_64, arm64], Member must not be null]"
    )


def test_a_list_lists_a_minimum_of_0_and_its_not_null() -> None:
    # Word for word as real CreateFunctionUrlConfig answers give it (OPTIONS is 7 long).
    message = _errors(
        "CreateFunctionUrlConfig",
        {
            "FunctionName": "f",
            "AuthType": "NONE",
            "Cors": {"AllowMethods": ["GET", "POST", "OPTIONS"]},
        },
    )

    assert message == (
        "1 validation error detected: Value '[GET, POST, OPTIONS]' at 'cors.allowMethods' "
        "failed to satisfy constraint: Member must satisfy constraint: [Member must have "
        "length less than or equal to 6, Member must have length greater than or equal to 0, "
        "Member must satisfy regular expression pattern: .*, Member must not be null]"
    )


def test_a_pattern_python_cannot_read_is_still_listed() -> None:
    message = _errors(
        "TagResource",
        {"Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "Tags": {"k": "v" * 300}},
    )

    assert (
        "Map value must satisfy constraint: [Member must have length less than or equal" in message
    )
    assert "Member must satisfy regular expression pattern: ([\\p{L}\\p{Z}" in message


def test_list_constraints_are_listed_maximum_first() -> None:
    # As a real UpdateFunctionConfiguration answer words a bad layer ARN.
    message = _errors("UpdateFunctionConfiguration", {"FunctionName": "f", "Layers": ["x"]})

    assert message.startswith(
        "1 validation error detected: Value '[x]' at 'layers' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must have length less than or equal to 2048, "
        "Member must have length greater than or equal to 1, Member must satisfy regular "
        "expression pattern: "
    )


def test_structure_list_members_are_located_by_position() -> None:
    message = _errors(
        "CreateFunction",
        {
            "FunctionName": "f",
            "Role": ROLE,
            "Code": {},
            "FileSystemConfigs": [{"Arn": "x", "LocalMountPath": "/mnt/a"}],
        },
    )

    assert "at 'fileSystemConfigs.1.member.arn' failed to satisfy constraint" in message


def test_list_lengths_are_checked() -> None:
    message = _errors(
        "CreateFunction",
        {"FunctionName": "f", "Role": ROLE, "Code": {}, "Architectures": ["x86_64", "arm64"]},
    )

    assert (
        "Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: "
        "Member must have length less than or equal to 1"
    ) in message


def test_sensitive_values_are_not_echoed() -> None:
    message = _errors(
        "CreateFunction",
        {
            "FunctionName": "f",
            "Role": ROLE,
            "Code": {},
            "Environment": {"Variables": {"1-bad key": "hunter2"}},
        },
    )

    assert "hunter2" not in message and "1-bad key" not in message
    assert "Value at 'environment.variables' failed to satisfy constraint: Map keys must" in message


def test_map_entries_are_reported_once_against_the_whole_map() -> None:
    # Lambda's words for an out-of-range routing weight: the whole map, and every
    # constraint of its values (maximum first), broken or not.
    weights = {"2": 2.0, "3": 0.5, "4": 7.0}
    message = _errors(
        "CreateAlias",
        {
            "FunctionName": "f",
            "Name": "live",
            "FunctionVersion": "1",
            "RoutingConfig": {"AdditionalVersionWeights": weights},
        },
    )

    assert message == (
        "1 validation error detected: Value '{2=2.0, 3=0.5, 4=7.0}' at "
        "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value "
        "must satisfy constraint: [Member must have value less than or equal to 1.0, "
        "Member must have value greater than or equal to 0.0]"
    )


def test_java_style_lookbehinds_work() -> None:
    message = _errors(
        "CreateFunction",
        {"FunctionName": "f", "Role": ROLE, "Code": {"S3Bucket": "bucket.", "S3Key": "k"}},
    )

    assert message.startswith("1 validation error detected: Value 'bucket.' at 'code.s3Bucket'")


def test_patterns_python_cannot_read_are_skipped() -> None:
    assert compile_pattern(r"\p{L}+") is None
    assert compile_pattern(r"[a-z]+") is not None


def test_patterns_must_match_the_whole_value() -> None:
    # The Qualifier pattern would match "1" inside "1 2" with re.match or re.search.
    message = _errors("GetFunction", {"FunctionName": "f", "Qualifier": "1 2"})

    assert "Value '1 2' at 'qualifier'" in message


def test_operations_without_constraints_cost_nothing() -> None:
    validator = RequestValidator()
    operation = LAMBDA.operation_model("GetAccountSettings")

    validator.validate(operation, {})

    assert validator._checks["GetAccountSettings"] is None
