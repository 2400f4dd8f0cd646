"""Versions and aliases through boto3."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import create_function, make_zip

V = "def handler(e, c):\n    return {tag!r}\n"


def code(tag: str) -> bytes:
    return make_zip({"lambda_function.py": V.format(tag=tag)})


def run(lam: Any, name: str, qualifier: str | None = None) -> tuple[str, Any]:
    args: dict[str, Any] = {"FunctionName": name}
    if qualifier:
        args["Qualifier"] = qualifier
    response = lam.invoke(**args)
    return response["ExecutedVersion"], json.loads(response["Payload"].read())


def update(lam: Any, name: str, tag: str) -> None:
    lam.update_function_code(FunctionName=name, ZipFile=code(tag))
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})


def code_of(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_publish_list_and_invoke_versions(lam: Any) -> None:
    name = create_function(lam, V.format(tag="one"))["FunctionName"]
    v1 = lam.publish_version(FunctionName=name, Description="first")
    assert v1["Version"] == "1"
    assert v1["FunctionArn"].endswith(f":{name}:1")
    assert v1["Description"] == "first"
    # Nothing changed: publishing again returns the same version.
    assert lam.publish_version(FunctionName=name)["Version"] == "1"
    update(lam, name, "two")
    with pytest.raises(ClientError) as exc:
        lam.publish_version(FunctionName=name, CodeSha256=v1["CodeSha256"])
    assert code_of(exc) == "InvalidParameterValueException"
    assert "is different from current CodeSHA256" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        lam.publish_version(FunctionName=name, RevisionId="not-current")
    assert code_of(exc) == "PreconditionFailedException"
    v2 = lam.publish_version(FunctionName=name)
    assert v2["Version"] == "2"

    listed = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in listed] == ["$LATEST", "1", "2"]
    # As Lambda's recorded answers show, list items leave the state fields to GetFunction.
    assert not any("State" in v or "LastUpdateStatus" in v for v in listed)
    # Among versions, $LATEST's ARN is qualified like the others' (elsewhere it is not).
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    assert [v["FunctionArn"] for v in listed] == [f"{arn}:$LATEST", f"{arn}:1", f"{arn}:2"]
    assert run(lam, name) == ("$LATEST", "two")
    assert run(lam, name, "1") == ("1", "one")
    assert run(lam, f"{name}:2") == ("2", "two")
    assert lam.get_function_configuration(FunctionName=name, Qualifier="1")["Version"] == "1"
    with pytest.raises(ClientError) as exc:
        run(lam, name, "9")
    assert code_of(exc) == "ResourceNotFoundException"
    everything = [
        (f["FunctionArn"], f["Version"])
        for f in lam.list_functions(FunctionVersion="ALL", MaxItems=1000)["Functions"]
        if f["FunctionName"] == name
    ]
    assert everything == [(f"{arn}:$LATEST", "$LATEST"), (f"{arn}:1", "1"), (f"{arn}:2", "2")]
    latest_only = [
        f["FunctionArn"]
        for f in lam.list_functions(MaxItems=1000)["Functions"]
        if f["FunctionName"] == name
    ]
    assert latest_only == [arn]


COUNTING = (
    "calls = 0\n"
    "def handler(e, c):\n"
    "    global calls\n"
    "    calls += 1\n"
    "    return [c.function_version, calls]\n"
)


def test_deploying_to_latest_keeps_published_versions_warm(lam: Any) -> None:
    name = create_function(lam, COUNTING, Publish=True)["FunctionName"]
    assert run(lam, name, "1")[1] == ["1", 1]
    assert run(lam, name)[1] == ["$LATEST", 1]
    lam.update_function_code(FunctionName=name, ZipFile=code("new"))
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    # $LATEST runs the new code; version 1's instance was not touched: its second call.
    assert run(lam, name)[1] == "new"
    assert run(lam, name, "1")[1] == ["1", 2]
    lam.delete_function(FunctionName=name)


def test_publishing_renews_the_revision_id_of_latest(lam: Any) -> None:
    name = create_function(lam, V.format(tag="a"))["FunctionName"]
    before = lam.get_function_configuration(FunctionName=name)["RevisionId"]
    assert lam.publish_version(FunctionName=name)["Version"] == "1"
    after = lam.get_function_configuration(FunctionName=name)["RevisionId"]
    assert after != before
    # Nothing changed since: the same version again, and $LATEST's revision stays.
    assert lam.publish_version(FunctionName=name, RevisionId=after)["Version"] == "1"
    with pytest.raises(ClientError) as exc:
        lam.update_function_code(FunctionName=name, ZipFile=code("b"), RevisionId=before)
    assert exc.value.response["Error"]["Code"] == "PreconditionFailedException"
    lam.delete_function(FunctionName=name)


def test_create_and_update_with_publish(lam: Any) -> None:
    created = create_function(lam, V.format(tag="p1"), Publish=True)
    assert created["Version"] == "1"
    name = created["FunctionName"]
    updated = lam.update_function_code(FunctionName=name, ZipFile=code("p2"), Publish=True)
    assert updated["Version"] == "2"
    assert run(lam, name, "2") == ("2", "p2")


def test_aliases_and_their_errors(lam: Any) -> None:
    name = create_function(lam, V.format(tag="a"), Publish=True)["FunctionName"]
    alias = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert alias["AliasArn"].endswith(f":{name}:live")
    arn = alias["AliasArn"].rsplit(":", 1)[0]
    assert run(lam, name, "live") == ("1", "a")
    with pytest.raises(ClientError) as exc:
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert code_of(exc) == "ResourceConflictException"
    with pytest.raises(ClientError) as exc:
        lam.create_alias(FunctionName=name, Name="ghost", FunctionVersion="7")
    assert code_of(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        lam.get_alias(FunctionName=name, Name="nope")
    assert exc.value.response["Error"]["Message"] == f"Cannot find alias arn: {arn}:nope"
    # A call or a read that names a missing alias does not find the function.
    for read in (lam.invoke, lam.get_function_configuration, lam.get_function):
        with pytest.raises(ClientError) as exc:
            read(FunctionName=name, Qualifier="nope")
        assert code_of(exc) == "ResourceNotFoundException"
        assert exc.value.response["Error"]["Message"] == f"Function not found: {arn}:nope"
    config = lam.get_function_configuration(FunctionName=name, Qualifier="live")
    assert config["FunctionArn"].endswith(":live") and config["Version"] == "1"

    update(lam, name, "b")
    lam.publish_version(FunctionName=name)
    current = lam.get_alias(FunctionName=name, Name="live")
    with pytest.raises(ClientError) as exc:
        lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2", RevisionId="x")
    assert code_of(exc) == "PreconditionFailedException"
    moved = lam.update_alias(
        FunctionName=name, Name="live", FunctionVersion="2", RevisionId=current["RevisionId"]
    )
    assert moved["FunctionVersion"] == "2"
    assert run(lam, name, "live") == ("2", "b")

    lam.create_alias(FunctionName=name, Name="old", FunctionVersion="1")
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]] == ["live", "old"]
    assert [
        a["Name"] for a in lam.list_aliases(FunctionName=name, FunctionVersion="1")["Aliases"]
    ] == ["old"]
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName=name, Qualifier="1")
    assert code_of(exc) == "ResourceConflictException"
    lam.delete_alias(FunctionName=name, Name="old")
    lam.delete_function(FunctionName=name, Qualifier="1")
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "2"]


def test_deletes_are_idempotent_but_not_of_latest_aliases_or_missing_functions(lam: Any) -> None:
    config = create_function(lam, V.format(tag="a"), Publish=True)
    name = config["FunctionName"]
    # A version or an alias that is already gone: Lambda answers 204, so a retry succeeds.
    lam.delete_function(FunctionName=name, Qualifier="7")
    lam.delete_alias(FunctionName=name, Name="never")
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "1"]
    refused = {
        "$LATEST": "$LATEST version cannot be deleted without deleting the function.",
        "live": "Deletion of aliases is not currently supported.",
    }
    for qualifier, message in refused.items():
        with pytest.raises(ClientError) as exc:
            lam.delete_function(FunctionName=name, Qualifier=qualifier)
        assert code_of(exc) == "InvalidParameterValueException"
        assert exc.value.response["Error"]["Message"] == message
    missing = name + "-missing"
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"] + "-missing"
    for delete, args in (
        (lam.delete_function, {"Qualifier": "1"}),
        (lam.delete_alias, {"Name": "live"}),
    ):
        with pytest.raises(ClientError) as exc:
            delete(FunctionName=missing, **args)
        assert code_of(exc) == "ResourceNotFoundException"
        assert exc.value.response["Error"]["Message"] == f"Function not found: {arn}"
    assert run(lam, name, "1") == ("1", "a")


def test_routing_weights_split_traffic(lam: Any) -> None:
    name = create_function(lam, V.format(tag="blue"), Publish=True)["FunctionName"]
    update(lam, name, "green")
    lam.publish_version(FunctionName=name)
    lam.create_alias(
        FunctionName=name,
        Name="canary",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}},
    )
    seen = Counter(run(lam, name, "canary")[0] for _ in range(400))
    assert set(seen) == {"1", "2"}
    # 400 draws at p=0.3: the 2-version share is within 0.3 +/- 0.1 with overwhelming odds.
    assert 0.2 < seen["2"] / 400 < 0.4
    with pytest.raises(ClientError) as exc:
        lam.update_alias(
            FunctionName=name,
            Name="canary",
            RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}},
        )
    assert code_of(exc) == "InvalidParameterValueException"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_canary_split_over_10000_invocations_is_within_2_points(lam: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    name = create_function(lam, V.format(tag="stable"), Publish=True)["FunctionName"]
    update(lam, name, "canary")
    lam.publish_version(FunctionName=name)
    lam.create_alias(
        FunctionName=name,
        Name="prod",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
    )

    def executed(_: int) -> str:
        return str(lam.invoke(FunctionName=name, Qualifier="prod")["ExecutedVersion"])

    with ThreadPoolExecutor(8) as pool:
        seen = Counter(pool.map(executed, range(10_000)))
    assert abs(seen["2"] / 10_000 - 0.1) <= 0.02
    assert seen["1"] + seen["2"] == 10_000
