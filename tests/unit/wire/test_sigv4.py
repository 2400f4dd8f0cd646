"""SigV4 verification against requests botocore really signs."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from stratus.errors import (
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from stratus.wire.messages import WireRequest
from stratus.wire.sigv4 import MISMATCH_MESSAGE, SigV4Verifier

from .conftest import ACCESS_KEY, PRINCIPAL, SECRET_KEY, Credentials
from .requests_kit import amz_now, capture, client, sign, to_wire

ARN = "arn:aws:lambda:us-east-1:123456789012:function:my-fn"


def _verify(request: WireRequest, verifier: SigV4Verifier | None = None) -> Any:
    verifier = verifier or SigV4Verifier(Credentials())
    signed = verifier.inspect(request.headers, request.query)
    verifier.verify(
        signed,
        request.method,
        request.raw_path,
        request.raw_query,
        request.header_list,
        request.body,
    )
    return signed


def _raw(
    method: str, path: str, query: str = "", body: bytes = b"", **sign_args: Any
) -> WireRequest:
    url = f"http://127.0.0.1:4566{path}" + (f"?{query}" if query else "")
    headers = sign(method, url, body, **sign_args)
    header_list = [("host", "127.0.0.1:4566")] + [(k.lower(), v) for k, v in headers.items()]
    return WireRequest(method, path, query, dict(header_list), header_list, body)


LAMBDA = client("lambda")
LOGS = client("logs")


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("invoke", {"FunctionName": ARN, "Qualifier": "live", "Payload": bytes(range(256))}),
        ("invoke", {"FunctionName": "plain"}),
        ("get_function", {"FunctionName": f"{ARN}:3"}),
        ("list_functions", {"MaxItems": 5, "Marker": "a b/c=d", "FunctionVersion": "ALL"}),
        ("untag_resource", {"Resource": ARN, "TagKeys": ["b", "a", "a b"]}),
        ("get_layer_version_by_arn", {"Arn": "arn:aws:lambda:us-east-1:123456789012:layer:l:1"}),
        ("create_function", {"FunctionName": "f", "Role": "r", "Code": {"ZipFile": b"\x00PK"}}),
    ],
)
def test_requests_boto3_signs_verify(method: str, params: dict[str, Any]) -> None:
    request = to_wire(capture(LAMBDA, method, **params))

    signed = _verify(request)

    assert signed.principal == PRINCIPAL
    assert (signed.region, signed.service) == ("us-east-1", "lambda")


def test_json_protocol_requests_verify() -> None:
    request = to_wire(capture(LOGS, "describe_log_groups", logGroupNamePrefix="/aws/lambda/"))

    assert _verify(request).service == "logs"


def test_the_region_comes_from_the_credential_scope() -> None:
    request = _raw("GET", "/2015-03-31/functions", region="eu-west-3")

    assert _verify(request).region == "eu-west-3"


def test_a_body_with_an_explicit_content_hash_verifies() -> None:
    body = b'{"a": 1}'
    digest = hashlib.sha256(body).hexdigest()

    request = _raw(
        "POST", "/2015-03-31/functions", body=body, headers={"X-Amz-Content-SHA256": digest}
    )

    _verify(request)


def test_unsigned_payload_is_accepted_when_signed_as_such() -> None:
    request = _raw(
        "POST",
        "/2015-03-31/functions",
        body=b"anything",
        headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )

    _verify(request)


def test_a_content_hash_that_lies_about_the_body_is_refused() -> None:
    digest = hashlib.sha256(b"original").hexdigest()
    request = _raw(
        "POST", "/2015-03-31/functions", body=b"original", headers={"X-Amz-Content-SHA256": digest}
    )

    with pytest.raises(InvalidSignatureException, match="x-amz-content-sha256"):
        _verify(dataclasses.replace(request, body=b"tampered"))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: dataclasses.replace(r, body=r.body + b" "),
        lambda r: dataclasses.replace(r, raw_path=r.raw_path.replace("my-fn", "other")),
        lambda r: dataclasses.replace(r, raw_query="Qualifier=2", _query=None),
        lambda r: dataclasses.replace(r, method="PUT"),
        lambda r: dataclasses.replace(
            r,
            header_list=[(k, "1" if k == "x-amz-invocation-type" else v) for k, v in r.header_list],
        ),
    ],
    ids=["body", "path", "query", "method", "signed-header"],
)
def test_any_change_after_signing_is_a_mismatch(tamper: Any) -> None:
    request = to_wire(
        capture(
            LAMBDA, "invoke", FunctionName=ARN, Qualifier="1", InvocationType="Event", Payload=b"{}"
        )
    )

    with pytest.raises(InvalidSignatureException) as caught:
        _verify(tamper(request))

    assert caught.value.message == MISMATCH_MESSAGE


def test_a_wrong_secret_is_a_mismatch() -> None:
    request = _raw("GET", "/2015-03-31/functions", secret="not-the-secret")

    with pytest.raises(InvalidSignatureException, match="does not match"):
        _verify(request)


def test_an_unknown_access_key_is_unrecognized() -> None:
    request = _raw("GET", "/2015-03-31/functions", access_key="AKIANOBODY0000000000")

    with pytest.raises(UnrecognizedClientException) as caught:
        _verify(request)

    assert caught.value.message == "The security token included in the request is invalid."
    assert caught.value.status == 403


def test_no_signature_at_all_is_a_missing_token() -> None:
    request = WireRequest("GET", "/2015-03-31/functions", "", {"host": "h"}, [("host", "h")])

    with pytest.raises(MissingAuthenticationTokenException) as caught:
        _verify(request)

    assert caught.value.message == "Missing Authentication Token"
    assert caught.value.status == 403


@pytest.mark.parametrize(
    ("authorization", "complaint"),
    [
        ("AWS AKIA:abc", "Unsupported Authorization algorithm 'AWS'"),
        ("AWS4-HMAC-SHA256 Credential=x/y", "requires 'SignedHeaders' parameter"),
        (
            f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240101/us-east-1/lambda, "
            "SignedHeaders=host, Signature=00",
            "exactly 5 slash-delimited elements",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240101/us-east-1/lambda/aws5, "
            "SignedHeaders=host, Signature=00",
            "valid terminator",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/19990101/us-east-1/lambda/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00",
            "Date in Credential scope does not match",
        ),
        (
            # TODAY: the date of the test's own X-Amz-Date (not the collection's, which
            # may be the day before).
            f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/TODAY/us-east-1/lambda/"
            "aws4_request, SignedHeaders=x-amz-date, Signature=00",
            "'Host' must be a 'SignedHeader'",
        ),
    ],
)
def test_malformed_authorization_headers_say_what_is_wrong(
    authorization: str, complaint: str
) -> None:
    now = amz_now()
    authorization = authorization.replace("/TODAY/", f"/{now[:8]}/")
    headers = {"host": "h", "authorization": authorization, "x-amz-date": now}
    request = WireRequest("GET", "/", "", headers, list(headers.items()))

    with pytest.raises(InvalidSignatureException, match=complaint):
        _verify(request)


def test_a_missing_date_is_named() -> None:
    headers = {
        "host": "h",
        "authorization": f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240101/us-east-1/lambda/"
        "aws4_request, SignedHeaders=host, Signature=00",
    }
    request = WireRequest("GET", "/", "", headers, list(headers.items()))

    with pytest.raises(InvalidSignatureException, match="'X-Amz-Date' or a 'Date' header"):
        _verify(request)


def test_an_old_signature_has_expired() -> None:
    request = _raw("GET", "/2015-03-31/functions", timestamp=amz_now(-16 * 60))

    with pytest.raises(
        InvalidSignatureException,
        match=r"Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(",
    ):
        _verify(request)


def test_a_signature_from_the_future_is_not_yet_current() -> None:
    request = _raw("GET", "/2015-03-31/functions", timestamp=amz_now(16 * 60))

    with pytest.raises(
        InvalidSignatureException,
        match=r"Signature not yet current: \d{8}T\d{6}Z is still later than",
    ):
        _verify(request)


def test_a_little_clock_skew_is_fine() -> None:
    _verify(_raw("GET", "/2015-03-31/functions", timestamp=amz_now(-14 * 60)))
    _verify(_raw("GET", "/2015-03-31/functions", timestamp=amz_now(14 * 60)))


def test_presigned_urls_verify() -> None:
    url = f"http://127.0.0.1:4566/2015-03-31/functions/{ARN.replace(':', '%3A')}?Qualifier=1"
    request = AWSRequest(method="GET", url=url)
    SigV4QueryAuth(BotoCredentials(ACCESS_KEY, SECRET_KEY), "lambda", "us-east-1", 300).add_auth(
        request
    )
    path, _, query = request.url.partition("?")
    path = path.removeprefix("http://127.0.0.1:4566")
    header_list = [("host", "127.0.0.1:4566")]
    wire = WireRequest("GET", path, query, dict(header_list), header_list)

    assert _verify(wire).principal == PRINCIPAL
    with pytest.raises(InvalidSignatureException):
        _verify(
            dataclasses.replace(
                wire, raw_query=query.replace("Qualifier=1", "Qualifier=2"), _query=None
            )
        )


def test_signing_keys_are_cached_per_day_region_and_service() -> None:
    verifier = SigV4Verifier(Credentials())

    for _ in range(3):
        _verify(_raw("GET", "/2015-03-31/functions"), verifier)
    _verify(_raw("GET", "/2015-03-31/functions", region="eu-west-1"), verifier)

    assert len(verifier._keys) == 2


def test_a_date_header_can_stand_in_for_x_amz_date() -> None:
    request = AWSRequest(
        method="GET",
        url="http://127.0.0.1:4566/2015-03-31/functions",
        headers={"Date": "Thu, 01 Jan 1970 00:00:00 GMT"},
    )
    SigV4Auth(BotoCredentials(ACCESS_KEY, SECRET_KEY), "lambda", "us-east-1").add_auth(request)
    assert "X-Amz-Date" not in request.headers
    header_list = [("host", "127.0.0.1:4566")] + [
        (k.lower(), v) for k, v in request.headers.items()
    ]
    wire = WireRequest("GET", "/2015-03-31/functions", "", dict(header_list), header_list)

    assert _verify(wire).principal == PRINCIPAL


def test_a_non_ascii_signature_is_a_mismatch_not_a_crash() -> None:
    request = _raw("GET", "/2015-03-31/functions")
    authorization = request.headers["authorization"].rsplit("=", 1)[0] + "=é" * 64
    headers = {**request.headers, "authorization": authorization}

    with pytest.raises(InvalidSignatureException):
        _verify(dataclasses.replace(request, headers=headers))
