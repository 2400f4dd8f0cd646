"""Layer operations through boto3 against the in-process control plane."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import uuid
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
REGION = "us-east-1"


def make_zip(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def unique(prefix: str = "layer") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def layer_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{name}"


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


ZIP = make_zip({"python/helper.py": "VALUE = 1\n"})


def publish(client: Any, name: str, zip_bytes: bytes = ZIP, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = client.publish_layer_version(
        LayerName=name, Content={"ZipFile": zip_bytes}, **extra
    )
    return result


# --- PublishLayerVersion ---------------------------------------------------------------


def test_publish_answers_201_with_lambda_fields(lambda_client: Any) -> None:
    name = unique()
    published = publish(
        lambda_client,
        name,
        Description="helpers",
        CompatibleRuntimes=["python3.12", "python3.13"],
        CompatibleArchitectures=["x86_64"],
        LicenseInfo="MIT",
    )
    assert published["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert published["LayerArn"] == layer_arn(name)
    assert published["LayerVersionArn"] == f"{layer_arn(name)}:1"
    assert published["Version"] == 1
    assert published["Description"] == "helpers"
    assert published["CompatibleRuntimes"] == ["python3.12", "python3.13"]
    assert published["CompatibleArchitectures"] == ["x86_64"]
    assert published["LicenseInfo"] == "MIT"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", published["CreatedDate"])
    content = published["Content"]
    assert content["CodeSha256"] == base64.b64encode(hashlib.sha256(ZIP).digest()).decode()
    assert content["CodeSize"] == len(ZIP)
    assert hashlib.sha256(ZIP).hexdigest() in content["Location"]


def test_publish_without_options_omits_them_but_keeps_empty_lists(lambda_client: Any) -> None:
    bare = publish(lambda_client, unique())
    assert bare["Description"] == ""
    for member in ("CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo"):
        assert member not in bare
    empty = publish(lambda_client, unique(), CompatibleRuntimes=[], CompatibleArchitectures=[])
    assert empty["CompatibleRuntimes"] == []
    assert empty["CompatibleArchitectures"] == []


def test_versions_count_up_per_layer_and_are_never_reused(lambda_client: Any) -> None:
    name, other = unique(), unique()
    assert publish(lambda_client, name)["Version"] == 1
    assert publish(lambda_client, other)["Version"] == 1
    assert publish(lambda_client, name)["Version"] == 2
    lambda_client.delete_layer_version(LayerName=name, VersionNumber=1)
    lambda_client.delete_layer_version(LayerName=name, VersionNumber=2)
    assert lambda_client.list_layer_versions(LayerName=name)["LayerVersions"] == []
    again = publish(lambda_client, name)
    assert again["Version"] == 3
    assert again["LayerVersionArn"] == f"{layer_arn(name)}:3"


def test_publish_accepts_a_layer_arn_as_the_name(lambda_client: Any) -> None:
    name = unique()
    published = publish(lambda_client, layer_arn(name))
    assert published["LayerVersionArn"] == f"{layer_arn(name)}:1"


def test_publish_from_a_bucket_is_not_implemented(lambda_client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lambda_client.publish_layer_version(
            LayerName=unique(), Content={"S3Bucket": "bucket", "S3Key": "layer.zip"}
        )
    code, message, status = error_of(exc)
    assert (code, status) == ("NotImplementedException", 501)
    assert "Content.S3Bucket" in message


def test_publish_without_content_is_refused(lambda_client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lambda_client.publish_layer_version(LayerName=unique(), Content={})
    code, _, status = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)


def test_publish_of_a_broken_zip_uses_lambdas_words(lambda_client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        publish(lambda_client, unique(), b"not a zip at all")
    assert error_of(exc) == (
        "InvalidParameterValueException",
        "Could not unzip uploaded file. Please check your file, then try to upload again.",
        400,
    )


def test_publish_refuses_content_over_250_mb_unzipped(lambda_client: Any) -> None:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("python/zeros.bin", "w") as member,
    ):
        chunk = bytes(1 << 20)
        for _ in range(251):
            member.write(chunk)
    with pytest.raises(ClientError) as exc:
        publish(lambda_client, unique(), buffer.getvalue())
    assert error_of(exc) == (
        "InvalidParameterValueException",
        "Unzipped size must be smaller than 262144000 bytes",
        400,
    )


def test_publish_refuses_a_zip_over_50_mb(lambda_client: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("python/blob.bin", os.urandom(50 * 1024 * 1024 + 1024))
    with pytest.raises(ClientError) as exc:
        publish(lambda_client, unique(), buffer.getvalue())
    code, message, status = error_of(exc)
    assert (code, status) == ("RequestTooLargeException", 413)
    assert "52428800" in message


def test_publish_validates_runtimes_against_the_model(lambda_client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        publish(lambda_client, unique(), CompatibleRuntimes=["cobol85"])
    code, message, status = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "compatibleRuntimes" in message


# --- GetLayerVersion / GetLayerVersionByArn ----------------------------------------------


def test_get_returns_what_publish_returned(lambda_client: Any) -> None:
    name = unique()
    published = publish(lambda_client, name, Description="d", CompatibleRuntimes=["python3.12"])
    got = lambda_client.get_layer_version(LayerName=name, VersionNumber=1)
    by_arn = lambda_client.get_layer_version_by_arn(Arn=published["LayerVersionArn"])
    by_layer_arn = lambda_client.get_layer_version(LayerName=layer_arn(name), VersionNumber=1)
    for found in (got, by_arn, by_layer_arn):
        assert found["ResponseMetadata"]["HTTPStatusCode"] == 200
        for member in ("LayerArn", "LayerVersionArn", "Version", "Description", "CreatedDate"):
            assert found[member] == published[member]
        assert found["CompatibleRuntimes"] == ["python3.12"]
        assert found["Content"]["CodeSha256"] == published["Content"]["CodeSha256"]
        assert found["Content"]["CodeSize"] == published["Content"]["CodeSize"]


@pytest.mark.parametrize("which", ["layer", "version"])
def test_get_of_a_missing_version_is_not_found(lambda_client: Any, which: str) -> None:
    name = unique()
    publish(lambda_client, name)
    layer, version = (unique(), 1) if which == "layer" else (name, 2)
    with pytest.raises(ClientError) as exc:
        lambda_client.get_layer_version(LayerName=layer, VersionNumber=version)
    assert error_of(exc) == (
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
        404,
    )


@pytest.mark.parametrize("version", [0, -1])
def test_version_numbers_below_one_are_invalid(lambda_client: Any, version: int) -> None:
    for call in (lambda_client.get_layer_version, lambda_client.delete_layer_version):
        with pytest.raises(ClientError) as exc:
            call(LayerName=unique(), VersionNumber=version)
        assert error_of(exc) == (
            "InvalidParameterValueException",
            "Layer Version Cannot be less than 1",
            400,
        )


def test_get_by_arn_of_a_missing_or_foreign_version_is_not_found(lambda_client: Any) -> None:
    name = unique()
    publish(lambda_client, name)
    for arn in (
        f"{layer_arn(name)}:7",
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:layer:{name}:1",
        f"arn:aws:lambda:{REGION}:210987654321:layer:{name}:1",
    ):
        with pytest.raises(ClientError) as exc:
            lambda_client.get_layer_version_by_arn(Arn=arn)
        assert error_of(exc)[0] == "ResourceNotFoundException"


def test_get_by_arn_without_a_version_fails_validation(lambda_client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lambda_client.get_layer_version_by_arn(Arn=layer_arn(unique()))
    assert error_of(exc)[0] == "ValidationException"


# --- ListLayerVersions -------------------------------------------------------------------


def test_list_versions_newest_first_with_paging(lambda_client: Any) -> None:
    name = unique()
    for _ in range(5):
        publish(lambda_client, name)
    first = lambda_client.list_layer_versions(LayerName=name, MaxItems=2)
    assert [v["Version"] for v in first["LayerVersions"]] == [5, 4]
    second = lambda_client.list_layer_versions(
        LayerName=name, MaxItems=2, Marker=first["NextMarker"]
    )
    assert [v["Version"] for v in second["LayerVersions"]] == [3, 2]
    last = lambda_client.list_layer_versions(
        LayerName=name, MaxItems=2, Marker=second["NextMarker"]
    )
    assert [v["Version"] for v in last["LayerVersions"]] == [1]
    assert "NextMarker" not in last
    item = last["LayerVersions"][0]
    assert item["LayerVersionArn"] == f"{layer_arn(name)}:1"
    assert "Content" not in item and "LayerArn" not in item


def test_list_versions_paginator_walks_every_page(lambda_client: Any) -> None:
    name = unique()
    for _ in range(3):
        publish(lambda_client, name)
    pages = lambda_client.get_paginator("list_layer_versions").paginate(
        LayerName=name, PaginationConfig={"PageSize": 1}
    )
    assert [v["Version"] for page in pages for v in page["LayerVersions"]] == [3, 2, 1]


def test_list_versions_filters_by_runtime_and_architecture(lambda_client: Any) -> None:
    name = unique()
    publish(
        lambda_client, name, CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["arm64"]
    )
    publish(lambda_client, name, CompatibleRuntimes=["nodejs20.x"])
    publish(lambda_client, name)

    def versions(**filters: str) -> list[int]:
        found = lambda_client.list_layer_versions(LayerName=name, **filters)["LayerVersions"]
        return [v["Version"] for v in found]

    assert versions() == [3, 2, 1]
    assert versions(CompatibleRuntime="python3.12") == [1]
    assert versions(CompatibleRuntime="nodejs20.x") == [2]
    assert versions(CompatibleArchitecture="arm64") == [1]
    assert versions(CompatibleRuntime="nodejs20.x", CompatibleArchitecture="arm64") == []


def test_list_versions_of_an_unknown_layer_is_empty(lambda_client: Any) -> None:
    found = lambda_client.list_layer_versions(LayerName=unique())
    assert found["LayerVersions"] == []
    assert "NextMarker" not in found


def test_list_versions_with_a_bad_marker_is_refused(lambda_client: Any) -> None:
    name = unique()
    publish(lambda_client, name)
    with pytest.raises(ClientError) as exc:
        lambda_client.list_layer_versions(LayerName=name, Marker="%%%")
    assert error_of(exc)[0] == "InvalidParameterValueException"


# --- ListLayers ------------------------------------------------------------------------


def all_layers(client: Any, **filters: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        extra = {"Marker": marker} if marker else {}
        page = client.list_layers(MaxItems=2, **filters, **extra)
        found.extend(page["Layers"])
        marker = page.get("NextMarker")
        if not marker:
            return found


def test_list_layers_pages_by_name_with_the_latest_version(lambda_client: Any) -> None:
    prefix = unique("paged")
    names = [f"{prefix}-{i}" for i in range(3)]
    for name in reversed(names):
        publish(lambda_client, name)
    publish(lambda_client, names[1], Description="second")
    listed = all_layers(lambda_client)
    listed_names = [layer["LayerName"] for layer in listed]
    assert listed_names == sorted(set(listed_names))
    mine = {layer["LayerName"]: layer for layer in listed if layer["LayerName"] in names}
    assert sorted(mine) == names
    latest = mine[names[1]]
    assert latest["LayerArn"] == layer_arn(names[1])
    assert latest["LatestMatchingVersion"]["Version"] == 2
    assert latest["LatestMatchingVersion"]["Description"] == "second"
    assert latest["LatestMatchingVersion"]["LayerVersionArn"] == f"{layer_arn(names[1])}:2"


def test_list_layers_shows_the_latest_version_that_matches(lambda_client: Any) -> None:
    name = unique()
    publish(
        lambda_client, name, CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["x86_64"]
    )
    publish(lambda_client, name, CompatibleRuntimes=["nodejs20.x"])

    def latest(**filters: str) -> int | None:
        for layer in all_layers(lambda_client, **filters):
            if layer["LayerName"] == name:
                return int(layer["LatestMatchingVersion"]["Version"])
        return None

    assert latest() == 2
    assert latest(CompatibleRuntime="python3.12") == 1
    assert latest(CompatibleRuntime="nodejs20.x") == 2
    assert latest(CompatibleArchitecture="x86_64") == 1
    assert latest(CompatibleRuntime="ruby3.3") is None


def test_list_layers_leaves_out_layers_without_versions(lambda_client: Any) -> None:
    name = unique()
    publish(lambda_client, name)
    lambda_client.delete_layer_version(LayerName=name, VersionNumber=1)
    assert name not in [layer["LayerName"] for layer in all_layers(lambda_client)]


# --- DeleteLayerVersion ----------------------------------------------------------------


def test_delete_answers_204_and_is_idempotent(lambda_client: Any) -> None:
    name = unique()
    publish(lambda_client, name)
    publish(lambda_client, name)
    deleted = lambda_client.delete_layer_version(LayerName=name, VersionNumber=1)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lambda_client.get_layer_version(LayerName=name, VersionNumber=1)
    assert error_of(exc)[0] == "ResourceNotFoundException"
    assert lambda_client.get_layer_version(LayerName=name, VersionNumber=2)["Version"] == 2
    again = lambda_client.delete_layer_version(LayerName=name, VersionNumber=1)
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 204
    unknown = lambda_client.delete_layer_version(LayerName=unique(), VersionNumber=3)
    assert unknown["ResponseMetadata"]["HTTPStatusCode"] == 204
