"""CloudWatch Logs through boto3: what PutLogEvents queues is read back whole and in order."""

from __future__ import annotations

import pytest

from tests.conftest import StratusServer, unique

pytestmark = pytest.mark.timeout(60)


def test_a_large_batch_reads_back_whole_and_in_order(server: StratusServer) -> None:
    logs, group = server.client("logs"), unique("/stratus/test/")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    # Odd sizes, NUL and non-ASCII characters: the writer batches rows into multi-row
    # INSERTs, and none of that may cut, drop or reorder a message.
    messages = [f"line {i}\x00after nul é 😀" for i in range(333)]
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {"timestamp": 1_700_000_000_000 + i, "message": m} for i, m in enumerate(messages)
        ],
    )

    events = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)
    assert [e["message"] for e in events["events"]] == messages
    stream = logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    assert stream["firstEventTimestamp"] == 1_700_000_000_000
    assert stream["lastEventTimestamp"] == 1_700_000_000_332
    assert stream["lastIngestionTime"] >= events["events"][-1]["ingestionTime"]


def test_model_violations_are_invalid_parameters_as_logs_names_them(
    server: StratusServer,
) -> None:
    # CloudWatch Logs answers "1 validation error detected: ..." as
    # InvalidParameterException, where Lambda and the others say ValidationException.
    logs = server.client("logs", parameter_validation=False)
    with pytest.raises(logs.exceptions.InvalidParameterException) as caught:
        logs.describe_log_groups(limit=0)
    error = caught.value.response["Error"]
    assert error["Message"] == (
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )
