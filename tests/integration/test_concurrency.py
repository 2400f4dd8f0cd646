"""Reserved and provisioned concurrency, account settings and throttling."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import create_function, make_zip, unique

SLOW = "import time\ndef handler(e, c):\n    time.sleep(e.get('sleep', 0))\n    return 'ok'\n"


def test_reserved_concurrency_settings(lam: Any) -> None:
    name = create_function(lam, SLOW)["FunctionName"]
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)
    before = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    assert (
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)[
            "ReservedConcurrentExecutions"
        ]
        == 5
    )
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 5
    assert lam.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 5}
    after = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    assert after == before - 5
    with pytest.raises(ClientError) as exc:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=950)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "[100]" in exc.value.response["Error"]["Message"]
    lam.delete_function_concurrency(FunctionName=name)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)
    assert "Concurrency" not in lam.get_function(FunctionName=name)


def test_zero_reserved_concurrency_throttles_every_call(lam: Any) -> None:
    name = create_function(lam, SLOW)["FunctionName"]
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=name)
    error = exc.value.response
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert error["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"


def test_calls_past_the_reservation_are_throttled_not_queued(lam: Any) -> None:
    name = create_function(lam, SLOW)["FunctionName"]
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    outcome: dict[str, Any] = {}

    def slow_call() -> None:
        outcome["slow"] = lam.invoke(FunctionName=name, Payload=json.dumps({"sleep": 2}))

    worker = threading.Thread(target=slow_call)
    worker.start()
    # Wait until the slow call holds the only slot (observable: a second call is refused).
    deadline = time.monotonic() + 20
    refused = None
    while time.monotonic() < deadline and refused is None:
        try:
            lam.invoke(FunctionName=name)
        except ClientError as exc:
            refused = exc
            break
        time.sleep(0.05)
    worker.join()
    assert refused is not None
    assert refused.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert outcome["slow"]["StatusCode"] == 200


def test_account_limit_throttles_the_unreserved_pool(new_server: Any) -> None:
    srv = new_server(STRATUS_CONCURRENCY_LIMIT="101")
    lam = srv.client()
    slow = create_function(lam, SLOW)["FunctionName"]
    other = create_function(lam, SLOW)["FunctionName"]
    lam.put_function_concurrency(FunctionName=slow, ReservedConcurrentExecutions=1)
    # 101 - 1 reserved = 100 unreserved slots; a reservation may not take the pool below 100.
    with pytest.raises(ClientError):
        lam.put_function_concurrency(FunctionName=other, ReservedConcurrentExecutions=1)
    settings = lam.get_account_settings()["AccountLimit"]
    assert (settings["ConcurrentExecutions"], settings["UnreservedConcurrentExecutions"]) == (
        101,
        100,
    )


def server_info(server: Any) -> dict[str, Any]:
    with urllib.request.urlopen(server.endpoint + "/_stratus/info", timeout=10) as response:
        info: dict[str, Any] = json.load(response)
    return info


def wait_for_spares(server: Any, count: int) -> None:
    deadline = time.monotonic() + 60
    while (ready := server_info(server)["sparesReady"]) < count:
        assert time.monotonic() < deadline, f"{ready} of {count} spares ready"
        time.sleep(0.1)
    assert ready == count


def test_a_pool_of_spares_is_kept_for_bursts_of_cold_starts(new_server: Any) -> None:
    """STRATUS_SPARES instances per zygote wait forked ahead; a burst of cold starts
    takes them, and the pool is forked again once the burst is over."""
    srv = new_server(STRATUS_SPARES="6")
    info = server_info(srv)
    if "isolated" not in info["sandbox"]:
        pytest.skip("spares are the isolated sandbox's; this host cannot isolate")
    assert "6 spare instances per zygote" in info["sandbox"]
    lam = srv.client()
    stream = "import time\ndef handler(e, c):\n    time.sleep(1)\n    return c.log_stream_name\n"
    name = create_function(lam, stream)["FunctionName"]
    wait_for_spares(srv, 6)  # deploying started the runtime's zygote, which forks them

    def call(_: int) -> Any:
        answer = lam.invoke(FunctionName=name)
        assert "FunctionError" not in answer, answer["Payload"].read()
        return json.loads(answer["Payload"].read())

    with ThreadPoolExecutor(6) as threads:
        streams = set(threads.map(call, range(6)))
    assert len(streams) == 6  # six instances, one per call
    wait_for_spares(srv, 6)


def test_the_pool_of_spares_is_no_larger_than_the_node_may_run(new_server: Any) -> None:
    info = server_info(new_server(STRATUS_SPARES="50", STRATUS_MAX_INSTANCES="4"))
    if "isolated" not in info["sandbox"]:
        pytest.skip("spares are the isolated sandbox's; this host cannot isolate")
    assert "4 spare instances per zygote" in info["sandbox"]


def wait_ready(lam: Any, name: str, qualifier: str) -> dict[str, Any]:
    """The allocation's configuration once it is READY (within 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        got = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if got["Status"] == "READY" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert got["Status"] == "READY", got.get("StatusReason")
    return got


