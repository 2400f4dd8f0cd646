"""Lambda layers through boto3 against a real server: the layer operations, functions
that use layers, what their code sees, and persistence."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import urllib.request
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE, create_function, make_zip, unique

ACCOUNT = "000000000000"
REGION = "us-east-1"

USES_GREETING = """
import greeting

def handler(event, context):
    return {"who": greeting.WHO}
"""


def layer_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{name}"


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def greeting_layer(client: Any, who: str, name: str | None = None) -> dict[str, Any]:
    """A layer whose `python/greeting.py` says who it is (Python layers live in python/)."""
    published: dict[str, Any] = client.publish_layer_version(
        LayerName=name or unique("layer"),
        Content={"ZipFile": make_zip({"python/greeting.py": f"WHO = {who!r}\n"})},
        CompatibleRuntimes=["python3.12"],
    )
    return published


def invoke_json(client: Any, name: str) -> Any:
    response = client.invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


# --- the layer operations ----------------------------------------------------------------


def test_publish_get_list_delete_round_trip(lam: Any) -> None:
    name = unique("layer")
    zip_bytes = make_zip({"python/util.py": "X = 1\n"})
    published = lam.publish_layer_version(
        LayerName=name, Content={"ZipFile": zip_bytes}, Description="util", LicenseInfo="MIT"
    )
    assert published["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert published["LayerVersionArn"] == f"{layer_arn(name)}:1"
    assert published["Content"]["CodeSha256"] == (
        base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    )
    assert published["Content"]["CodeSize"] == len(zip_bytes)

    got = lam.get_layer_version(LayerName=name, VersionNumber=1)
    assert got["Description"] == "util" and got["LicenseInfo"] == "MIT"
    assert lam.get_layer_version_by_arn(Arn=published["LayerVersionArn"])["Version"] == 1
    assert lam.publish_layer_version(LayerName=name, Content={"ZipFile": zip_bytes})["Version"] == 2
    versions = lam.list_layer_versions(LayerName=name)["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]
    listed = [
        layer
        for page in lam.get_paginator("list_layers").paginate()
        for layer in page["Layers"]
        if layer["LayerName"] == name
    ]
    assert [layer["LatestMatchingVersion"]["Version"] for layer in listed] == [2]

    assert (
        lam.delete_layer_version(LayerName=name, VersionNumber=2)["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 204
    )
    with pytest.raises(ClientError) as exc:
        lam.get_layer_version(LayerName=name, VersionNumber=2)
    assert error_of(exc) == (
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
        404,
    )
    assert (
        lam.delete_layer_version(LayerName=name, VersionNumber=2)["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 204
    )
    assert lam.publish_layer_version(LayerName=name, Content={"ZipFile": zip_bytes})["Version"] == 3


def test_content_location_downloads_the_zip(lam: Any) -> None:
    zip_bytes = make_zip({"python/util.py": "X = 2\n"})
    published = lam.publish_layer_version(LayerName=unique("layer"), Content={"ZipFile": zip_bytes})
    for found in (published, lam.get_layer_version_by_arn(Arn=published["LayerVersionArn"])):
        with urllib.request.urlopen(found["Content"]["Location"], timeout=10) as response:
            assert response.read() == zip_bytes


def test_layer_content_from_a_bucket_is_not_implemented(lam: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lam.publish_layer_version(
            LayerName=unique("layer"), Content={"S3Bucket": "bucket", "S3Key": "k.zip"}
        )
    code, message, status = error_of(exc)
    assert (code, status) == ("NotImplementedException", 501)
    assert "Content.S3Bucket" in message


def test_layers_survive_a_restart(new_server: Any, tmp_path: Any) -> None:
    data = tmp_path / "data"
    first = new_server(data)
    lam = first.client()
    published = greeting_layer(lam, "persisted", name="kept")
    first.stop()
    lam = new_server(data).client()
    assert lam.get_layer_version_by_arn(Arn=published["LayerVersionArn"])["Version"] == 1
    assert greeting_layer(lam, "again", name="kept")["Version"] == 2


# --- functions with layers ---------------------------------------------------------------


def test_function_code_imports_from_its_layers(lam: Any) -> None:
    layer = greeting_layer(lam, "layer")
    config = create_function(lam, USES_GREETING, Layers=[layer["LayerVersionArn"]])
    assert config["Layers"] == [
        {"Arn": layer["LayerVersionArn"], "CodeSize": layer["Content"]["CodeSize"]}
    ]
    assert invoke_json(lam, config["FunctionName"]) == {"who": "layer"}


def test_later_layers_override_earlier_ones(lam: Any) -> None:
    first, second = greeting_layer(lam, "first"), greeting_layer(lam, "second")
    name = create_function(
        lam, USES_GREETING, Layers=[first["LayerVersionArn"], second["LayerVersionArn"]]
    )["FunctionName"]
    assert invoke_json(lam, name) == {"who": "second"}
    lam.update_function_configuration(
        FunctionName=name, Layers=[second["LayerVersionArn"], first["LayerVersionArn"]]
    )
    lam.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )
    assert invoke_json(lam, name) == {"who": "first"}


def test_function_code_wins_over_layers(lam: Any) -> None:
    layer = greeting_layer(lam, "layer")
    name = create_function(
        lam,
        {"lambda_function.py": USES_GREETING, "greeting.py": "WHO = 'function'\n"},
        Layers=[layer["LayerVersionArn"]],
    )["FunctionName"]
    assert invoke_json(lam, name) == {"who": "function"}


def test_removing_layers_from_a_function(lam: Any) -> None:
    layer = greeting_layer(lam, "layer")
    name = create_function(lam, USES_GREETING, Layers=[layer["LayerVersionArn"]])["FunctionName"]
    updated = lam.update_function_configuration(FunctionName=name, Layers=[])
    assert "Layers" not in updated or updated["Layers"] == []
    lam.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    assert "greeting" in json.loads(response["Payload"].read())["errorMessage"]


def test_a_deleted_layer_version_keeps_serving_its_functions(lam: Any) -> None:
    layer = greeting_layer(lam, "still here")
    name = create_function(lam, USES_GREETING, Layers=[layer["LayerVersionArn"]])["FunctionName"]
    lam.delete_layer_version(LayerName=layer["LayerArn"], VersionNumber=layer["Version"])
    config = lam.get_function_configuration(FunctionName=name)
    assert config["Layers"][0]["Arn"] == layer["LayerVersionArn"]
    assert invoke_json(lam, name) == {"who": "still here"}
    with pytest.raises(ClientError) as exc:
        create_function(lam, USES_GREETING, Layers=[layer["LayerVersionArn"]], wait=False)
    assert error_of(exc)[0] == "InvalidParameterValueException"


def test_layer_errors_at_create(lam: Any) -> None:
    name = unique("layer")
    layer = greeting_layer(lam, "x", name=name)
    second_version = greeting_layer(lam, "y", name=name)
    missing = f"{layer_arn(name)}:99"
    six = [greeting_layer(lam, str(i))["LayerVersionArn"] for i in range(6)]
    cases = [
        ([missing], f"Layer version {missing} does not exist."),
        (six, "Cannot reference more than 5 layers."),
        (
            [layer["LayerVersionArn"], second_version["LayerVersionArn"]],
            "Two different versions of the same layer are not allowed to be referenced in the "
            f"same function. {layer['LayerVersionArn']} and {second_version['LayerVersionArn']} "
            "are versions of the same layer.",
        ),
    ]
    for layers, message in cases:
        with pytest.raises(ClientError) as exc:
            create_function(lam, USES_GREETING, Layers=layers, wait=False)
        assert error_of(exc) == ("InvalidParameterValueException", message, 400)


def test_code_and_layers_together_may_not_pass_250_mb(lam: Any) -> None:
    big_layer = io.BytesIO()
    with zipfile.ZipFile(big_layer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("python/zeros.bin", b"\0" * 100_000_000)
    layer = lam.publish_layer_version(
        LayerName=unique("layer"), Content={"ZipFile": big_layer.getvalue()}
    )
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", USES_GREETING)
        archive.writestr("zeros.bin", b"\0" * 170_000_000)
    with pytest.raises(ClientError) as exc:
        lam.create_function(
            FunctionName=unique(),
            Runtime="python3.12",
            Role=ROLE,
            Handler="lambda_function.handler",
            Code={"ZipFile": code.getvalue()},
            Layers=[layer["LayerVersionArn"]],
        )
    code_name, message, status = error_of(exc)
    assert (code_name, status) == ("InvalidParameterValueException", 400)
    assert message.startswith(
        "Function code combined with layers exceeds the maximum allowed size of 262144000 "
        "bytes. The actual size is "
    )


# --- layer version permissions ---------------------------------------------------------
# The expected answers are those AWS gave in LocalStack's recorded (aws.validated) tests
# test_layer_policy_exceptions and test_layer_policy_lifecycle.

NO_POLICY = ("ResourceNotFoundException", "No policy is associated with the given resource.", 404)
WRONG_REVISION = (
    "PreconditionFailedException",
    "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy "
    "API to retrieve the latest Revision Id",
    412,
)


def share(client: Any, name: str, sid: str, version: int = 1, **extra: Any) -> dict[str, Any]:
    added: dict[str, Any] = client.add_layer_version_permission(
        LayerName=name,
        VersionNumber=version,
        StatementId=sid,
        Action=extra.pop("Action", "lambda:GetLayerVersion"),
        Principal=extra.pop("Principal", "*"),
        **extra,
    )
    return added


def layer_policy(client: Any, name: str, version: int = 1) -> tuple[list[dict[str, Any]], str]:
    """The statements of a version's policy and its RevisionId."""
    got = client.get_layer_version_policy(LayerName=name, VersionNumber=version)
    policy = json.loads(got["Policy"])
    assert policy["Version"] == "2012-10-17" and policy["Id"] == "default"
    return policy["Statement"], got["RevisionId"]


