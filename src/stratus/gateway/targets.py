"""Integration targets: which function a Lambda proxy integration URI names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stratus.errors import StratusError
from stratus.functions.model import parse_function_ref
from stratus.gateway.errors import BadRequestException

#: `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations`
_INVOCATION_URI = re.compile(
    r"^arn:aws[a-z-]*:apigateway:[^:]*:lambda:path/\d{4}-\d{2}-\d{2}/functions/(?P<fn>.+)/invocations$"
)


@dataclass(frozen=True)
class FunctionTarget:
    """The function (and qualifier) a Lambda integration invokes."""

    name: str
    qualifier: str | None
    #: The function ARN as the URI gives it: it may name another region or account,
    #: which no function of this node is in (checked when it is called).
    arn: str = ""


def function_target(uri: str) -> FunctionTarget:
    """Parse a function ARN or an API Gateway Lambda invocation URI."""
    found = _INVOCATION_URI.match(uri)
    ref_text = found["fn"] if found else uri
    if not ref_text.startswith("arn:") or ":function:" not in ref_text:
        raise BadRequestException(
            f"Invalid integration URI specified: {uri}. Expected a Lambda function ARN or "
            "an arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations "
            "URI."
        )
    try:
        # The region and account are checked at the call (`Backends.invoke`): API Gateway
        # takes such a URI, and its calls then fail as for a missing function.
        ref = parse_function_ref(ref_text, home=None)
    except StratusError as error:
        raise BadRequestException(f"Invalid integration URI specified: {uri}") from error
    return FunctionTarget(ref.name, ref.qualifier, ref_text)


def check_http_uri(uri: str | None) -> str:
    """An HTTP_PROXY target must be an absolute http(s) URL."""
    if not uri or not uri.startswith(("http://", "https://")):
        raise BadRequestException(
            f"Invalid HTTP endpoint specified for URI: {uri}. It must be an http(s) URL."
        )
    return uri