def test_provisioned_concurrency_counts_every_version_and_alias(lam: Any) -> None:
    name = create_function(lam, SLOW, Publish=True)["FunctionName"]
    lam.publish_version(FunctionName=name, Description="two")  # unchanged code: still 1
    publish_changed(lam, name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="2")
    # Without a reservation it comes out of the unreserved pool, which keeps 100.
    with pytest.raises(ClientError) as exc:
        lam.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=950
        )
    assert error_code(exc) == (
        "InvalidParameterValueException",
        "Specified ConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [100].",
    )
    # With one, the version's and the alias's allocations together must fit in it.
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=2
    )
    with pytest.raises(ClientError) as exc:
        lam.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=2
        )
    assert error_code(exc) == (
        "InvalidParameterValueException",
        "Requested Provisioned Concurrency should not be greater than the "
        "reservedConcurrentExecution for function: 3",
    )
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=1
    )
    # Replacing an allocation counts the new figure, not both.
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    # The reservation cannot shrink below what the allocations already hold.
    with pytest.raises(ClientError) as exc:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    assert error_code(exc) == (
        "InvalidParameterValueException",
        "ReservedConcurrentExecutions 1 should not be lower than function's total "
        "provisioned concurrency [2].",
    )
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 3
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)
    lam.delete_function(FunctionName=name)


def test_a_deleted_version_or_alias_takes_its_settings_with_it(lam: Any) -> None:
    name = create_function(lam, SLOW, Publish=True)["FunctionName"]
    lam.update_function_configuration(FunctionName=name, Timeout=10)
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    lam.create_alias(FunctionName=name, Name="tmp", FunctionVersion="1")
    for qualifier in ("2", "tmp"):
        lam.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier=qualifier, ProvisionedConcurrentExecutions=1
        )
        lam.put_function_event_invoke_config(
            FunctionName=name, Qualifier=qualifier, MaximumRetryAttempts=1
        )
    lam.delete_function(FunctionName=name, Qualifier="2")
    lam.delete_alias(FunctionName=name, Name="tmp")
    assert (
        lam.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
        == []
    )
    assert (
        lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]
        == []
    )
    # An alias made again under the old name starts bare.
    lam.create_alias(FunctionName=name, Name="tmp", FunctionVersion="1")
    with pytest.raises(ClientError) as exc:
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="tmp")
    assert error_code(exc)[0] == "ProvisionedConcurrencyConfigNotFoundException"
    with pytest.raises(ClientError) as exc:
        lam.get_function_event_invoke_config(FunctionName=name, Qualifier="tmp")
    assert error_code(exc)[0] == "ResourceNotFoundException"
    lam.delete_function(FunctionName=name)


def test_provisioned_concurrency(lam: Any) -> None:
    code = (
        "import os\ndef handler(e, c):\n    return os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n"
    )
    name = create_function(lam, code, Publish=True)["FunctionName"]
    with pytest.raises(ClientError) as exc:
        lam.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as exc:
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert exc.value.response["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"
    put = lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=2
    )
    assert put["RequestedProvisionedConcurrentExecutions"] == 2
    got = wait_ready(lam, name, "1")
    assert got["AvailableProvisionedConcurrentExecutions"] == 2
    result = lam.invoke(FunctionName=name, Qualifier="1", LogType="Tail")
    assert json.loads(result["Payload"].read()) == "provisioned-concurrency"
    listed = lam.list_provisioned_concurrency_configs(FunctionName=name)
    arns = [c["FunctionArn"] for c in listed["ProvisionedConcurrencyConfigs"]]
    assert [arn.rsplit(":", 1)[1] for arn in arns] == ["1"]
    lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    with pytest.raises(ClientError):
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert json.loads(lam.invoke(FunctionName=name, Qualifier="1")["Payload"].read()) == "on-demand"


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def refused_put(lam: Any, name: str, qualifier: str) -> tuple[str, str]:
    """The error a PutProvisionedConcurrencyConfig of 1 on `qualifier` answers."""
    with pytest.raises(ClientError) as exc:
        lam.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier=qualifier, ProvisionedConcurrentExecutions=1
        )
    return error_code(exc)


def publish_changed(lam: Any, name: str) -> str:
    """Publish a new version of `name` (its configuration changed, so it is one)."""
    timeout = lam.get_function_configuration(FunctionName=name)["Timeout"]
    lam.update_function_configuration(FunctionName=name, Timeout=timeout + 1)
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    return str(lam.publish_version(FunctionName=name)["Version"])


def call(lam: Any, name: str, qualifier: str) -> list[str]:
    """[how the instance that ran was started, the version it runs]."""
    return json.loads(lam.invoke(FunctionName=name, Qualifier=qualifier)["Payload"].read())


WHO = (
    "import os\n"
    "def handler(e, c):\n"
    "    return [os.environ['AWS_LAMBDA_INITIALIZATION_TYPE'], c.function_version]\n"
)