def test_layer_permission_round_trip(lam: Any) -> None:
    name = unique("layer")
    version_arn = greeting_layer(lam, "shared", name=name)["LayerVersionArn"]
    with pytest.raises(ClientError) as exc:
        lam.get_layer_version_policy(LayerName=name, VersionNumber=1)
    assert error_of(exc) == NO_POLICY

    first = share(lam, name, "s1")
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    s1 = {
        "Sid": "s1",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:GetLayerVersion",
        "Resource": version_arn,
    }
    assert first["Statement"] == json.dumps(s1, separators=(",", ":"))
    assert layer_policy(lam, name) == ([s1], first["RevisionId"])

    second = share(lam, name, "s2", RevisionId=first["RevisionId"])
    assert second["RevisionId"] != first["RevisionId"]
    s2 = {**s1, "Sid": "s2"}
    assert layer_policy(lam, name) == ([s1, s2], second["RevisionId"])

    removed = lam.remove_layer_version_permission(
        LayerName=name, VersionNumber=1, StatementId="s2", RevisionId=second["RevisionId"]
    )
    assert removed["ResponseMetadata"]["HTTPStatusCode"] == 204
    statements, revision = layer_policy(lam, name)
    assert statements == [s1]
    assert revision not in (first["RevisionId"], second["RevisionId"])

    # The last statement takes the policy with it, as for function policies.
    lam.remove_layer_version_permission(LayerName=name, VersionNumber=1, StatementId="s1")
    with pytest.raises(ClientError) as exc:
        lam.get_layer_version_policy(LayerName=name, VersionNumber=1)
    assert error_of(exc) == NO_POLICY


