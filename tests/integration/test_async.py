"""Asynchronous invocation: durable acceptance, retries, destinations, settings."""

from __future__ import annotations

import json
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import REPORTER, Sink, create_function

ECHO = (
    REPORTER
    + """
def handler(event, context):
    report(json.dumps({"event": event, "id": context.aws_request_id}).encode())
    return {"echo": event}
"""
)

SLOW_ECHO = (
    REPORTER
    + """
import time

def handler(event, context):
    time.sleep(0.05)
    report(json.dumps({"event": event, "id": context.aws_request_id}).encode())
"""
)

FAILING = (
    REPORTER
    + """
def handler(event, context):
    report(json.dumps({"attempt": context.aws_request_id}).encode())
    raise RuntimeError("always fails")
"""
)

RECORDER = (
    REPORTER
    + """
def handler(event, context):
    report(json.dumps({"record": event}).encode())
"""
)


@pytest.fixture
def fast_retry_server(new_server: Any) -> Any:
    return new_server(STRATUS_ASYNC_RETRY_DELAY="0.1")


def env(sink: Sink) -> dict[str, Any]:
    return {"Environment": {"Variables": {"SINK": sink.url}}}


def test_event_invocation_is_accepted_and_runs(lam: Any, sink: Sink) -> None:
    name = create_function(lam, ECHO, **env(sink))["FunctionName"]
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    got = sink.wait_for(lambda bodies: len(bodies) == 1)
    report = json.loads(got[0])
    assert report["event"] == {"n": 1}
    assert report["id"] == response["ResponseMetadata"]["RequestId"]


def test_async_payload_limit_is_1_mb(lam: Any, sink: Sink) -> None:
    name = create_function(lam, ECHO, **env(sink))["FunctionName"]
    exactly = b'"' + b"x" * (1_048_576 - 2) + b'"'
    accepted = lam.invoke(FunctionName=name, InvocationType="Event", Payload=exactly)
    assert accepted["StatusCode"] == 202
    # One byte over is refused on its size alone, JSON or not, as a synchronous call
    # over 6 MB is.
    for over in (b'"' + b"x" * 1_048_576 + b'"', b"x" * 1_048_577):
        with pytest.raises(ClientError) as exc:
            lam.invoke(FunctionName=name, InvocationType="Event", Payload=over)
        error = exc.value.response
        assert error["Error"]["Code"] == "RequestTooLargeException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
        assert "smaller than 1048576 bytes" in error["Error"]["Message"]


def test_failures_are_retried_then_sent_to_the_failure_destination(
    fast_retry_server: Any, sink: Sink
) -> None:
    lam = fast_retry_server.client()
    recorder = create_function(lam, RECORDER, **env(sink))
    failing = create_function(lam, FAILING, **env(sink))["FunctionName"]
    lam.put_function_event_invoke_config(
        FunctionName=failing,
        DestinationConfig={"OnFailure": {"Destination": recorder["FunctionArn"]}},
    )
    accepted = lam.invoke(FunctionName=failing, InvocationType="Event", Payload=b'{"k": "v"}')
    request_id = accepted["ResponseMetadata"]["RequestId"]
    got = sink.wait_for(lambda bodies: any(b"record" in b for b in bodies))
    attempts = [json.loads(b) for b in got if b"attempt" in b]
    assert [a["attempt"] for a in attempts] == [request_id] * 3
    record = next(json.loads(b)["record"] for b in got if b"record" in b)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    # An unqualified call ran $LATEST, and the record says so.
    assert record["requestContext"]["functionArn"].endswith(f":function:{failing}:$LATEST")
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestPayload"] == {"k": "v"}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "always fails"


def test_retry_attempts_setting_and_success_destination(fast_retry_server: Any, sink: Sink) -> None:
    lam = fast_retry_server.client()
    recorder = create_function(lam, RECORDER, **env(sink))
    to_recorder = {"Destination": recorder["FunctionArn"]}
    failing = create_function(lam, FAILING, **env(sink))["FunctionName"]
    lam.put_function_event_invoke_config(
        FunctionName=failing, MaximumRetryAttempts=0, DestinationConfig={"OnFailure": to_recorder}
    )
    lam.invoke(FunctionName=failing, InvocationType="Event", Payload=b"{}")
    echo = create_function(lam, ECHO, **env(sink))["FunctionName"]
    lam.put_function_event_invoke_config(
        FunctionName=echo, DestinationConfig={"OnSuccess": to_recorder}
    )
    lam.invoke(FunctionName=echo, InvocationType="Event", Payload=b'{"ok": 1}')
    got = sink.wait_for(lambda bodies: sum(b"record" in b for b in bodies) == 2)
    records = {
        r["requestContext"]["condition"]: r
        for r in (json.loads(b)["record"] for b in got if b"record" in b)
    }
    assert records["Success"]["responsePayload"] == {"echo": {"ok": 1}}
    # The failing function ran once, no retries being configured; its failure record is
    # sent after its last attempt, so every attempt is in by now.
    assert records["RetriesExhausted"]["requestContext"]["approximateInvokeCount"] == 1
    assert sum(b"attempt" in b for b in got) == 1


