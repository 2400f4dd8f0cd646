"""Invoke through boto3: results, errors, logs, context, instances."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from stratus.runtimes.catalog import PYTHON_RUNTIMES, find_runtime
from tests.conftest import SERVER_SECRET, create_function

CONTEXT_PROBE = """
import os

COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    print("probe got", event)
    ident = context.identity
    cc = context.client_context
    return {
        "event": event,
        "count": COUNT,
        "pid": os.getpid(),
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "identity": [ident.cognito_identity_id, ident.cognito_identity_pool_id],
        "client_context": None if cc is None else {
            "custom": cc.custom, "env": cc.env, "app_title": cc.client.app_title,
        },
        "env": dict(os.environ),
    }
"""


def invoke_json(lam: Any, name: str, payload: Any = None, **kwargs: Any) -> tuple[Any, Any]:
    args: dict[str, Any] = {"FunctionName": name, **kwargs}
    if payload is not None:
        args["Payload"] = json.dumps(payload)
    response = lam.invoke(**args)
    return response, json.loads(response["Payload"].read())


@pytest.fixture(scope="module")
def probe(server: Any) -> str:
    lam = server.client()
    return str(
        create_function(
            lam, CONTEXT_PROBE, MemorySize=256, Environment={"Variables": {"MY_VAR": "mine"}}
        )["FunctionName"]
    )


def test_result_context_and_environment(lam: Any, probe: str) -> None:
    response, body = invoke_json(lam, probe, {"hello": "world"})
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert body["event"] == {"hello": "world"}
    assert body["function_name"] == probe
    assert body["function_version"] == "$LATEST"
    assert body["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{probe}"
    assert body["memory_limit_in_mb"] == "256"
    assert body["log_group_name"] == f"/aws/lambda/{probe}"
    assert body["log_stream_name"].startswith(time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()))
    assert 0 < body["remaining"] <= 3000
    assert body["identity"] == [None, None]
    assert body["client_context"] is None
    env = body["env"]
    assert env["MY_VAR"] == "mine"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == probe
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["_HANDLER"] == "lambda_function.handler"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == body["log_stream_name"]
    assert env["TZ"] == ":UTC"
    assert "LAMBDA_TASK_ROOT" in env
    assert "_X_AMZN_TRACE_ID" in env
    assert SERVER_SECRET not in env
    assert "STRATUS_SECRET_ACCESS_KEY" not in env


def test_warm_instances_keep_module_state(lam: Any, probe: str) -> None:
    _, first = invoke_json(lam, probe, {})
    _, second = invoke_json(lam, probe, {})
    assert second["log_stream_name"] == first["log_stream_name"]
    assert second["count"] == first["count"] + 1


def test_concurrent_calls_get_more_instances(lam: Any) -> None:
    # An instance is told apart by its log stream: process ids repeat across instances
    # that each have their own PID namespace.
    name = create_function(
        lam,
        "import time\ndef handler(e, c):\n    time.sleep(1.0)\n    return c.log_stream_name\n",
    )["FunctionName"]

    def call(_: int) -> str:
        return str(json.loads(lam.invoke(FunctionName=name)["Payload"].read()))

    with ThreadPoolExecutor(4) as pool:
        instances = list(pool.map(call, range(4)))
    assert len(set(instances)) == 4


def test_client_context_reaches_the_handler(lam: Any, probe: str) -> None:
    context = {"custom": {"k": "v"}, "env": {"locale": "en"}, "client": {"app_title": "demo"}}
    encoded = base64.b64encode(json.dumps(context).encode()).decode()
    _, body = invoke_json(lam, probe, {}, ClientContext=encoded)
    assert body["client_context"] == {
        "custom": {"k": "v"},
        "env": {"locale": "en"},
        "app_title": "demo",
    }


def test_log_tail_has_platform_lines_and_output(lam: Any) -> None:
    name = create_function(lam, "def handler(e, c):\n    print('line from the handler')\n")[
        "FunctionName"
    ]
    cold = lam.invoke(FunctionName=name, LogType="Tail")
    tail = base64.b64decode(cold["LogResult"]).decode()
    request_id = cold["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert request_id
    lines = tail.splitlines()
    start = next(line for line in lines if line.startswith("START RequestId: "))
    assert start.endswith("Version: $LATEST")
    assert "line from the handler" in lines
    assert any(line.startswith("END RequestId: ") for line in lines)
    report = next(line for line in lines if line.startswith("REPORT RequestId: "))
    fields = report.split("\t")
    assert fields[1].startswith("Duration: ") and fields[1].endswith(" ms")
    assert fields[2].startswith("Billed Duration: ")
    assert fields[3] == "Memory Size: 128 MB"
    assert fields[4].startswith("Max Memory Used: ")
    assert "Init Duration: " in report
    warm = lam.invoke(FunctionName=name, LogType="Tail")
    assert "Init Duration" not in base64.b64decode(warm["LogResult"]).decode()
    assert "LogResult" not in lam.invoke(FunctionName=name)


def test_log_tail_is_the_last_4_kb(lam: Any) -> None:
    name = create_function(lam, "def handler(e, c):\n    print('x' * 100000)\n")["FunctionName"]
    tail = base64.b64decode(lam.invoke(FunctionName=name, LogType="Tail")["LogResult"])
    assert len(tail) == 4096
    assert tail.decode().rstrip().splitlines()[-1].startswith("REPORT")


def test_handler_exception_is_an_unhandled_function_error(lam: Any) -> None:
    name = create_function(lam, "def handler(e, c):\n    raise ValueError('kaboom')\n")[
        "FunctionName"
    ]
    response, body = invoke_json(lam, name, {}, LogType="Tail")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "kaboom"
    assert body["requestId"]
    assert any("lambda_function.py" in frame for frame in body["stackTrace"])
    assert "[ERROR] ValueError: kaboom" in base64.b64decode(response["LogResult"]).decode()


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        (
            {"lambda_function.py": "import not_a_module\n"},
            "lambda_function.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'lambda_function': No module named 'not_a_module'",
        ),
        (
            {"lambda_function.py": "def other(e, c): pass\n"},
            "lambda_function.handler",
            "Runtime.HandlerNotFound",
            "Handler 'handler' missing on module 'lambda_function'",
        ),
        (
            {"lambda_function.py": "def handler(e, c):\n  return (\n"},
            "lambda_function.handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'lambda_function'",
        ),
        (
            {"lambda_function.py": "x = 1\n"},
            "nodot",
            "Runtime.MalformedHandlerName",
            "Bad handler 'nodot'",
        ),
        (
            {"lambda_function.py": "raise RuntimeError('init broke')\n"},
            "lambda_function.handler",
            "RuntimeError",
            "init broke",
        ),
    ],
)
def test_init_failures_are_runtime_errors(
    lam: Any, files: dict[str, str], handler: str, error_type: str, message: str
) -> None:
    name = create_function(lam, files, handler=handler)["FunctionName"]
    response, body = invoke_json(lam, name, {}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == error_type
    assert body["errorMessage"].startswith(message)
    assert body["requestId"] == ""
    tail = base64.b64decode(response["LogResult"]).decode()
    assert f"Error Type: {error_type}" in tail


def test_unserialisable_result_is_a_marshal_error(lam: Any) -> None:
    name = create_function(lam, "def handler(e, c):\n    return {1, 2}\n")["FunctionName"]
    response, body = invoke_json(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.MarshalError"
    assert "set is not JSON serializable" in body["errorMessage"]


def test_timeout_kills_the_instance_and_the_next_call_starts_fresh(lam: Any) -> None:
    code = """