def test_layer_permission_principals_and_organizations(lam: Any) -> None:
    name = unique("layer")
    version_arn = greeting_layer(lam, "shared", name=name)["LayerVersionArn"]
    account = share(lam, name, "account", Principal="111122223333")
    root = share(lam, layer_arn(name), "root", Principal="arn:aws:iam::444455556666:root")
    org = share(lam, name, "org", OrganizationId="o-t194hfs8cz")
    assert org["Statement"] == (
        '{"Sid":"org","Effect":"Allow","Principal":"*","Action":"lambda:GetLayerVersion",'
        f'"Resource":"{version_arn}",'
        '"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-t194hfs8cz"}}}'
    )
    statements, _ = layer_policy(lam, layer_arn(name))
    assert statements == [json.loads(s["Statement"]) for s in (account, root, org)]
    assert [s["Principal"] for s in statements] == [
        {"AWS": "arn:aws:iam::111122223333:root"},
        {"AWS": "arn:aws:iam::444455556666:root"},
        "*",
    ]
    with pytest.raises(ClientError) as exc:
        share(lam, name, "org-account", Principal="111122223333", OrganizationId="o-t194hfs8cz")
    assert error_of(exc)[::2] == ("InvalidParameterValueException", 400)


def test_layer_permission_errors(lam: Any) -> None:
    name = unique("layer")
    greeting_layer(lam, "shared", name=name)
    added = share(lam, name, "s1")
    pattern = "Member must satisfy regular expression pattern"
    cases: list[tuple[Any, tuple[str, str, int]]] = [
        (
            lambda: share(lam, name, "any", Action="*"),
            (
                "ValidationException",
                f"1 validation error detected: Value '*' at 'action' failed to satisfy "
                f"constraint: {pattern}: lambda:GetLayerVersion",
                400,
            ),
        ),
        (
            lambda: share(lam, name, "s3", Principal="s3.amazonaws.com"),
            (
                "ValidationException",
                "1 validation error detected: Value 's3.amazonaws.com' at 'principal' failed "
                f"to satisfy constraint: {pattern}: "
                r"\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root",
                400,
            ),
        ),
        (
            lambda: share(lam, name, "s1"),
            (
                "ResourceConflictException",
                "The statement id (s1) provided already exists. Please provide a new "
                "statement id, or remove the existing statement.",
                409,
            ),
        ),
        (lambda: share(lam, name, "s2", RevisionId="wrong"), WRONG_REVISION),
        (
            lambda: lam.remove_layer_version_permission(
                LayerName=name, VersionNumber=1, StatementId="s1", RevisionId="wrong"
            ),
            WRONG_REVISION,
        ),
        (
            lambda: lam.remove_layer_version_permission(
                LayerName=name, VersionNumber=1, StatementId="doesnotexist"
            ),
            (
                "ResourceNotFoundException",
                "Statement doesnotexist is not found in resource policy.",
                404,
            ),
        ),
        (
            lambda: lam.get_layer_version_policy(LayerName=name, VersionNumber=0),
            ("InvalidParameterValueException", "Layer Version Cannot be less than 1", 400),
        ),
    ]
    for gone, version in ((f"{name}-gone", 1), (name, 2)):
        message = f"Layer version {layer_arn(gone)}:{version} does not exist."
        calls = [
            lambda gone=gone, version=version: share(lam, gone, "s9", version=version),
            lambda gone=gone, version=version: lam.get_layer_version_policy(
                LayerName=gone, VersionNumber=version
            ),
            lambda gone=gone, version=version: lam.remove_layer_version_permission(
                LayerName=gone, VersionNumber=version, StatementId="s1"
            ),
        ]
        cases += [(call, ("ResourceNotFoundException", message, 404)) for call in calls]
    for call, expected in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == expected
    # Nothing above changed the policy.
    assert layer_policy(lam, name)[1] == added["RevisionId"]

    other = unique("layer")
    greeting_layer(lam, "unshared", name=other)
    with pytest.raises(ClientError) as exc:
        lam.remove_layer_version_permission(LayerName=other, VersionNumber=1, StatementId="s1")
    assert error_of(exc) == NO_POLICY


