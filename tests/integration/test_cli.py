"""The `stratus` CLI and the AWS CLI against a real server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ACCESS_KEY, SECRET_KEY, create_function, make_zip, unique


def stratus(server: Any, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "STRATUS_ENDPOINT": server.endpoint,
        "STRATUS_ACCESS_KEY_ID": ACCESS_KEY,
        "STRATUS_SECRET_ACCESS_KEY": SECRET_KEY,
    }
    result = subprocess.run(
        [sys.executable, "-m", "stratus.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def aws(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if binary is None:
        pytest.fail("the AWS CLI is a dev dependency and must be installed")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [binary, "--endpoint-url", server.endpoint, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_invoke_list_and_logs(server: Any, tmp_path: Path) -> None:
    name = unique("cli")
    source = tmp_path / name
    source.mkdir()
    (source / "app.py").write_text(
        "def handler(event, context):\n"
        "    print('cli says', event['x'])\n"
        "    return event['x'] * 2\n"
    )
    deployed = stratus(server, "deploy", str(source), "--timeout", "10")
    assert "created" in deployed.stdout
    invoked = stratus(server, "invoke", name, "--payload", '{"x": 21}')
    assert json.loads(invoked.stdout) == 42
    assert "START RequestId" in invoked.stderr and "cli says 21" in invoked.stderr

    event_file = tmp_path / "event.json"
    event_file.write_text('{"x": 5}')
    assert json.loads(stratus(server, "invoke", name, "--event", str(event_file)).stdout) == 10

    (source / "app.py").write_text("def handler(event, context):\n    return 'v2'\n")
    assert "updated" in stratus(server, "deploy", str(source)).stdout
    assert json.loads(stratus(server, "invoke", name).stdout) == "v2"

    listed = stratus(server, "functions")
    row = next(line for line in listed.stdout.splitlines() if line.startswith(name + "\t"))
    assert row.split("\t")[5] == "Active"  # the state, which ListFunctions leaves out
    logs = stratus(server, "logs", name)
    assert "cli says 21" in logs.stdout


def test_env_points_the_stratus_cli_at_the_same_server(server: Any) -> None:
    exports = stratus(server, "env", "--data-dir", str(server.data_dir)).stdout
    variables = dict(line.removeprefix("export ").split("=", 1) for line in exports.splitlines())
    assert variables["AWS_ENDPOINT_URL"] == server.endpoint
    assert variables["STRATUS_DATA_DIR"] == str(server.data_dir.resolve())
    # A shell that ran `eval "$(stratus env --data-dir ...)"`: only those exports.
    shell = {k: v for k, v in os.environ.items() if not k.startswith(("STRATUS_", "AWS_"))}
    listed = subprocess.run(
        [sys.executable, "-m", "stratus.cli.main", "functions"],
        env={**shell, **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("name\truntime")


def test_invoke_of_a_failing_function_exits_non_zero(server: Any, tmp_path: Path) -> None:
    source = tmp_path / unique("bad")
    source.mkdir()
    (source / "lambda_function.py").write_text("def handler(e, c):\n    raise KeyError('k')\n")
    stratus(server, "deploy", str(source))
    result = stratus(server, "invoke", source.name, check=False)
    assert result.returncode == 1
    assert json.loads(result.stdout)["errorType"] == "KeyError"


def test_cli_reports_aws_errors_clearly(server: Any) -> None:
    result = stratus(server, "invoke", "no-such-function", check=False)
    assert result.returncode == 1
    assert "ResourceNotFoundException" in result.stderr
    # A value the API refuses is the server's error in AWS's words, not a traceback.
    refused = stratus(server, "concurrency", "no-such-function", "--", "-5", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: ValidationException: 1 validation error detected: Value '-5' at "
        "'reservedConcurrentExecutions' failed to satisfy constraint: Member must have "
        "value greater than or equal to 0"
    )


def test_aws_cli_lists_and_invokes(server: Any, tmp_path: Path) -> None:
    source = tmp_path / unique("awscli")
    source.mkdir()
    (source / "lambda_function.py").write_text("def handler(e, c):\n    return {'via': 'aws'}\n")
    stratus(server, "deploy", str(source))
    listed = aws(server, "lambda", "list-functions")
    assert listed.returncode == 0, listed.stderr
    assert source.name in {f["FunctionName"] for f in json.loads(listed.stdout)["Functions"]}
    out = tmp_path / "out.json"
    invoked = aws(
        server,
        "lambda",
        "invoke",
        "--function-name",
        source.name,
        "--payload",
        "{}",
        str(out),
    )
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout)["StatusCode"] == 200
    assert json.loads(out.read_text()) == {"via": "aws"}
    missing = aws(server, "lambda", "get-function", "--function-name", "not-there-at-all")
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr


def test_versions_aliases_concurrency_and_async_from_the_cli(server: Any, tmp_path: Path) -> None:
    source = tmp_path / unique("rel")
    source.mkdir()
    (source / "lambda_function.py").write_text("def handler(e, c):\n    return 'one'\n")
    stratus(server, "deploy", str(source))
    assert "version 1" in stratus(server, "publish", source.name).stdout
    (source / "lambda_function.py").write_text("def handler(e, c):\n    return 'two'\n")
    stratus(server, "deploy", str(source))
    assert "version 2" in stratus(server, "publish", source.name, "--description", "b").stdout
    stratus(server, "alias", source.name, "live", "1")
    assert json.loads(stratus(server, "invoke", source.name, "--qualifier", "live").stdout) == "one"
    stratus(server, "alias", source.name, "live", "2")
    assert json.loads(stratus(server, "invoke", source.name, "--qualifier", "live").stdout) == "two"
    stratus(server, "alias", source.name, "live", "1", "--weight", "2=0.5")
    listing = stratus(server, "versions", source.name).stdout
    assert "alias live -> 1 + 2 at 50%" in listing
    assert listing.splitlines()[0].startswith("$LATEST")
    assert "2 reserved" in stratus(server, "concurrency", source.name, "2").stdout
    assert "0 reserved" in stratus(server, "concurrency", source.name, "0").stdout
    throttled = stratus(server, "invoke", source.name, check=False)
    assert throttled.returncode == 1
    assert throttled.stderr.strip() == (
        "error: TooManyRequestsException: Rate Exceeded. "
        "(Reason: ReservedFunctionConcurrentInvocationLimitExceeded)"
    )
    assert "unreserved" in stratus(server, "concurrency", source.name, "--clear").stdout
    queued = stratus(server, "invoke", source.name, "--async")
    assert "queued" in queued.stdout


def test_aliases_versions_and_functions_deleted_from_the_cli(server: Any, tmp_path: Path) -> None:
    source = tmp_path / unique("gone")
    source.mkdir()
    (source / "lambda_function.py").write_text("def handler(e, c):\n    return 'one'\n")
    stratus(server, "deploy", str(source))
    stratus(server, "publish", source.name)
    stratus(server, "publish", source.name, "--description", "again")  # nothing new: still 1
    (source / "lambda_function.py").write_text("def handler(e, c):\n    return 'two'\n")
    stratus(server, "deploy", str(source))
    stratus(server, "publish", source.name)
    stratus(server, "alias", source.name, "live", "1", "--weight", "2=0.25")
    shown = stratus(server, "alias", source.name, "live").stdout
    assert shown.strip() == "alias live -> 1 + 2 at 25%"

    refused = stratus(server, "delete", source.name, "--qualifier", "1", check=False)
    assert refused.returncode == 1
    assert "aliases reference it: [live]" in refused.stderr
    assert "deleted alias live" in stratus(server, "alias", source.name, "live", "--delete").stdout
    missing = stratus(server, "alias", source.name, "live", check=False)
    assert missing.returncode == 1
    assert "ResourceNotFoundException" in missing.stderr
    assert "deleted version 1" in stratus(server, "delete", source.name, "--qualifier", "1").stdout
    listing = stratus(server, "versions", source.name).stdout.splitlines()
    assert [line.split("\t")[0] for line in listing] == ["$LATEST", "2"]

    assert stratus(server, "delete", source.name).stdout.strip() == f"deleted {source.name}"
    gone = stratus(server, "invoke", source.name, check=False)
    assert gone.returncode == 1
    assert "ResourceNotFoundException" in gone.stderr
    usage = stratus(server, "alias", source.name, "live", "1", "--delete", check=False)
    assert usage.returncode == 1
    assert "--delete takes no version" in usage.stderr


def test_layers_provisioned_async_and_permissions_from_the_cli(server: Any, tmp_path: Path) -> None:
    layer_name = unique("greet")
    layer = tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    (layer / "python" / "greet.py").write_text("WORD = 'hi from the layer'\n")
    published = stratus(server, "layers", "publish", str(layer), "--name", layer_name)
    arn = published.stdout.splitlines()[-1]
    assert arn.endswith(f":layer:{layer_name}:1")
    assert f"{layer_name}\t1\tany runtime\t{arn}" in stratus(server, "layers").stdout
    assert stratus(server, "layers", "versions", layer_name).stdout.startswith("1\t")

    source = tmp_path / unique("uses")
    source.mkdir()
    (source / "lambda_function.py").write_text(
        "import greet\ndef handler(e, c):\n    raise ValueError(greet.WORD)\n"
    )
    stratus(server, "deploy", str(source), "--layer", layer_name)
    failed = stratus(server, "invoke", source.name, check=False)
    assert "hi from the layer" in failed.stdout + failed.stderr
    wrong = stratus(server, "deploy", str(source), "--layer", f"{layer_name}:x", check=False)
    assert wrong.returncode != 0 and "NAME:VERSION" in wrong.stderr

    # Provisioned concurrency of a version, and the function's concurrency summary.
    stratus(server, "publish", source.name)
    assert "of 1 provisioned" in stratus(server, "provisioned", source.name, "1", "1").stdout
    deadline = time.monotonic() + 30
    while "READY" not in (shown := stratus(server, "provisioned", source.name, "1").stdout):
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)
    assert "1: 1 of 1 provisioned, READY" in stratus(server, "concurrency", source.name).stdout
    stratus(server, "provisioned", source.name, "1", "--clear")
    gone = stratus(server, "provisioned", source.name, "1", check=False)
    assert "ProvisionedConcurrencyConfigNotFoundException" in gone.stderr

    # Retries and destinations of asynchronous invocations: each change keeps the rest.
    sink = tmp_path / unique("sink")
    sink.mkdir()
    (sink / "lambda_function.py").write_text("def handler(e, c):\n    return e\n")
    stratus(server, "deploy", str(sink))
    assert "Lambda's defaults" in stratus(server, "async-config", source.name).stdout
    shown = stratus(
        server, "async-config", source.name, "--retries", "0", "--on-failure", sink.name
    ).stdout
    assert "0 retries, events kept 21600 s\n  on failure -> " in shown
    assert shown.rstrip().endswith(f":function:{sink.name}")
    shown = stratus(server, "async-config", source.name, "--max-age", "60").stdout
    assert "0 retries, events kept 60 s" in shown and "on failure" in shown
    shown = stratus(server, "async-config", source.name, "--on-failure", "none").stdout
    assert "0 retries, events kept 60 s" in shown and "on failure" not in shown
    cleared = stratus(server, "async-config", source.name, "--clear").stdout
    assert "Lambda's defaults" in cleared

    # The resource policy, statement by statement.
    added = stratus(
        server,
        "permissions",
        "add",
        source.name,
        "from-s3",
        "--principal",
        "s3.amazonaws.com",
        "--source-arn",
        "arn:aws:s3:::uploads",
    ).stdout
    assert json.loads(added)["Sid"] == "from-s3"
    listed = stratus(server, "permissions", "list", source.name).stdout
    assert listed.startswith("from-s3\tAllow\ts3.amazonaws.com\tlambda:InvokeFunction\t")
    assert "arn:aws:s3:::uploads" in listed
    stratus(server, "permissions", "remove", source.name, "from-s3")
    empty = stratus(server, "permissions", "list", source.name, check=False)
    assert empty.returncode != 0 and "ResourceNotFoundException" in empty.stderr


def test_listings_show_every_page(new_server: Any) -> None:
    """Lambda answers 50 items a page, REST APIs 25 and Step Functions 100: the CLI's
    listings follow the pages to the end (a private server, to know every count)."""
    server = new_server()
    lam = server.client("lambda")
    function = create_function(lam, "def handler(e, c):\n    return e\n")["FunctionName"]
    for index in range(52):
        lam.create_alias(FunctionName=function, Name=f"a{index}", FunctionVersion="$LATEST")
    content = {"ZipFile": make_zip({"python/x.py": "X = 1\n"})}
    for _ in range(51):
        lam.publish_layer_version(LayerName="many-versions", Content=content)
    for index in range(51):
        lam.publish_layer_version(LayerName=f"layer-{index}", Content=content)
    apigateway = server.client("apigateway")
    for index in range(26):
        apigateway.create_rest_api(name=f"api-{index}")
    sfn = server.client("stepfunctions")
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    for index in range(101):
        sfn.create_state_machine(
            name=f"m{index}", definition=definition, roleArn="arn:aws:iam::000000000000:role/r"
        )

    versions = stratus(server, "versions", function).stdout.splitlines()
    assert versions[0].startswith("$LATEST\t")
    assert sorted(line.split()[1] for line in versions[1:]) == sorted(
        f"a{index}" for index in range(52)
    )
    layer_versions = stratus(server, "layers", "versions", "many-versions").stdout.splitlines()
    assert [line.split("\t")[0] for line in layer_versions] == [str(n) for n in range(51, 0, -1)]
    layers = stratus(server, "layers").stdout.splitlines()
    assert len(layers) == 52 and sum(line.startswith("layer-") for line in layers) == 51
    apis = stratus(server, "apis").stdout
    assert sorted(line.split("\t")[2] for line in apis.splitlines() if "\tREST\t" in line) == (
        sorted(f"api-{index}" for index in range(26))
    )
    machines = stratus(server, "workflows", "list").stdout.splitlines()
    assert sorted(line.split("\t")[0] for line in machines) == sorted(f"m{n}" for n in range(101))
    none = stratus(server, "layers", "versions", "no-such-layer").stdout
    assert none == "No versions of layer no-such-layer.\n"


def test_workflows_from_a_file_started_watched_and_read_back(server: Any, tmp_path: Path) -> None:
    name = unique("wf")
    definition = {
        "StartAt": "Greet",
        "States": {
            "Greet": {
                "Type": "Pass",
                "Parameters": {"greeting.$": "States.Format('Hello, {}', $.who)"},
                "Next": "Pause",
            },
            "Pause": {"Type": "Wait", "Seconds": 1, "End": True},
        },
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(definition))
    created = stratus(server, "workflows", "create", str(path))
    assert created.stdout.strip().endswith(f":stateMachine:{name}")
    assert name in stratus(server, "workflows", "list").stdout

    started = stratus(server, "workflows", "start", name, "--input", '{"who": "Ada"}', "--watch")
    lines = started.stdout.splitlines()
    execution = lines[0].strip()
    assert ":execution:" in execution
    entered = [line for line in lines if "StateEntered" in line]
    assert "Greet" in entered[0] and "Pause" in entered[1]
    assert json.loads("\n".join(lines[lines.index("{") :])) == {"greeting": "Hello, Ada"}

    history = stratus(server, "workflows", "history", execution).stdout
    assert "ExecutionStarted" in history and "ExecutionSucceeded" in history

    express = tmp_path / "express.json"
    express.write_text(json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    stratus(server, "workflows", "create", str(express), "--name", f"{name}-x", "--type", "EXPRESS")
    ran = stratus(server, "workflows", "start", f"{name}-x", "--input", '{"a": 1}')
    assert json.loads(ran.stdout) == {"a": 1}

    failed = stratus(server, "workflows", "start", "no-such-machine", check=False)
    assert failed.returncode == 1 and "no state machine named" in failed.stderr


def test_aws_cli_drives_step_functions(server: Any, tmp_path: Path) -> None:
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    created = aws(
        server,
        "stepfunctions",
        "create-state-machine",
        "--name",
        unique("cli"),
        "--definition",
        definition,
        "--role-arn",
        "arn:aws:iam::000000000000:role/r",
    )
    assert created.returncode == 0, created.stderr
    arn = json.loads(created.stdout)["stateMachineArn"]
    started = aws(server, "stepfunctions", "start-execution", "--state-machine-arn", arn)
    assert started.returncode == 0, started.stderr
    execution = json.loads(started.stdout)["executionArn"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = aws(server, "stepfunctions", "describe-execution", "--execution-arn", execution)
        if json.loads(described.stdout)["status"] != "RUNNING":
            break
        time.sleep(0.2)
    assert json.loads(described.stdout)["status"] == "SUCCEEDED"
