"""`stratus logs`: a function's log lines from its CloudWatch-style log group, once or
followed."""

from __future__ import annotations

import re
import time
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError

from stratus.cli.app import app
from stratus.cli.common import DataDirOpt, EndpointOpt
from stratus.cli.common import aws_error as _aws_error
from stratus.cli.common import connection as _connection
from stratus.cli.common import fail as _fail


@app.command()
def logs(
    name: Annotated[str, typer.Argument(help="Function name.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    since: Annotated[str, typer.Option(help="How far back to start: 30s, 10m, 2h, 1d.")] = "1h",
    endpoint_url: EndpointOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Print a function's log lines (from its CloudWatch-style log group)."""
    conn = _connection(endpoint_url, data_dir)
    client = conn.client("logs")
    group = f"/aws/lambda/{name}"
    start = int((time.time() - _seconds(since)) * 1000)
    seen: set[str] = set()
    try:
        while True:
            kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start}
            while True:
                page = client.filter_log_events(**kwargs)
                for item in page["events"]:
                    if item["eventId"] in seen:
                        continue
                    seen.add(item["eventId"])
                    stamp = time.strftime("%H:%M:%S", time.localtime(item["timestamp"] / 1000))
                    print(f"{stamp} {item['logStreamName'][-8:]} {item['message']}", flush=True)
                if not page.get("nextToken"):
                    break
                kwargs["nextToken"] = page["nextToken"]
            if not follow:
                return
            time.sleep(1.0)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            raise _fail(f"no logs yet for {name} (invoke it first)") from exc
        raise _aws_error(exc) from exc
    except KeyboardInterrupt:
        return


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match:
        raise _fail(f"--since wants a number and a unit (30s, 10m, 2h, 1d), got {text!r}")
    return int(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
