"""How the CLI finds a server and its credentials, and talks to it (through boto3)."""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from stratus.config import DEFAULT_HOST, DEFAULT_PORT, Settings, default_data_dir
from stratus.iam import KeyPair, read_root_credentials


@dataclass(frozen=True)
class Connection:
    """Where the server is and how to sign for it."""

    endpoint: str
    keys: KeyPair
    region: str

    def client(self, service: str) -> Any:
        """A boto3 client for one service of this server."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.keys.access_key_id,
            aws_secret_access_key=self.keys.secret_access_key,
            # Invocations may run for up to 900 s; botocore's 60 s default would cut
            # them off and retry them.
            # One endpoint serves every service: no "sync-" host prefixes
            # (StartSyncExecution's would not resolve).
            # The server checks parameters as AWS does and answers in AWS's words, which
            # every command prints as it prints any AWS error; botocore's own check would
            # raise an exception of its own kind, which no command expects.
            config=Config(
                read_timeout=960,
                retries={"max_attempts": 1},
                inject_host_prefix=False,
                parameter_validation=False,
            ),
        )

    def info(self) -> dict[str, Any]:
        """Stratus's own description of itself (runtimes, region)."""
        with urllib.request.urlopen(self.endpoint + "/_stratus/info", timeout=10) as response:
            data: dict[str, Any] = json.load(response)
            return data


def connect(endpoint: str | None = None, data_dir: Path | None = None) -> Connection:
    """Endpoint: flag, `STRATUS_ENDPOINT`, the running server's note, the default.

    Credentials: `STRATUS_ACCESS_KEY_ID`/`STRATUS_SECRET_ACCESS_KEY`, the data
    directory's root credentials, then `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`."""
    settings = Settings(data_dir=data_dir or default_data_dir())
    if endpoint is None:
        endpoint = os.environ.get("STRATUS_ENDPOINT")
    if endpoint is None and settings.endpoint_path.exists():
        endpoint = settings.endpoint_path.read_text().strip()
    if endpoint is None:
        endpoint = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    keys = _keys(settings.credentials_path)
    region = os.environ.get("STRATUS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return Connection(endpoint.rstrip("/"), keys, region)


def _keys(path: Path) -> KeyPair:
    key, secret = (
        os.environ.get("STRATUS_ACCESS_KEY_ID"),
        os.environ.get("STRATUS_SECRET_ACCESS_KEY"),
    )
    if key and secret:
        return KeyPair(key, secret)
    stored = read_root_credentials(path)
    if stored:
        return stored
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return KeyPair(key, secret)
    raise SystemExit(
        f"No Stratus credentials found: start `stratus serve` once (it writes {path}), "
        "or set STRATUS_ACCESS_KEY_ID and STRATUS_SECRET_ACCESS_KEY."
    )