def test_provisioned_concurrency_follows_its_alias(lam: Any) -> None:
    name = create_function(lam, WHO, Publish=True)["FunctionName"]
    assert publish_changed(lam, name) == "2"
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=1
    )
    wait_ready(lam, name, "live")
    assert call(lam, name, "live") == ["provisioned-concurrency", "1"]

    # Moving the alias moves its instances: the new version gets them, the old loses them.
    lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2")
    deadline = time.monotonic() + 30
    while call(lam, name, "live") != ["provisioned-concurrency", "2"]:
        assert time.monotonic() < deadline, "the allocation did not follow the alias"
        time.sleep(0.1)
    assert (
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")["Status"]
        == "READY"
    )
    assert call(lam, name, "1") == ["on-demand", "1"]

    # A version is provisioned by its own configuration or through aliases, not both.
    assert refused_put(lam, name, "2") == (
        "ResourceConflictException",
        "Version is pointed by a Provisioned Concurrency alias",
    )
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    already = (
        "ResourceConflictException",
        "Alias can't be used for Provisioned Concurrency configuration on an already "
        "Provisioned version",
    )
    lam.create_alias(FunctionName=name, Name="old", FunctionVersion="1")
    assert refused_put(lam, name, "old") == already
    with pytest.raises(ClientError) as exc:
        lam.update_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert error_code(exc) == already
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"

    # An alias that splits traffic gets none.
    lam.create_alias(
        FunctionName=name,
        Name="canary",
        FunctionVersion="2",
        RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}},
    )
    assert refused_put(lam, name, "canary") == (
        "InvalidParameterValueException",
        "Alias with weights can not be used with Provisioned Concurrency",
    )
    lam.delete_function(FunctionName=name)


def test_provisioned_concurrency_takes_its_share_of_the_reservation(lam: Any) -> None:
    name = create_function(lam, WHO, Publish=True)["FunctionName"]
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    wait_ready(lam, name, "1")
    # The provisioned instance holds the one reserved slot: $LATEST has none left...
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=name)
    assert exc.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    # ...while version 1 runs on it.
    assert call(lam, name, "1") == ["provisioned-concurrency", "1"]
    lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert call(lam, name, "$LATEST") == ["on-demand", "$LATEST"]
    lam.delete_function(FunctionName=name)


def test_provisioned_concurrency_configs_errors_and_pages(lam: Any) -> None:
    name = create_function(lam, WHO, Publish=True)["FunctionName"]
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    publish_changed(lam, name)
    # Never on $LATEST, not even through an alias.
    lam.create_alias(FunctionName=name, Name="dev", FunctionVersion="$LATEST")
    unpublished = (
        "InvalidParameterValueException",
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
    )
    assert refused_put(lam, name, "dev") == unpublished
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="2", ProvisionedConcurrentExecutions=1
    )
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=1
    )
    with pytest.raises(ClientError) as exc:
        lam.update_alias(FunctionName=name, Name="live", FunctionVersion="$LATEST")
    assert error_code(exc) == unpublished
    # Reads and deletes name an alias or a published version that exists.
    for operation in (
        lam.get_provisioned_concurrency_config,
        lam.delete_provisioned_concurrency_config,
    ):
        with pytest.raises(ClientError) as exc:
            operation(FunctionName=name, Qualifier="$LATEST")
        assert error_code(exc) == (
            "InvalidParameterValueException",
            "The function resource provided must be an alias or a published version.",
        )
        for missing in ("99", "nope"):
            with pytest.raises(ClientError) as exc:
                operation(FunctionName=name, Qualifier=missing)
            assert error_code(exc) == (
                "ResourceNotFoundException",
                f"Function not found: {arn}:{missing}",
            )
    # Deleting what is not there is no error.
    lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    first = lam.list_provisioned_concurrency_configs(FunctionName=name, MaxItems=1)
    second = lam.list_provisioned_concurrency_configs(
        FunctionName=name, MaxItems=1, Marker=first["NextMarker"]
    )
    assert "NextMarker" not in second
    listed = first["ProvisionedConcurrencyConfigs"] + second["ProvisionedConcurrencyConfigs"]
    assert sorted(c["FunctionArn"].rsplit(":", 1)[1] for c in listed) == ["2", "live"]
    lam.delete_function(FunctionName=name)


def test_account_usage_counts_layer_archives(lam: Any) -> None:
    before = lam.get_account_settings()["AccountUsage"]["TotalCodeSize"]
    layer = lam.publish_layer_version(
        LayerName=unique("usage"), Content={"ZipFile": make_zip({"python/x.py": "X = 1\n"})}
    )
    after = lam.get_account_settings()["AccountUsage"]["TotalCodeSize"]
    assert after == before + layer["Content"]["CodeSize"]


def test_provisioned_concurrency_whose_init_fails_says_so(lam: Any) -> None:
    code = "raise RuntimeError('no config')\ndef handler(e, c):\n    return 1\n"
    name = create_function(lam, code, Publish=True)["FunctionName"]
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    deadline = time.monotonic() + 30
    while (got := lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1"))[
        "Status"
    ] == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert (got["Status"], got["StatusReason"]) == ("FAILED", "FUNCTION_ERROR_INIT_FAILURE")
    lam.delete_function(FunctionName=name)
