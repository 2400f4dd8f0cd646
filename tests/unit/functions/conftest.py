"""An in-process Lambda control plane for layers and policies: the real services on a
temporary SQLite store behind a real WireApp under uvicorn, driven with boto3.

Functions are faked (a set of names and qualifiers) so these tests do not depend on the
function service; the integration tests cover the wired server.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import uvicorn
from botocore.config import Config

from stratus.errors import ResourceNotFoundException, ValidationException
from stratus.functions.code import CodeStore
from stratus.functions.layers import LayerService
from stratus.functions.layers_api import LayersApi
from stratus.functions.model import LATEST, function_arn
from stratus.functions.policy import PolicyService
from stratus.functions.policy_api import PolicyApi
from stratus.store import BlobStore, open_database
from stratus.wire import WireApp
from stratus.wire.types import OperationHandler, Principal

ACCESS_KEY = "AKIACONTROLPLANE0001"
SECRET_KEY = "control-plane-test-secret-000000000000000"
ACCOUNT = "123456789012"
REGION = "us-east-1"


class Credentials:
    """A one-key credential store."""

    def lookup(self, access_key_id: str) -> tuple[str, Principal] | None:
        if access_key_id != ACCESS_KEY:
            return None
        return SECRET_KEY, Principal(ACCESS_KEY, ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root")


@dataclass
class FakeFunctions:
    """Function names with their versions and aliases, and FunctionService's check."""

    qualifiers: dict[str, set[str]] = field(default_factory=dict)

    def add(self, name: str, *qualifiers: str) -> str:
        self.qualifiers[name] = {LATEST, *qualifiers}
        return name

    revisions: dict[tuple[str, str], str] = field(default_factory=dict)

    def require(self, name: str, qualifier: str | None) -> None:
        known = self.qualifiers.get(name)
        if known is None or (qualifier is not None and qualifier not in known):
            arn = function_arn(REGION, ACCOUNT, name, qualifier)
            raise ResourceNotFoundException(f"Function not found: {arn}")

    def revision(self, name: str, qualifier: str | None) -> str:
        self.require(name, qualifier)
        return self.revisions.setdefault((name, qualifier or LATEST), str(uuid.uuid4()))

    def renew_revision(self, name: str, qualifier: str | None) -> str:
        self.require(name, qualifier)
        renewed = self.revisions[(name, qualifier or LATEST)] = str(uuid.uuid4())
        return renewed


class ControlPlane:
    """LayersApi and PolicyApi as one `lambda` service (a WireApp routes each model
    once, so two services with the same model cannot sit side by side)."""

    model_name = "lambda"

    def __init__(self, layers_api: LayersApi, policy_api: PolicyApi) -> None:
        self.parts = (layers_api, policy_api)

    def operations(self) -> Mapping[str, OperationHandler]:
        return {name: op for part in self.parts for name, op in part.operations().items()}

    def max_request_bytes(self, operation: str) -> int:
        return max(part.max_request_bytes(operation) for part in self.parts)

    def request_too_large(self, operation: str, limit: int) -> Exception:
        return self.parts[0].request_too_large(operation, limit)

    def invalid_request(self, message: str) -> Exception:
        return ValidationException(message)


@dataclass
class Plane:
    """The running control plane, its services and clients."""

    endpoint: str
    layers: LayerService
    policies: PolicyService
    functions: FakeFunctions
    code: CodeStore
    clients: list[Any] = field(default_factory=list)

    def client(self) -> Any:
        made = boto3.client(
            "lambda",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"max_attempts": 1}, read_timeout=60),
        )
        self.clients.append(made)
        return made


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plane]:
    data: Path = tmp_path_factory.mktemp("control-plane")
    engine = open_database(data / "stratus.db")
    code = CodeStore(BlobStore(data / "blobs"), data / "code")
    functions = FakeFunctions()
    layers = LayerService(engine, code, REGION, ACCOUNT)
    policies = PolicyService(engine, REGION, ACCOUNT, functions)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    api = ControlPlane(
        LayersApi(layers, lambda sha: f"{endpoint}/_stratus/code/{sha}"), PolicyApi(policies)
    )
    app = WireApp([api], Credentials(), REGION)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield Plane(endpoint, layers, policies, functions, code)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        engine.dispose()


@pytest.fixture
def plane(control_plane: Plane) -> Iterator[Plane]:
    yield control_plane
    while control_plane.clients:
        control_plane.clients.pop().close()


@pytest.fixture
def lambda_client(plane: Plane) -> Any:
    return plane.client()
