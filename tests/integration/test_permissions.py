"""Function resource policies through boto3 against a real server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import create_function, unique

ACCOUNT = "000000000000"
REGION = "us-east-1"

HELLO = """
def handler(event, context):
    return {"ok": True}
"""


def fn_arn(name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def allow(client: Any, name: str, sid: str, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = client.add_permission(
        FunctionName=name,
        StatementId=sid,
        Action="lambda:InvokeFunction",
        Principal=extra.pop("Principal", "s3.amazonaws.com"),
        **extra,
    )
    return result


def statements(client: Any, name: str, **extra: Any) -> list[dict[str, Any]]:
    policy = json.loads(client.get_policy(FunctionName=name, **extra)["Policy"])
    assert policy["Version"] == "2012-10-17" and policy["Id"] == "default"
    found: list[dict[str, Any]] = policy["Statement"]
    return found


def test_add_get_remove_round_trip(lam: Any) -> None:
    name = create_function(lam, HELLO, wait=False)["FunctionName"]
    added = allow(lam, name, "s3", SourceArn="arn:aws:s3:::bucket", SourceAccount="111122223333")
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert json.loads(added["Statement"]) == {
        "Sid": "s3",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": fn_arn(name),
        "Condition": {
            "StringEquals": {"AWS:SourceAccount": "111122223333"},
            "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"},
        },
    }
    allow(lam, fn_arn(name), "account", Principal="111122223333")
    found = statements(lam, name)
    assert [s["Sid"] for s in found] == ["s3", "account"]
    assert found[1]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}

    removed = lam.remove_permission(FunctionName=name, StatementId="s3")
    assert removed["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert [s["Sid"] for s in statements(lam, name)] == ["account"]
    lam.remove_permission(FunctionName=name, StatementId="account")
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName=name)
    assert error_of(exc) == (
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
        404,
    )


def test_errors_in_lambdas_words(lam: Any) -> None:
    name = create_function(lam, HELLO, wait=False)["FunctionName"]
    allow(lam, name, "dup")
    cases = [
        (
            lambda: allow(lam, name, "dup"),
            (
                "ResourceConflictException",
                "The statement id (dup) provided already exists. Please provide a new "
                "statement id, or remove the existing statement.",
                409,
            ),
        ),
        (
            lambda: lam.remove_permission(FunctionName=name, StatementId="nope"),
            ("ResourceNotFoundException", "Statement nope is not found in resource policy.", 404),
        ),
        (
            lambda: allow(lam, "no-such-function", "x"),
            ("ResourceNotFoundException", f"Function not found: {fn_arn('no-such-function')}", 404),
        ),
        (
            lambda: allow(lam, name, "x", Qualifier="$LATEST"),
            (
                "InvalidParameterValueException",
                "We currently do not support adding policies for $LATEST.",
                400,
            ),
        ),
        (
            lambda: allow(lam, name, "x", Principal="someone"),
            (
                "InvalidParameterValueException",
                "The provided principal was invalid. Please check the principal and try again.",
                400,
            ),
        ),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == expected


def test_revision_ids_guard_concurrent_edits(lam: Any) -> None:
    name = create_function(lam, HELLO, wait=False)["FunctionName"]
    allow(lam, name, "a")
    revision = lam.get_policy(FunctionName=name)["RevisionId"]
    allow(lam, name, "b", RevisionId=revision)
    with pytest.raises(ClientError) as exc:
        lam.remove_permission(FunctionName=name, StatementId="a", RevisionId=revision)
    assert error_of(exc)[0] == "PreconditionFailedException"
    current = lam.get_policy(FunctionName=name)["RevisionId"]
    lam.remove_permission(FunctionName=name, StatementId="a", RevisionId=current)


def test_a_policy_shares_the_revision_id_of_its_function_version_or_alias(lam: Any) -> None:
    name = create_function(lam, HELLO, Publish=True)["FunctionName"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    for qualifier, read in (
        (None, lambda: lam.get_function_configuration(FunctionName=name)["RevisionId"]),
        (
            "1",
            lambda: lam.get_function_configuration(FunctionName=name, Qualifier="1")["RevisionId"],
        ),
        ("live", lambda: lam.get_alias(FunctionName=name, Name="live")["RevisionId"]),
    ):
        where = {"Qualifier": qualifier} if qualifier else {}
        before = read()
        # The target's RevisionId is the precondition, even before it has a policy...
        allow(lam, name, "a", RevisionId=before, **where)
        # ...a change to the policy renews it, and GetPolicy answers it.
        after = read()
        assert after != before
        assert lam.get_policy(FunctionName=name, **where)["RevisionId"] == after
        with pytest.raises(ClientError) as exc:
            lam.remove_permission(FunctionName=name, StatementId="a", RevisionId=before, **where)
        assert error_of(exc) == (
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id. Call the "
            "GetFunction/GetAlias API to retrieve the latest Revision Id",
            412,
        )
        lam.remove_permission(FunctionName=name, StatementId="a", RevisionId=after, **where)
        assert read() not in (before, after)
    # A policy change is no change to publish: PublishVersion still answers version 1.
    allow(lam, name, "b")
    assert lam.publish_version(FunctionName=name)["Version"] == "1"


def test_missing_versions_and_aliases_in_lambdas_words(lam: Any) -> None:
    name = create_function(lam, HELLO)["FunctionName"]
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName=name, Qualifier="77")
    assert error_of(exc) == (
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
        404,
    )
    for call in (
        lambda: allow(lam, f"{name}:nope", "x"),
        lambda: lam.remove_permission(FunctionName=name, StatementId="x", Qualifier="nope"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == (
            "ResourceNotFoundException",
            f"Cannot find alias arn: {fn_arn(name, 'nope')}",
            404,
        )
    with pytest.raises(ClientError) as exc:
        allow(lam, name, "url", FunctionUrlAuthType="NONE")  # (lambda:InvokeFunction)
    assert error_of(exc) == (
        "InvalidParameterValueException",
        "FunctionUrlAuthType is only supported for lambda:InvokeFunctionUrl action",
        400,
    )


def test_a_deleted_function_takes_its_policy_with_it(lam: Any) -> None:
    name = create_function(lam, HELLO)["FunctionName"]
    allow(lam, name, "s3")
    lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName=name)
    assert error_of(exc)[1] == f"Function not found: {fn_arn(name)}"
    create_function(lam, HELLO, name=name, wait=False)
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName=name)
    assert error_of(exc)[1] == "The resource you requested does not exist."
    allow(lam, name, "s3")  # the statement id is free again


def test_versions_and_aliases_have_their_own_policies(lam: Any) -> None:
    name = create_function(lam, HELLO)["FunctionName"]
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    allow(lam, name, "plain")
    allow(lam, name, "on-version", Qualifier=version)
    allow(lam, f"{name}:live", "on-alias")
    assert [s["Resource"] for s in statements(lam, name)] == [fn_arn(name)]
    assert [s["Resource"] for s in statements(lam, name, Qualifier=version)] == [
        fn_arn(name, version)
    ]
    assert [s["Sid"] for s in statements(lam, fn_arn(name, "live"))] == ["on-alias"]
    with pytest.raises(ClientError) as exc:
        allow(lam, name, "x", Qualifier="no-such-alias")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_policies_survive_a_restart(new_server: Any, tmp_path: Any) -> None:
    data = tmp_path / "data"
    first = new_server(data)
    lam = first.client()
    name = unique()
    create_function(lam, HELLO, name=name, wait=False)
    added = allow(lam, name, "kept")
    revision = lam.get_policy(FunctionName=name)["RevisionId"]
    first.stop()
    lam = new_server(data).client()
    got = lam.get_policy(FunctionName=name)
    assert got["RevisionId"] == revision
    assert json.loads(got["Policy"])["Statement"] == [json.loads(added["Statement"])]
