"""The Lambda control plane through boto3: create, read, list, update, delete, errors."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import signal
import urllib.error
import urllib.request
import zipfile
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, ROLE, SECRET_KEY, create_function, make_zip, unique

#: The node's region, as function ARNs name it.
ARN_PREFIX = "arn:aws:lambda:us-east-1"

HELLO = """
def handler(event, context):
    return {"ok": True}
"""


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_create_reports_pending_then_active_with_aws_fields(lam: Any) -> None:
    name = unique()
    zip_bytes = make_zip({"lambda_function.py": HELLO})
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": zip_bytes},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["State"] == "Pending"
    assert created["StateReason"] == "The function is being created."
    assert created["StateReasonCode"] == "Creating"
    assert "LastUpdateStatus" not in created  # as in Lambda's answers: no update yet
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    assert created["CodeSize"] == len(zip_bytes)
    assert created["Timeout"] == 3 and created["MemorySize"] == 128
    assert created["Version"] == "$LATEST"
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", created["LastModified"])
    assert created["EphemeralStorage"] == {"Size": 512}
    assert created["PackageType"] == "Zip"

    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    active = lam.get_function_configuration(FunctionName=name)
    assert active["State"] == "Active"
    assert active["LastUpdateStatus"] == "Successful"
    assert active["RevisionId"] != created["RevisionId"]
    assert "StateReason" not in active


def test_get_function_returns_code_location_that_downloads_the_zip(lam: Any) -> None:
    zip_bytes = make_zip({"lambda_function.py": HELLO})
    name = unique()
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": zip_bytes},
        Tags={"team": "core"},
    )
    got = lam.get_function(FunctionName=name)
    assert got["Configuration"]["FunctionName"] == name
    assert got["Tags"] == {"team": "core"}
    assert got["Code"]["RepositoryType"] == "S3"
    with urllib.request.urlopen(got["Code"]["Location"], timeout=10) as response:
        assert response.read() == zip_bytes
    tampered = got["Code"]["Location"].replace("signature=", "signature=0")
    with pytest.raises(urllib.error.HTTPError) as http_error:
        urllib.request.urlopen(tampered, timeout=10)
    assert http_error.value.code == 403
    http_error.value.close()


def test_function_names_arns_and_partial_arns_all_work(lam: Any) -> None:
    config = create_function(lam, HELLO)
    name, arn = config["FunctionName"], config["FunctionArn"]
    for ref in (name, arn, f"000000000000:function:{name}", f"{arn}:$LATEST"):
        assert lam.get_function_configuration(FunctionName=ref)["FunctionName"] == name


def every_call_naming(ref: str) -> list[tuple[str, dict[str, Any]]]:
    """Each Lambda operation that takes a function name, with `ref` as that name."""
    zip_bytes = make_zip({"lambda_function.py": HELLO})
    code = {"Runtime": "python3.12", "Role": ROLE, "Handler": "lambda_function.handler"}
    calls: list[tuple[str, dict[str, Any]]] = [
        ("create_function", {**code, "Code": {"ZipFile": zip_bytes}}),
        ("get_function", {}),
        ("get_function_configuration", {}),
        ("update_function_code", {"ZipFile": zip_bytes}),
        ("update_function_configuration", {"Description": "moved"}),
        ("publish_version", {}),
        ("list_versions_by_function", {}),
        ("create_alias", {"Name": "live", "FunctionVersion": "$LATEST"}),
        ("get_alias", {"Name": "live"}),
        ("update_alias", {"Name": "live", "Description": "moved"}),
        ("delete_alias", {"Name": "live"}),
        ("list_aliases", {}),
        ("add_permission", {"StatementId": "s", "Action": "lambda:InvokeFunction"}),
        ("remove_permission", {"StatementId": "s"}),
        ("get_policy", {}),
        ("invoke", {}),
        ("invoke", {"InvocationType": "Event"}),
        ("invoke_async", {"InvokeArgs": b"{}"}),
        ("put_function_concurrency", {"ReservedConcurrentExecutions": 1}),
        ("get_function_concurrency", {}),
        ("delete_function_concurrency", {}),
        ("put_provisioned_concurrency_config", {"ProvisionedConcurrentExecutions": 1}),
        ("get_provisioned_concurrency_config", {"Qualifier": "1"}),
        ("delete_provisioned_concurrency_config", {"Qualifier": "1"}),
        ("list_provisioned_concurrency_configs", {}),
        ("put_function_event_invoke_config", {"MaximumRetryAttempts": 0}),
        ("update_function_event_invoke_config", {"MaximumRetryAttempts": 0}),
        ("get_function_event_invoke_config", {}),
        ("delete_function_event_invoke_config", {}),
        ("list_function_event_invoke_configs", {}),
        ("delete_function", {}),
    ]
    extra = {
        "add_permission": {"Principal": "s3.amazonaws.com"},
        "put_provisioned_concurrency_config": {"Qualifier": "1"},
    }
    named = [(op, {"FunctionName": ref, **params, **extra.get(op, {})}) for op, params in calls]
    tagging = [
        ("tag_resource", {"Resource": ref, "Tags": {"a": "1"}}),
        ("untag_resource", {"Resource": ref, "TagKeys": ["a"]}),
        ("list_tags", {"Resource": ref}),
    ]
    return named + tagging if ref.startswith("arn:") else named


def assert_untouched(lam: Any, name: str) -> None:
    """Nothing a refused call could have done to the local function of that name."""
    assert lam.get_function_configuration(FunctionName=name)["Description"] == ""
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST"]
    assert lam.list_aliases(FunctionName=name)["Aliases"] == []
    assert "Concurrency" not in lam.get_function(FunctionName=name)
    assert lam.list_tags(Resource=f"{ARN_PREFIX}:000000000000:function:{name}")["Tags"] == {}
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName=name)
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_arns_of_another_region_are_not_reachable_by_any_operation(lam: Any) -> None:
    name = create_function(lam, HELLO)["FunctionName"]
    for ref in (
        f"arn:aws:lambda:eu-west-1:000000000000:function:{name}",
        f"arn:aws:lambda:eu-west-1:000000000000:function:{name}:1",
    ):
        for operation, params in every_call_naming(ref):
            with pytest.raises(ClientError) as exc:
                getattr(lam, operation)(**params)
            assert error_of(exc) == (
                "ResourceNotFoundException",
                "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')",
                404,
            ), operation
    assert_untouched(lam, name)


def test_arns_of_another_account_are_denied_by_every_operation(lam: Any) -> None:
    name = create_function(lam, HELLO)["FunctionName"]
    actions = {"invoke": "InvokeFunction", "invoke_async": "InvokeFunction"}
    for ref in (f"{ARN_PREFIX}:999999999999:function:{name}", f"999999999999:function:{name}"):
        for operation, params in every_call_naming(ref):
            with pytest.raises(ClientError) as exc:
                getattr(lam, operation)(**params)
            code, message, status = error_of(exc)
            assert (code, status) == ("AccessDeniedException", 403), operation
            action = "lambda:" + actions.get(operation, exc.value.operation_name)
            resource = f"{ARN_PREFIX}:999999999999:function:{name}"
            assert message.startswith(
                f"User: arn:aws:iam::000000000000:root is not authorized to perform: {action} "
                f"on resource: {resource}"
            ), (operation, message)
            assert message.endswith(f"because no resource-based policy allows the {action} action")
    assert_untouched(lam, name)


def test_the_node_region_counts_not_the_region_a_client_signs_for(server: Any, lam: Any) -> None:
    arn = create_function(lam, HELLO)["FunctionArn"]
    elsewhere = boto3.client(
        "lambda",
        endpoint_url=server.endpoint,
        region_name="eu-west-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}),
    )
    # The ARNs the node hands out work whatever region the client is set to.
    assert elsewhere.invoke(FunctionName=arn)["StatusCode"] == 200
    with pytest.raises(ClientError) as exc:
        elsewhere.invoke(FunctionName=arn.replace(":us-east-1:", ":eu-west-1:"))
    assert error_of(exc)[1] == (
        "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"
    )


def test_destinations_in_another_region_or_account_are_invalid(lam: Any) -> None:
    name = create_function(lam, HELLO)["FunctionName"]
    target = create_function(lam, HELLO)["FunctionName"]
    for destination in (
        f"arn:aws:lambda:eu-west-1:000000000000:function:{target}",
        f"{ARN_PREFIX}:999999999999:function:{target}",
    ):
        with pytest.raises(ClientError) as exc:
            lam.put_function_event_invoke_config(
                FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": destination}}
            )
        assert error_of(exc) == (
            "InvalidParameterValueException",
            f"The destination ARN {destination} is invalid.",
            400,
        )
    local = f"{ARN_PREFIX}:000000000000:function:{target}"
    lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": local}}
    )


def test_create_existing_function_conflicts(lam: Any) -> None:
    config = create_function(lam, HELLO, wait=False)
    with pytest.raises(ClientError) as exc:
        create_function(lam, HELLO, name=config["FunctionName"], wait=False)
    code, message, status = error_of(exc)
    assert (code, status) == ("ResourceConflictException", 409)
    assert message == f"Function already exist: {config['FunctionName']}"


def test_unknown_function_is_not_found_with_its_arn(lam: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName="nope-not-here")
    code, message, status = error_of(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == (
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope-not-here"
    )
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName="nope-not-here", Qualifier="7")
    assert error_of(exc)[1].endswith("function:nope-not-here:7")


@pytest.fixture
def raw_lam(server: Any) -> Any:
    """A client that skips botocore's own checks, so the server's are what we see."""
    return server.client("lambda", parameter_validation=False)


@pytest.mark.parametrize(
    ("overrides", "code", "fragment"),
    [
        ({"FunctionName": "bad name!"}, "ValidationException", "at 'functionName'"),
        ({"FunctionName": "x" * 65}, "InvalidParameterValueException", "64"),
        ({"Timeout": 0}, "ValidationException", "greater than or equal to 1"),
        ({"Timeout": 901}, "ValidationException", "less than or equal to 900"),
        ({"MemorySize": 127}, "ValidationException", "greater than or equal to 128"),
        ({"MemorySize": 10241}, "ValidationException", "less than or equal to 10240"),
        ({"Runtime": "python9"}, "ValidationException", "enum value set"),
        ({"Runtime": "nodejs20.x"}, "InvalidParameterValueException", "not supported"),
        ({"Role": "not-a-role"}, "ValidationException", "at 'role'"),
        ({"Handler": None}, "InvalidParameterValueException", "mandatory"),
        (
            {"Environment": {"Variables": {"AWS_REGION": "x"}}},
            "InvalidParameterValueException",
            "reserved keys",
        ),
        (
            {"Environment": {"Variables": {"BIG": "x" * 5000}}},
            "InvalidParameterValueException",
            "exceeded the 4KB limit",
        ),
        ({"Code": {"ZipFile": b"this is not a zip"}}, "InvalidParameterValueException", "unzip"),
        (
            {"Code": {"S3Bucket": "my-bucket", "S3Key": "k.zip"}},
            "NotImplementedException",
            "S3Bucket",
        ),
        (
            {"VpcConfig": {"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}},
            "NotImplementedException",
            "VpcConfig",
        ),
    ],
)
def test_create_validation_errors(
    raw_lam: Any, overrides: dict[str, Any], code: str, fragment: str
) -> None:
    args: dict[str, Any] = {
        "FunctionName": unique(),
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "lambda_function.handler",
        "Code": {"ZipFile": make_zip({"lambda_function.py": HELLO})},
    }
    args.update(overrides)
    args = {k: v for k, v in args.items() if v is not None}
    with pytest.raises(ClientError) as exc:
        raw_lam.create_function(**args)
    got_code, message, status = error_of(exc)
    assert got_code == code, message
    assert fragment in message
    assert status in (400, 501)


def test_zip_that_unpacks_past_250_mb_is_refused(raw_lam: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", HELLO)
        archive.writestr("zeros.bin", b"\0" * 270_000_000)
    with pytest.raises(ClientError) as exc:
        raw_lam.create_function(
            FunctionName=unique(),
            Runtime="python3.12",
            Role=ROLE,
            Handler="lambda_function.handler",
            Code={"ZipFile": buffer.getvalue()},
        )
    code, message, _ = error_of(exc)
    assert code == "InvalidParameterValueException"
    assert message == "Unzipped size must be smaller than 262144000 bytes"


def test_list_functions_pages_with_marker(new_server: Any) -> None:
    srv = new_server()
    lam = srv.client()
    names = sorted(create_function(lam, HELLO, wait=False)["FunctionName"] for _ in range(5))
    seen: list[str] = []
    page = lam.list_functions(MaxItems=2)
    pages = 1
    seen += [f["FunctionName"] for f in page["Functions"]]
    while "NextMarker" in page:
        page = lam.list_functions(MaxItems=2, Marker=page["NextMarker"])
        seen += [f["FunctionName"] for f in page["Functions"]]
        pages += 1
    assert seen == names
    assert pages == 3
    # Lambda's reference: ListFunctions answers a subset; the state fields are
    # GetFunction's.
    lam.get_waiter("function_active_v2").wait(FunctionName=names[0])
    listed = lam.list_functions()["Functions"]
    assert all("State" not in f and "LastUpdateStatus" not in f for f in listed)
    assert lam.get_function_configuration(FunctionName=names[0])["State"] == "Active"
    paginated = [
        f["FunctionName"]
        for p in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
        for f in p["Functions"]
    ]
    assert paginated == names


def test_update_code_and_configuration(lam: Any) -> None:
    config = create_function(lam, HELLO)
    name = config["FunctionName"]
    before = lam.get_function_configuration(FunctionName=name)
    new_zip = make_zip({"lambda_function.py": "def handler(e, c):\n    return 2\n"})
    updated = lam.update_function_code(FunctionName=name, ZipFile=new_zip)
    assert updated["LastUpdateStatus"] == "InProgress"
    # Lambda's words for any update, as its answers record them.
    assert updated["LastUpdateStatusReason"] == "The function is being created."
    assert updated["LastUpdateStatusReasonCode"] == "Creating"
    assert updated["CodeSha256"] == base64.b64encode(hashlib.sha256(new_zip).digest()).decode()
    assert updated["RevisionId"] != before["RevisionId"]
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    assert lam.invoke(FunctionName=name)["Payload"].read() == b"2"

    changed = lam.update_function_configuration(
        FunctionName=name,
        Timeout=30,
        MemorySize=256,
        Description="now with settings",
        Environment={"Variables": {"GREETING": "hi"}},
    )
    assert (changed["Timeout"], changed["MemorySize"]) == (30, 256)
    assert changed["Environment"] == {"Variables": {"GREETING": "hi"}}
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    final = lam.get_function_configuration(FunctionName=name)
    assert final["LastUpdateStatus"] == "Successful"
    assert final["Description"] == "now with settings"


def test_revision_id_precondition(lam: Any) -> None:
    name = create_function(lam, HELLO)["FunctionName"]
    current = lam.get_function_configuration(FunctionName=name)["RevisionId"]
    with pytest.raises(ClientError) as exc:
        lam.update_function_configuration(FunctionName=name, Timeout=5, RevisionId="stale")
    code, _, status = error_of(exc)
    assert (code, status) == ("PreconditionFailedException", 412)
    ok = lam.update_function_configuration(FunctionName=name, Timeout=5, RevisionId=current)
    assert ok["Timeout"] == 5


def test_update_code_dry_run_changes_nothing(lam: Any) -> None:
    name = create_function(lam, HELLO)["FunctionName"]
    before = lam.get_function_configuration(FunctionName=name)
    lam.update_function_code(
        FunctionName=name, ZipFile=make_zip({"lambda_function.py": "x = 1\n"}), DryRun=True
    )
    after = lam.get_function_configuration(FunctionName=name)
    assert after["CodeSha256"] == before["CodeSha256"]
    assert after["RevisionId"] == before["RevisionId"]


def test_delete_function(lam: Any) -> None:
    name = create_function(lam, HELLO)["FunctionName"]
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName=name, Qualifier="$LATEST")
    assert error_of(exc)[0] == "InvalidParameterValueException"
    response = lam.delete_function(FunctionName=name)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=name)
    assert error_of(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName=name)
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_tags(lam: Any) -> None:
    arn = create_function(lam, HELLO, Tags={"a": "1"})["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"b": "2"})
    lam.untag_resource(Resource=arn, TagKeys=["a"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"b": "2"}


def test_unimplemented_operation_names_itself_and_is_not_retried(server: Any) -> None:
    lam = server.client("lambda", retries={"max_attempts": 3, "mode": "standard"})
    with pytest.raises(ClientError) as exc:
        lam.list_code_signing_configs()
    code, message, status = error_of(exc)
    assert (code, status) == ("NotImplementedException", 501)
    assert "ListCodeSigningConfigs" in message
    assert exc.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_account_settings(lam: Any) -> None:
    settings = lam.get_account_settings()
    assert settings["AccountLimit"]["CodeSizeUnzipped"] == 262_144_000
    assert settings["AccountUsage"]["FunctionCount"] >= 0


def test_functions_survive_a_crash_of_the_server(new_server: Any, tmp_path: Any) -> None:
    data = tmp_path / "persist"
    first = new_server(data)
    lam = first.client()
    config = create_function(lam, "def handler(e, c):\n    return 'still here'\n")
    lam.update_function_configuration(FunctionName=config["FunctionName"], Timeout=7)
    lam.get_waiter("function_updated_v2").wait(
        FunctionName=config["FunctionName"], WaiterConfig={"Delay": 1}
    )
    first.stop(signal.SIGKILL)

    second = new_server(data)
    lam = second.client()
    again = lam.get_function_configuration(FunctionName=config["FunctionName"])
    assert again["Timeout"] == 7
    assert again["CodeSha256"] == config["CodeSha256"]
    result = lam.invoke(FunctionName=config["FunctionName"])
    assert result["Payload"].read() == b'"still here"'
