"""How a `FunctionName` is read: names, partial ARNs, ARNs, and ARNs naming elsewhere."""

from __future__ import annotations

import pytest

from stratus.errors import (
    AccessDeniedException,
    InvalidParameterValueException,
    ResourceNotFoundException,
)
from stratus.functions.model import FunctionRef, Home, parse_function_ref
from stratus.wire.types import Principal, RequestContext

HOME = Home("us-east-1", "000000000000")
ARN = "arn:aws:lambda:us-east-1:000000000000:function:f"


def request(operation: str) -> RequestContext:
    principal = Principal("AKIAEXAMPLE", "000000000000", "arn:aws:iam::000000000000:root")
    return RequestContext("req-1", "lambda", operation, principal, "us-east-1")


@pytest.mark.parametrize(
    ("value", "qualifier", "expected"),
    [
        ("f", None, FunctionRef("f", None)),
        ("f:live", None, FunctionRef("f", "live")),
        ("f", "7", FunctionRef("f", "7")),
        ("000000000000:function:f", None, FunctionRef("f", None)),
        ("000000000000:function:f:3", None, FunctionRef("f", "3")),
        (ARN, None, FunctionRef("f", None)),
        (f"{ARN}:$LATEST", "$LATEST", FunctionRef("f", "$LATEST")),
    ],
)
def test_names_and_arns_of_this_region_and_account_are_read(
    value: str, qualifier: str | None, expected: FunctionRef
) -> None:
    assert parse_function_ref(value, qualifier, home=HOME) == expected


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:lambda:eu-west-1:000000000000:function:f",
        "arn:aws:lambda:eu-west-1:000000000000:function:f:1",
    ],
)
def test_an_arn_of_another_region_is_not_reachable(value: str) -> None:
    with pytest.raises(ResourceNotFoundException) as exc:
        parse_function_ref(value, home=HOME, ctx=request("GetFunction"))
    assert exc.value.status == 404
    assert exc.value.message == (
        "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"
    )


@pytest.mark.parametrize(
    ("value", "qualifier", "resource"),
    [
        (
            "arn:aws:lambda:us-east-1:999999999999:function:f",
            None,
            "arn:aws:lambda:us-east-1:999999999999:function:f",
        ),
        # A partial ARN is resolved in this region; a qualifier is part of the resource.
        ("999999999999:function:f", "2", "arn:aws:lambda:us-east-1:999999999999:function:f:2"),
        # Both elsewhere: authorization is refused before the region is looked at.
        (
            "arn:aws:lambda:eu-west-1:999999999999:function:f:live",
            None,
            "arn:aws:lambda:eu-west-1:999999999999:function:f:live",
        ),
    ],
)
def test_an_arn_of_another_account_is_denied_naming_caller_action_and_resource(
    value: str, qualifier: str | None, resource: str
) -> None:
    with pytest.raises(AccessDeniedException) as exc:
        parse_function_ref(value, qualifier, home=HOME, ctx=request("GetFunctionConfiguration"))
    assert exc.value.status == 403
    assert exc.value.code == "AccessDeniedException"
    action = "lambda:GetFunctionConfiguration"
    assert exc.value.message == (
        f"User: arn:aws:iam::000000000000:root is not authorized to perform: {action} on "
        f"resource: {resource} because no resource-based policy allows the {action} action"
    )


@pytest.mark.parametrize("operation", ["Invoke", "InvokeAsync"])
def test_invoke_operations_are_denied_as_lambda_invoke_function(operation: str) -> None:
    with pytest.raises(AccessDeniedException) as exc:
        parse_function_ref("999999999999:function:f", home=HOME, ctx=request(operation))
    assert "perform: lambda:InvokeFunction on" in exc.value.message


def test_without_a_request_the_node_account_invokes() -> None:
    with pytest.raises(AccessDeniedException) as exc:
        parse_function_ref("arn:aws:lambda:us-east-1:999999999999:function:f", home=HOME)
    assert exc.value.message.startswith(
        "User: arn:aws:iam::000000000000:root is not authorized to perform: "
        "lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:999999999999:function:f"
    )


def test_the_other_place_is_refused_before_the_name_is_checked() -> None:
    with pytest.raises(ResourceNotFoundException):
        parse_function_ref(f"arn:aws:lambda:eu-west-1:000000000000:function:{'x' * 65}", home=HOME)
    with pytest.raises(InvalidParameterValueException, match="64"):
        parse_function_ref(f"arn:aws:lambda:us-east-1:000000000000:function:{'x' * 65}", home=HOME)


def test_without_a_home_nothing_is_checked() -> None:
    ref = parse_function_ref("arn:aws:lambda:eu-west-1:999999999999:function:f", home=None)
    assert ref == FunctionRef("f", None)


@pytest.mark.parametrize(
    ("value", "held"),
    [
        ("f", True),
        (ARN, True),
        ("000000000000:function:f", True),
        ("arn:aws:lambda:eu-west-1:000000000000:function:f", False),
        ("arn:aws:lambda:us-east-1:999999999999:function:f", False),
        ("999999999999:function:f", False),
        # Not a function reference at all: for other checks to judge.
        ("arn:aws:sqs:eu-west-1:999999999999:queue", True),
    ],
)
def test_home_holds_only_its_own_region_and_account(value: str, held: bool) -> None:
    assert HOME.holds(value) is held
