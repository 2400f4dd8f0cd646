"""The SigV4 canonical request of a request Stratus received, computed two ways.

`_direct_canonical_request` builds it here: the fast path `SigV4Verifier.verify` tries
first. `_ReceivedRequestSigner` is botocore's own signer pointed at the received
request: the slow path, which settles any divergence before a refusal and is the only
one for a presigned URL, whose query is signed without its `X-Amz-Signature`
(`_without_signature`). Both read the path and query still percent-encoded, as the
client signed them; sigv4.py says why there are two.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote, unquote

from botocore.auth import EMPTY_SHA256_HASH, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import ReadOnlyCredentials
from botocore.utils import normalize_url_path


class _ReceivedRequestSigner(SigV4Auth):
    """botocore's signer, pointed at a request we received rather than one we send."""

    def __init__(
        self, secret_key: str, service: str, region: str, signing_key: bytes, body: bytes
    ) -> None:
        super().__init__(ReadOnlyCredentials("", secret_key, None), service, region)
        self._signing_key = signing_key
        self._received_body = body

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        # The request holds exactly the headers the client signed. botocore's blacklist
        # (user-agent, expect, ...) is for what it sends; another SDK may sign those.
        header_map = HTTPHeaders()
        for name, value in request.headers.items():
            header_map[name.lower()] = value
        return header_map

    def payload(self, request: AWSRequest) -> str:
        # What botocore's payload() computes for a bytes body sent over http: the hex
        # SHA-256, or that of the empty string. Reading `request.body` would make
        # botocore re-prepare the whole request just to hand the bytes back.
        body = self._received_body
        return hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256_HASH

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        # Same HMAC chain as botocore, with the derived key cached per day.
        return hmac.new(
            self._signing_key, string_to_sign.encode("utf-8"), hashlib.sha256
        ).hexdigest()


def _direct_canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, list[str]],
    payload_hash: str,
) -> str:
    """The SigV4 canonical request, as botocore's `SigV4Auth.canonical_request` builds
    it for a non-S3 service from a URL whose path and query are already encoded."""
    path = _canonical_path(raw_path or "/")
    query = ""
    if raw_query:
        pairs = sorted(pair.partition("=")[::2] for pair in raw_query.split("&"))
        query = "&".join(f"{key}={value}" for key, value in pairs)
    names = sorted(headers)
    canonical_headers = "".join(
        f"{name}:{','.join(' '.join(v.split()) for v in headers[name])}\n" for name in names
    )
    return "\n".join(
        (method.upper(), path, query, canonical_headers, ";".join(names), payload_hash)
    )


# Cached: a client calls the same few paths again and again, and botocore's normaliser
# plus quote() cost microseconds each time.
@functools.lru_cache(maxsize=1024)
def _canonical_path(raw_path: str) -> str:
    return quote(normalize_url_path(raw_path), safe="/~")


def _without_signature(raw_query: str) -> str:
    return "&".join(
        pair
        for pair in raw_query.split("&")
        if unquote(pair.partition("=")[0]) != "X-Amz-Signature"
    )