import time
def handler(event, context):
    if event.get("hang"):
        time.sleep(30)
    return context.log_stream_name
"""
    name = create_function(lam, code, Timeout=1)["FunctionName"]
    first_instance = invoke_json(lam, name, {})[1]
    response, body = invoke_json(lam, name, {"hang": True}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "Task timed out after 1.00 seconds" in tail
    assert "Status: timeout" in tail
    # The timed-out instance was killed: the next call runs in a new one.
    assert invoke_json(lam, name, {})[1] != first_instance


def test_crash_is_a_runtime_exit_error(lam: Any) -> None:
    name = create_function(lam, "import os\ndef handler(e, c):\n    os._exit(3)\n")["FunctionName"]
    response, body = invoke_json(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")
    # The server keeps serving: the same function answers again (with a new instance).
    assert invoke_json(lam, name, {})[1]["errorType"] == "Runtime.ExitError"


def test_payload_limits(lam: Any, probe: str) -> None:
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=probe, Payload=b'"' + b"x" * 6_291_456 + b'"')
    error = exc.value.response["Error"]
    assert error["Code"] == "RequestTooLargeException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "6291456 bytes" in error["Message"]
    # Just under the limit goes through.
    big = "y" * 6_000_000
    _, body = invoke_json(lam, probe, big)
    assert body["event"] == big


def test_response_over_6_mb_is_a_function_error(lam: Any) -> None:
    name = create_function(lam, "def handler(e, c):\n    return 'z' * 6_300_000\n")["FunctionName"]
    response, body = invoke_json(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Function.ResponseSizeTooLarge"


def test_invalid_json_payload_is_refused(lam: Any, probe: str) -> None:
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=probe, Payload=b"{not json")
    assert exc.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_dry_run(lam: Any, probe: str) -> None:
    dry = lam.invoke(FunctionName=probe, InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    assert dry["Payload"].read() == b""
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="missing-fn", InvocationType="DryRun")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_request_id_is_the_invocation_id(lam: Any, probe: str) -> None:
    response, body = invoke_json(lam, probe, {})
    assert body["aws_request_id"] == response["ResponseMetadata"]["RequestId"]


@pytest.mark.parametrize("runtime", PYTHON_RUNTIMES[:4])
def test_every_available_python_runtime(lam: Any, runtime: str) -> None:
    if find_runtime(runtime) is None:
        pytest.skip(f"{runtime} is not installed on this host")
    code = "import sys\ndef handler(e, c):\n    return '%d.%d' % sys.version_info[:2]\n"
    name = create_function(lam, code, runtime=runtime)["FunctionName"]
    _, body = invoke_json(lam, name, {})
    assert body == runtime.removeprefix("python")


def test_updated_code_is_what_runs_next(lam: Any) -> None:
    from tests.conftest import make_zip

    name = create_function(lam, "def handler(e, c):\n    return 'v1'\n")["FunctionName"]
    assert invoke_json(lam, name)[1] == "v1"
    lam.update_function_code(
        FunctionName=name,
        ZipFile=make_zip({"lambda_function.py": "def handler(e, c):\n    return 'v2'\n"}),
    )
    assert invoke_json(lam, name)[1] == "v2"


def test_idle_instances_are_reaped(new_server: Any) -> None:
    srv = new_server(STRATUS_IDLE_TIMEOUT="0.5")
    lam = srv.client()
    name = create_function(lam, "import os\ndef handler(e, c):\n    return os.getpid()\n")[
        "FunctionName"
    ]
    first = lam.invoke(FunctionName=name, LogType="Tail")
    assert "Init Duration" in base64.b64decode(first["LogResult"]).decode()
    time.sleep(2.0)
    again = lam.invoke(FunctionName=name, LogType="Tail")
    assert "Init Duration" in base64.b64decode(again["LogResult"]).decode()


def test_logs_are_stored_per_function_in_streams(server: Any) -> None:
    lam, logs = server.client(), server.client("logs")
    name = create_function(lam, "def handler(e, c):\n    print('stored line', e['n'])\n")[
        "FunctionName"
    ]
    for n in range(3):
        lam.invoke(FunctionName=name, Payload=json.dumps({"n": n}))
    group = f"/aws/lambda/{name}"
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert len(streams) == 1
    assert "[$LATEST]" in streams[0]["logStreamName"]
    events = logs.filter_log_events(logGroupName=group)["events"]
    messages = [e["message"] for e in events]
    stamps = [e["timestamp"] for e in events]
    assert streams[0]["firstEventTimestamp"] == min(stamps)
    assert streams[0]["lastEventTimestamp"] == max(stamps)
    assert streams[0]["lastIngestionTime"] >= max(stamps)
    assert [m for m in messages if m.startswith("stored line")] == [
        "stored line 0",
        "stored line 1",
        "stored line 2",
    ]
    assert sum(m.startswith("REPORT") for m in messages) == 3
    only = logs.filter_log_events(logGroupName=group, filterPattern='"stored line 1"')["events"]
    assert [e["message"] for e in only] == ["stored line 1"]
    head = logs.get_log_events(
        logGroupName=group, logStreamName=streams[0]["logStreamName"], startFromHead=True, limit=2
    )
    assert len(head["events"]) == 2
    assert head["events"][0]["message"].startswith("INIT_START")
    groups = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group]
    with pytest.raises(ClientError) as exc:
        logs.filter_log_events(logGroupName="/aws/lambda/none-such")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
