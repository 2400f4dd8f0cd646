"""Fixtures for the wire layer: fake services behind a real uvicorn server, boto3 clients."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import uvicorn
from botocore.config import Config

from stratus.errors import RequestTooLargeException, ValidationException
from stratus.wire import WireApp
from stratus.wire.types import OperationHandler, Params, Principal, RequestContext, Result

ACCESS_KEY = "AKIAWIRETEST00000001"
SECRET_KEY = "wire-test-secret-key-000000000000000000"
ACCOUNT = "123456789012"
PRINCIPAL = Principal(ACCESS_KEY, ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root")
#: The fake Lambda's Invoke limit, small so the too-large test stays quick.
INVOKE_LIMIT = 256 * 1024

Behaviour = Result | Exception | Callable[[Params, RequestContext], Result] | None


@dataclass
class Call:
    """One handler call as the fake service saw it."""

    operation: str
    params: Params
    context: RequestContext
    thread: str


class Credentials:
    """A one-key credential store."""

    def lookup(self, access_key_id: str) -> tuple[str, Principal] | None:
        return (SECRET_KEY, PRINCIPAL) if access_key_id == ACCESS_KEY else None


@dataclass
class FakeService:
    """A Service for any model: records calls and answers what the test scripted."""

    model_name: str
    implemented: Iterable[str]
    async_operations: Iterable[str] = ()
    calls: list[Call] = field(default_factory=list)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)

    def reset(self) -> None:
        self.calls.clear()
        self.behaviours.clear()

    def operations(self) -> Mapping[str, OperationHandler]:
        handlers: dict[str, OperationHandler] = {}
        for name in self.implemented:
            if name in set(self.async_operations):
                handlers[name] = self._async_handler(name)
            else:
                handlers[name] = self._sync_handler(name)
        return handlers

    def max_request_bytes(self, operation: str) -> int:
        return INVOKE_LIMIT if operation == "Invoke" else 1024 * 1024

    def request_too_large(self, operation: str, limit: int) -> Exception:
        return RequestTooLargeException(
            f"Request must be smaller than {limit} bytes for the {operation} operation"
        )

    def invalid_request(self, message: str) -> Exception:
        return ValidationException(message)

    def last(self, operation: str) -> Call:
        found = [call for call in self.calls if call.operation == operation]
        assert found, f"{operation} was never called; calls: {[c.operation for c in self.calls]}"
        return found[-1]

    def _answer(self, name: str, params: Params, context: RequestContext) -> Result:
        self.calls.append(Call(name, params, context, threading.current_thread().name))
        behaviour = self.behaviours.get(name)
        if isinstance(behaviour, Exception):
            raise behaviour
        if callable(behaviour):
            return behaviour(params, context)
        return behaviour or {}

    def _sync_handler(self, name: str) -> OperationHandler:
        def handler(params: Params, context: RequestContext) -> Result:
            return self._answer(name, params, context)

        return handler

    def _async_handler(self, name: str) -> OperationHandler:
        async def handler(params: Params, context: RequestContext) -> Result:
            return self._answer(name, params, context)

        return handler


LAMBDA_OPERATIONS = [
    "Invoke",
    "InvokeAsync",
    "CreateFunction",
    "GetFunction",
    "GetFunctionConfiguration",
    "DeleteFunction",
    "ListFunctions",
    "UpdateFunctionConfiguration",
    "CreateAlias",
    "GetAlias",
    "DeleteAlias",
    "TagResource",
    "UntagResource",
    "ListTags",
    "ListLayers",
    "GetLayerVersionByArn",
    "GetLayerVersion",
    "PutFunctionConcurrency",
    "GetFunctionConcurrency",
    "ListProvisionedConcurrencyConfigs",
    "GetProvisionedConcurrencyConfig",
    "GetEventSourceMapping",
    "CreateEventSourceMapping",
]


@dataclass
class Harness:
    """The running server and the fakes behind it."""

    endpoint: str
    host: str
    port: int
    lambda_service: FakeService
    logs_service: FakeService
    sfn_service: FakeService
    app: WireApp
    clients: list[Any] = field(default_factory=list)

    def client(self, service: str, endpoint: str | None = None, **options: Any) -> Any:
        secret = options.pop("secret", SECRET_KEY)
        access_key = options.pop("access_key", ACCESS_KEY)
        config: dict[str, Any] = {"retries": {"max_attempts": 1}, "read_timeout": 30}
        config.update(options)
        made = boto3.client(
            service,
            endpoint_url=endpoint or self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret,
            config=Config(**config),
        )
        self.clients.append(made)
        return made

    def close_clients(self) -> None:
        """Close the clients' connection pools (an unclosed socket is a test error)."""
        while self.clients:
            self.clients.pop().close()


@pytest.fixture(scope="session")
def wire_harness() -> Iterator[Harness]:
    """One WireApp under uvicorn on a free loopback port for the whole session."""
    lambda_service = FakeService("lambda", LAMBDA_OPERATIONS, async_operations=["Invoke"])
    logs_service = FakeService(
        "logs", ["CreateLogGroup", "DescribeLogGroups", "PutLogEvents", "GetLogEvents"]
    )
    sfn_service = FakeService(
        "stepfunctions", ["DescribeStateMachine", "StartExecution"], ["StartExecution"]
    )
    app = WireApp([lambda_service, logs_service, sfn_service], Credentials(), "us-east-1")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield Harness(
            f"http://127.0.0.1:{port}",
            "127.0.0.1",
            port,
            lambda_service,
            logs_service,
            sfn_service,
            app,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture
def harness(wire_harness: Harness) -> Iterator[Harness]:
    """The session harness with the fakes' calls and scripts cleared."""
    for fake in (wire_harness.lambda_service, wire_harness.logs_service, wire_harness.sfn_service):
        fake.reset()
    yield wire_harness
    wire_harness.close_clients()