def test_deleting_a_layer_version_deletes_its_policy(lam: Any) -> None:
    name = unique("layer")
    greeting_layer(lam, "one", name=name)
    greeting_layer(lam, "two", name=name)
    share(lam, name, "first", version=1)
    kept = share(lam, name, "second", version=2)
    lam.delete_layer_version(LayerName=name, VersionNumber=1)
    with pytest.raises(ClientError) as exc:
        lam.get_layer_version_policy(LayerName=name, VersionNumber=1)
    assert error_of(exc) == (
        "ResourceNotFoundException",
        f"Layer version {layer_arn(name)}:1 does not exist.",
        404,
    )
    assert layer_policy(lam, name, version=2) == (
        [json.loads(kept["Statement"])],
        kept["RevisionId"],
    )


def test_layer_policies_survive_a_restart(new_server: Any, tmp_path: Any) -> None:
    data = tmp_path / "data"
    first = new_server(data)
    lam = first.client()
    greeting_layer(lam, "persisted", name="shared")
    share(lam, "shared", "everyone")
    added = share(lam, "shared", "partner", Principal="111122223333")
    before = lam.get_layer_version_policy(LayerName="shared", VersionNumber=1)
    assert before["RevisionId"] == added["RevisionId"]
    first.stop()
    lam = new_server(data).client()
    after = lam.get_layer_version_policy(LayerName="shared", VersionNumber=1)
    assert (after["Policy"], after["RevisionId"]) == (before["Policy"], before["RevisionId"])
    lam.remove_layer_version_permission(
        LayerName="shared", VersionNumber=1, StatementId="partner", RevisionId=added["RevisionId"]
    )
    assert [s["Sid"] for s in layer_policy(lam, "shared")[0]] == ["everyone"]