def test_event_invoke_configs_are_listed_in_pages(lam: Any) -> None:
    name = create_function(lam, ECHO)["FunctionName"]
    qualifiers = ["$LATEST", "a", "b", "c", "d"]
    for qualifier in qualifiers[1:]:
        lam.create_alias(FunctionName=name, Name=qualifier, FunctionVersion="$LATEST")
    for qualifier in qualifiers:
        lam.put_function_event_invoke_config(
            FunctionName=name, Qualifier=qualifier, MaximumRetryAttempts=1
        )
    seen: list[str] = []
    pages = 0
    args: dict[str, Any] = {"FunctionName": name, "MaxItems": 2}
    while True:
        page = lam.list_function_event_invoke_configs(**args)
        assert len(page["FunctionEventInvokeConfigs"]) <= 2
        seen += [c["FunctionArn"].rsplit(":", 1)[1] for c in page["FunctionEventInvokeConfigs"]]
        pages += 1
        if "NextMarker" not in page:
            break
        args["Marker"] = page["NextMarker"]
    assert (pages, sorted(seen)) == (3, sorted(qualifiers))


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_waiting_for_a_slot_blocks_no_other_function_and_ends_at_the_maximum_age(
    new_server: Any, sink: Sink
) -> None:
    # 60 s is the shortest MaximumEventAgeInSeconds Lambda allows, so this takes a while.
    lam = new_server(STRATUS_ASYNC_RETRY_DELAY="25").client()
    recorder = {"Destination": create_function(lam, RECORDER, **env(sink))["FunctionArn"]}
    expiring = {"MaximumEventAgeInSeconds": 60, "DestinationConfig": {"OnFailure": recorder}}
    # A function that may not run: its events wait for a slot...
    held = create_function(lam, ECHO, **env(sink))["FunctionName"]
    lam.put_function_concurrency(FunctionName=held, ReservedConcurrentExecutions=0)
    lam.put_function_event_invoke_config(FunctionName=held, **expiring)
    # ...more of them than the dispatcher runs of one function at once (100)...
    for n in range(105):
        lam.invoke(FunctionName=held, InvocationType="Event", Payload=json.dumps({"n": n}))
    # ...and a function that fails, whose retries (25 s, then 50 s) outlast its 60 s.
    failing = create_function(lam, FAILING, **env(sink))["FunctionName"]
    lam.put_function_event_invoke_config(FunctionName=failing, **expiring)
    lam.invoke(FunctionName=failing, InvocationType="Event", Payload=b"{}")
    # Another function's events are not held up by the waiting ones.
    other = create_function(lam, ECHO, **env(sink))["FunctionName"]
    lam.invoke(FunctionName=other, InvocationType="Event", Payload=b'{"other": true}')
    sink.wait_for(lambda bodies: any(b'"other": true' in b for b in bodies), timeout=30)

    def records(bodies: list[bytes]) -> list[dict[str, Any]]:
        return [json.loads(b)["record"] for b in bodies if b.startswith(b'{"record"')]

    got = records(sink.wait_for(lambda bodies: len(records(bodies)) == 106, timeout=150))
    assert {r["requestContext"]["condition"] for r in got} == {"EventAgeExceeded"}
    counts = {
        r["requestContext"]["functionArn"].split(":")[6]: r["requestContext"][
            "approximateInvokeCount"
        ]
        for r in got
    }
    # The held events never ran; the failing one had run twice when it expired.
    assert counts == {held: 0, failing: 2}
    assert sorted(r["requestPayload"].get("n", -1) for r in got) == list(range(-1, 105))
    assert not any(b'"event": {"n"' in b for b in sink.received())


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_event_invoke_config_operations(lam: Any) -> None:
    fn = create_function(lam, "def handler(e, c):\n    return 1\n")
    name = fn["FunctionName"]
    target = create_function(lam, "def handler(e, c):\n    return 2\n")["FunctionArn"]
    missing = f"The function {fn['FunctionArn']}:$LATEST doesn't have an EventInvokeConfig"
    with pytest.raises(ClientError) as exc:
        lam.get_function_event_invoke_config(FunctionName=name)
    assert error_of(exc) == ("ResourceNotFoundException", missing)
    # Update changes a configuration; it does not make one.
    with pytest.raises(ClientError) as exc:
        lam.update_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    assert error_of(exc) == ("ResourceNotFoundException", missing)
    with pytest.raises(ClientError) as exc:
        lam.put_function_event_invoke_config(FunctionName=name)
    assert error_of(exc) == (
        "InvalidParameterValueException",
        "You must specify at least one of error handling or destination setting.",
    )
    put = lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=1, MaximumEventAgeInSeconds=120
    )
    assert put["FunctionArn"].endswith(f":{name}:$LATEST")
    assert (put["MaximumRetryAttempts"], put["MaximumEventAgeInSeconds"]) == (1, 120)
    assert put["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    updated = lam.update_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": target}}
    )
    assert updated["MaximumRetryAttempts"] == 1
    assert updated["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {"Destination": target}}
    # Settings not given are left out of the answers, as Lambda's are (the defaults
    # apply): a Put replaces the whole configuration, an Update keeps what it does not set.
    only_retries = lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    assert only_retries["MaximumRetryAttempts"] == 0
    assert "MaximumEventAgeInSeconds" not in only_retries
    assert only_retries["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    only_destination = lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": target}}
    )
    assert "MaximumRetryAttempts" not in only_destination
    assert "MaximumEventAgeInSeconds" not in only_destination
    aged = lam.update_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=90)
    assert aged["MaximumEventAgeInSeconds"] == 90 and "MaximumRetryAttempts" not in aged
    assert aged["DestinationConfig"]["OnFailure"] == {"Destination": target}
    updated = lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": target}},
    )
    listed = lam.list_function_event_invoke_configs(FunctionName=name)
    assert len(listed["FunctionEventInvokeConfigs"]) == 1
    ghost = target.rsplit(":", 1)[0] + ":no-such-function"
    dynamo = "arn:aws:dynamodb:us-east-1:000000000000:table/t"
    for destination, error in [
        (fn["FunctionArn"], "You can't specify the function as a destination for itself."),
        (ghost, f"The destination ARN {ghost} is invalid."),
        (
            dynamo,
            f"The provided destination config DestinationConfig(onSuccess=OnSuccess("
            f"destination={dynamo}), onFailure=null) is invalid.",
        ),
    ]:
        with pytest.raises(ClientError) as exc:
            lam.put_function_event_invoke_config(
                FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": destination}}
            )
        assert error_of(exc) == ("InvalidParameterValueException", error)
    with pytest.raises(ClientError) as exc:
        lam.put_function_event_invoke_config(
            FunctionName=name,
            DestinationConfig={
                "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:dlq"}
            },
        )
    assert exc.value.response["Error"]["Code"] == "NotImplementedException"
    # Refused changes left the configuration as it was.
    got = lam.get_function_event_invoke_config(FunctionName=name)
    assert got["DestinationConfig"]["OnFailure"] == {"Destination": target}
    lam.delete_function_event_invoke_config(FunctionName=name)
    with pytest.raises(ClientError):
        lam.get_function_event_invoke_config(FunctionName=name)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_no_accepted_event_is_lost_when_the_server_is_killed(
    new_server: Any, tmp_path: Any, sink: Sink
) -> None:
    data = tmp_path / "crash"
    first = new_server(data)
    lam = first.client()
    # Slow and narrow enough that the backlog outlives the enqueueing (about 12 s to work
    # off), so the kill below lands mid-way.
    name = create_function(lam, SLOW_ECHO, **env(sink))["FunctionName"]
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=4)
    total = 1000
    accepted: set[int] = set()
    lock = threading.Lock()

    def send(n: int) -> None:
        response = lam.invoke(
            FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": n})
        )
        if response["StatusCode"] == 202:
            with lock:
                accepted.add(n)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(total)))
    assert len(accepted) == total
    # Kill the server while the backlog is being worked off.
    sink.wait_for(lambda bodies: len(bodies) >= 100, timeout=120)
    first.stop(signal.SIGKILL)
    ran_before = {json.loads(b)["event"]["n"] for b in sink.received()}
    assert len(ran_before) < total, "the kill came too late to prove anything"

    new_server(data)

    def all_ran(bodies: list[bytes]) -> bool:
        return {json.loads(b)["event"]["n"] for b in bodies} >= accepted

    sink.wait_for(all_ran, timeout=240)
    lost = accepted - {json.loads(b)["event"]["n"] for b in sink.received()}
    assert lost == set()


def test_async_events_wait_for_concurrency_instead_of_failing(lam: Any, sink: Sink) -> None:
    slow = REPORTER + (
        "import time\n"
        "def handler(event, context):\n"
        "    time.sleep(0.3)\n"
        "    report(json.dumps({'n': event['n']}).encode())\n"
    )
    name = create_function(lam, slow, **env(sink))["FunctionName"]
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    for n in range(5):
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": n}))
    got = sink.wait_for(lambda bodies: len(bodies) >= 5, timeout=60)
    assert sorted(json.loads(b)["n"] for b in got) == [0, 1, 2, 3, 4]
