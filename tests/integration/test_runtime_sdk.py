"""boto3 in the Python runtime, as on Lambda: a function may import it without packaging
it, and what a function or layer packages itself comes first."""

from __future__ import annotations

import json
import shutil
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import StratusServer, create_function, make_zip, unique

pytestmark = pytest.mark.timeout(120)

USES_SDK = """
import sys
PRELOADED = "botocore" in sys.modules
import boto3

def handler(event, context):
    client = boto3.client(
        "dynamodb", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    return {
        "version": boto3.__version__,
        "service": client.meta.service_model.service_name,
        "operations": len(client.meta.service_model.operation_names),
        "endpoint": client.meta.endpoint_url,
        "preloaded": PRELOADED,
    }
"""


def invoke_json(lam: Any, name: str) -> Any:
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return payload


def test_a_function_imports_the_runtime_boto3_without_packaging_it(lam: Any) -> None:
    name = unique()
    create_function(lam, {"lambda_function.py": USES_SDK}, name)
    for _ in range(2):  # a cold start, then a warm one
        answer = invoke_json(lam, name)
        assert answer["version"] == boto3.__version__
        # botocore's service models are there: a client is built without any network.
        assert answer["service"] == "dynamodb"
        assert answer["operations"] > 20
        assert answer["endpoint"] == "https://dynamodb.eu-west-1.amazonaws.com"


def test_boto3_packaged_with_the_function_comes_first(lam: Any) -> None:
    name = unique()
    create_function(
        lam,
        {
            "lambda_function.py": USES_SDK.replace("boto3.client(", "boto3.packaged("),
            "boto3/__init__.py": (
                "__version__ = 'packaged'\n"
                "def packaged(*args, **kwargs):\n"
                "    raise RuntimeError('the packaged boto3 ran')\n"
            ),
        },
        name,
    )
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorMessage"] == "the packaged boto3 ran"


def test_a_dependency_packaged_in_a_layer_comes_before_the_runtimes(lam: Any) -> None:
    layer = lam.publish_layer_version(
        LayerName=unique("layer"),
        Content={"ZipFile": make_zip({"python/urllib3/__init__.py": "__version__ = 'layer'\n"})},
    )
    name = unique()
    create_function(
        lam,
        {
            "lambda_function.py": (
                "import urllib3, boto3\n"
                "def handler(event, context):\n"
                "    return {'urllib3': urllib3.__version__, 'boto3': boto3.__version__}\n"
            )
        },
        name,
        Layers=[layer["LayerVersionArn"]],
    )
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    # botocore needs the real urllib3: with the layer's stand-in in front, importing
    # boto3 fails exactly as it would on Lambda.
    assert response["FunctionError"] == "Unhandled"
    assert "urllib3" in json.loads(response["Payload"].read())["errorMessage"]


REPORTS_PRELOAD = """
import sys
PRELOADED = "boto" "core" in sys.modules  # (this function would use boto3)

def handler(event, context):
    return {"preloaded": PRELOADED}
"""


def test_isolated_instances_of_an_sdk_function_start_with_boto3_imported(
    new_server: Any,
) -> None:
    # A cache of its own where instances can see it at its own path (one under /tmp,
    # where a CI machine's HOME may be, is shown elsewhere and never preloaded).
    cache = Path("/var/tmp") / f"stratus-sdk-test-{uuid.uuid4().hex}"
    server: StratusServer | None = None
    try:
        server = new_server(STRATUS_CACHE_DIR=str(cache))
        with urllib.request.urlopen(server.endpoint + "/_stratus/info", timeout=10) as response:
            if not json.load(response)["sandbox"].startswith("isolated"):
                pytest.skip("only isolated instances come from zygotes")
        _check_preloading(server.client())
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(cache, ignore_errors=True)


def _check_preloading(lam: Any) -> None:
    name = unique()
    create_function(lam, {"lambda_function.py": REPORTS_PRELOAD}, name)
    assert invoke_json(lam, name)["preloaded"] is True
    # One that packages a module of the SDK's itself starts from a zygote without it.
    shadowing = unique()
    create_function(
        lam, {"lambda_function.py": REPORTS_PRELOAD, "six.py": "VERSION = 'mine'\n"}, shadowing
    )
    assert invoke_json(lam, shadowing)["preloaded"] is False
    # And one that never mentions the SDK, too.
    plain = unique()
    create_function(lam, {"lambda_function.py": REPORTS_PRELOAD.replace("boto3", "it")}, plain)
    assert invoke_json(lam, plain)["preloaded"] is False


def test_an_sdk_cache_under_tmp_is_shown_where_instances_can_see_it(
    new_server: Any, tmp_path: Path
) -> None:
    """Instances have a /tmp of their own: a cache directory there (a CI machine's HOME,
    say) cannot be bound at its own path, and is shown at /var/runtime/sdk instead."""
    server = new_server(STRATUS_CACHE_DIR=str(tmp_path / "cache"))
    lam = server.client()
    name = unique()
    create_function(lam, {"lambda_function.py": USES_SDK}, name)
    answer = invoke_json(lam, name)
    assert answer["version"] == boto3.__version__
    assert answer["service"] == "dynamodb"
