"""The Lambda data plane: from an Invoke call to an instance and back.

The hot path stays in memory: the function comes from the function service's cache, the
instance spec is cached per revision, log lines are appended to a buffer the log store
commits in the background. Nothing the user's code does can make this raise anything
but a Lambda-shaped error: failures of the code are outcomes, reported with
`X-Amz-Function-Error`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import contextlib
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from stratus.errors import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    RequestTooLargeException,
    ResourceConflictException,
    StratusError,
    TooManyRequestsException,
    not_implemented,
)
from stratus.functions.aliases import AliasService
from stratus.functions.layers import LayerService
from stratus.functions.model import LATEST, FunctionVersion
from stratus.functions.service import FunctionService
from stratus.ids import random_hex
from stratus.ids import request_id as new_request_id
from stratus.invoke import report
from stratus.invoke.admission import Admission
from stratus.observe.logs import LogStore
from stratus.runtimes.catalog import find_runtime
from stratus.sandbox import (
    CapacityExceeded,
    Instance,
    InstanceInitError,
    InstancePool,
    InstanceSpec,
    InvokeOutcome,
    InvokeRequest,
    OutcomeKind,
)

log = logging.getLogger(__name__)

#: Largest synchronous request and response payload (6 MB).
MAX_SYNC_PAYLOAD = 6_291_456
#: How much of the invocation's log `LogType=Tail` returns.
TAIL_BYTES = 4096
#: Largest asynchronous payload (1 MB since October 2025).
MAX_ASYNC_PAYLOAD = 1_048_576
#: How long an Invoke waits for a function that is still being created or updated.
READY_WAIT_SECONDS = 30.0
#: Seconds a deployment waits at most for the sandbox to take note of it.
DEPLOY_NOTE_WAIT = 5.0


EventAcceptor = Callable[[str, str, str | None, bytes], Awaitable[None]]


class ProvisionedSource(Protocol):
    """Where pre-started instances come from (provisioned concurrency)."""

    def take(self, fn: FunctionVersion) -> Instance | None: ...

    def give_back(self, instance: Instance) -> bool: ...


@dataclass(frozen=True)
class InvokeResult:
    """What the Invoke operation answers."""

    status: int
    payload: bytes
    executed_version: str
    function_error: str | None = None
    log_result: str | None = None


class Invoker:
    """Runs synchronous invocations on warm or new instances."""

    def __init__(
        self,
        functions: FunctionService,
        aliases: AliasService,
        pool: InstancePool,
        logs: LogStore,
        admission: Admission,
        layers: LayerService,
        region: str,
        *,
        init_on_deploy: bool = True,
    ) -> None:
        self.functions = functions
        self.aliases = aliases
        self.layers = layers
        self.admission = admission
        #: Commits an asynchronous event (set by the server once the dispatcher exists).
        self.accept_event: EventAcceptor | None = None
        #: Pre-started instances per version (provisioned concurrency), if configured.
        self.provisioned: ProvisionedSource | None = None
        self.pool = pool
        self.logs = logs
        self.region = region
        self._specs: dict[tuple[str, str, str, str], InstanceSpec] = {}
        #: Instances that have served a call, with their log stream (fixed at first use:
        #: the name carries the date, and must not change at midnight).
        self._streams: weakref.WeakKeyDictionary[Instance, str] = weakref.WeakKeyDictionary()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._background: set[asyncio.Future[Any]] = set()
        functions.subscribe(self._function_changed)
        if init_on_deploy:
            functions.subscribe_deployed(self._deployed)

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the server's loop, so control-plane threads can reach the pool."""
        self.loop = loop

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run background work on the loop, keeping a reference until it ends."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- the operation ---------------------------------------------------------------

    async def invoke(
        self,
        name: str,
        qualifier: str | None,
        payload: bytes,
        invocation_type: str = "RequestResponse",
        log_type: str = "None",
        client_context: str | None = None,
        request_id: str | None = None,
    ) -> InvokeResult:
        """Answer an Invoke call. `request_id` is the API request's id: Lambda uses the
        same id for the call and for the invocation (`context.aws_request_id`)."""
        request_id = request_id or new_request_id()
        if invocation_type == "Event" and len(payload) > MAX_ASYNC_PAYLOAD:
            # Refused on its size alone, before anything else, as a synchronous call
            # over its 6 MB is.
            raise RequestTooLargeException(
                f"Request must be smaller than {MAX_ASYNC_PAYLOAD} bytes for the "
                "InvokeFunction operation"
            )
        fn = await self.ready(name, qualifier)
        if invocation_type == "DryRun":
            return InvokeResult(204, b"", fn.version)
        _check_json(payload)
        if invocation_type == "Event":
            if self.accept_event is None:
                raise not_implemented("lambda", "Invoke with InvocationType=Event")
            await self.accept_event(request_id, name, qualifier, payload)
            return InvokeResult(202, b"", fn.version)
        context_json = _decode_client_context(client_context)
        instance = self.take_provisioned(fn)
        if instance is not None:
            return await self.run(
                fn, qualifier, payload, request_id, log_type, context_json, instance
            )
        pooled = self.admission.enter(name)
        try:
            return await self.run(fn, qualifier, payload, request_id, log_type, context_json)
        finally:
            self.admission.leave(name, pooled)

    def take_provisioned(self, fn: FunctionVersion) -> Instance | None:
        """An idle provisioned instance of this version, if there is one: a call it
        serves needs no admission slot (its allocation holds one for good)."""
        return self.provisioned.take(fn) if self.provisioned is not None else None

    async def run(
        self,
        fn: FunctionVersion,
        qualifier: str | None,
        payload: bytes,
        request_id: str,
        log_type: str = "None",
        client_context: str | None = None,
        instance: Instance | None = None,
    ) -> InvokeResult:
        """One invocation of a resolved version on `instance` (one `take_provisioned`
        gave), or else on one from the pool (admission is the caller's business)."""
        lines: list[str] = []
        if instance is None:
            try:
                instance = await self.pool.acquire(self.spec(fn))
            except CapacityExceeded as exc:
                raise TooManyRequestsException(
                    "Rate Exceeded.",
                    Reason="ConcurrentInvocationLimitExceeded",
                    Type="User",
                    retryAfterSeconds="1",
                ) from exc
            except InstanceInitError as init_error:
                return self._init_failed(fn, request_id, init_error, log_type)
        init_ms: float | None = None
        stream = self._streams.get(instance)
        if stream is None:
            stream = self._streams[instance] = _stream_name(fn.version, instance.id)
            init_ms = instance.init_duration_ms
            lines.append(f"INIT_START Runtime Version: {fn.runtime.replace('python', 'python:')}")
            lines.extend(_split(instance.init_logs))
        lines.append(report.start_line(request_id, fn.version))
        request = InvokeRequest(
            request_id=request_id,
            payload=payload,
            deadline=time.time() + fn.timeout,
            invoked_function_arn=self.functions.arn(fn.name, qualifier),
            client_context=client_context,
            trace_id=_trace_id(),
        )
        try:
            outcome = await instance.invoke(request)
        finally:
            if self.provisioned is None or not self.provisioned.give_back(instance):
                self.pool.release(instance)
        return self._finish(fn, request_id, outcome, init_ms, stream, lines, log_type)

    # --- outcomes --------------------------------------------------------------------

    def _finish(
        self,
        fn: FunctionVersion,
        request_id: str,
        outcome: InvokeOutcome,
        init_ms: float | None,
        stream: str,
        lines: list[str],
        log_type: str,
    ) -> InvokeResult:
        lines.extend(_split(outcome.logs))
        status: str | None = None
        error_type: str | None = None
        function_error: str | None = None
        payload = outcome.payload
        if outcome.kind is OutcomeKind.ERROR:
            function_error = "Unhandled"
        elif outcome.kind is OutcomeKind.TIMEOUT:
            function_error, status = "Unhandled", "timeout"
            payload = report.timeout_document(request_id, fn.timeout)
            lines.append(report.timeout_log_line(request_id, fn.timeout))
        elif outcome.kind in (OutcomeKind.CRASH, OutcomeKind.OUT_OF_MEMORY):
            exit_status = outcome.exit_status or "exit status 1"
            error_type = (
                "Runtime.OutOfMemory"
                if outcome.kind is OutcomeKind.OUT_OF_MEMORY
                else "Runtime.ExitError"
            )
            function_error, status = "Unhandled", "error"
            payload = report.exit_document(request_id, exit_status, error_type)
            lines.extend(report.exit_log_lines(request_id, exit_status, error_type))
        lines.append(report.end_line(request_id))
        lines.append(
            report.Report(
                request_id=request_id,
                duration_ms=outcome.duration_ms,
                memory_size_mb=fn.memory_size,
                max_memory_used_mb=outcome.max_memory_mb,
                init_duration_ms=init_ms,
                status=status,
                error_type=error_type,
            ).line()
        )
        return InvokeResult(
            200,
            payload,
            fn.version,
            function_error,
            self._record(fn, stream, lines, log_type),
        )

    def _init_failed(
        self, fn: FunctionVersion, request_id: str, error: InstanceInitError, log_type: str
    ) -> InvokeResult:
        lines = _split(error.logs)
        lines.append(report.start_line(request_id, fn.version))
        lines.append(report.end_line(request_id))
        lines.append(
            report.Report(
                request_id=request_id,
                duration_ms=0.0,
                memory_size_mb=fn.memory_size,
                max_memory_used_mb=0,
                init_duration_ms=error.init_duration_ms,
                status="error",
                error_type=error.error_type,
            ).line()
        )
        stream = _stream_name(fn.version, random_hex(16))
        return InvokeResult(
            200,
            error.document,
            fn.version,
            "Unhandled",
            self._record(fn, stream, lines, log_type),
        )

    def _record(
        self, fn: FunctionVersion, stream: str, lines: list[str], log_type: str
    ) -> str | None:
        self.logs.append_lines(fn.effective_log_group, stream, int(time.time() * 1000), lines)
        if log_type != "Tail":
            return None
        text = "".join(line + "\n" for line in lines).encode()
        return base64.b64encode(text[-TAIL_BYTES:]).decode()

    # --- functions and instances -----------------------------------------------------

    async def ready(self, name: str, qualifier: str | None) -> FunctionVersion:
        """The version to run (an alias picks one by its weights), once the function is
        neither being created nor being updated."""
        deadline = time.monotonic() + READY_WAIT_SECONDS
        while True:
            fn = self.aliases.resolve(name, qualifier)
            busy = fn.state == "Pending" or fn.last_update_status == "InProgress"
            if not busy:
                break
            if time.monotonic() > deadline:
                raise ResourceConflictException(
                    "The operation cannot be performed at this time. The function is "
                    f"currently in the following state: {fn.state}"
                )
            await asyncio.sleep(0.005)
        if fn.state == "Failed":
            raise ResourceConflictException(
                "The operation cannot be performed at this time. The function is currently "
                f"in the following state: Failed ({fn.state_reason})"
            )
        return fn

    def spec(self, fn: FunctionVersion, initialization: str = "on-demand") -> InstanceSpec:
        """The instance spec of a version, built once per revision."""
        key = (fn.name, fn.version, fn.revision_id, initialization)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._build_spec(fn, initialization)
            self._specs = {
                k: v for k, v in self._specs.items() if k[:2] != key[:2] or k[3] != initialization
            }
            self._specs[key] = spec
        return spec

    def _build_spec(self, fn: FunctionVersion, initialization: str) -> InstanceSpec:
        runtime = find_runtime(fn.runtime)
        if runtime is None:
            raise InvalidParameterValueException(
                f"The runtime {fn.runtime} is no longer available on this host."
            )
        code_dir: Path = self.functions.code.unpacked(fn.code_sha256_hex)
        environment = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(code_dir),
            "_HANDLER": fn.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": initialization,
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_VERSION": fn.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.effective_log_group,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **fn.environment,
        }
        version = fn.version
        return InstanceSpec(
            runtime=fn.runtime,
            interpreter=runtime.interpreter,
            code_dir=code_dir,
            handler=fn.handler,
            environment=environment,
            memory_mb=fn.memory_size,
            ephemeral_storage_mb=fn.ephemeral_storage,
            layers_dir=self.layers.merged_directory(fn.layers) if fn.layers else None,
            instance_environment=lambda instance_id: {
                "AWS_LAMBDA_LOG_STREAM_NAME": _stream_name(version, instance_id)
            },
        )

    def _function_changed(self, name: str) -> None:
        """Called from a control-plane thread after an update or a delete: retire the
        instances that no longer run what their version is. Only `$LATEST` changes, and
        published versions are immutable: theirs stay warm unless the version is gone,
        so deploying to `$LATEST` costs an alias on a published version no cold start."""
        if self.loop is None or self.loop.is_closed():
            return
        published = (
            {fn.version for fn in self.functions.versions(name)[1:]}
            if self.functions.exists(name)
            else set()
        )

        def stale(spec: InstanceSpec) -> bool:
            env = spec.environment
            return (
                env.get("AWS_LAMBDA_FUNCTION_NAME") == name
                and env.get("AWS_LAMBDA_FUNCTION_VERSION") not in published
            )

        self.loop.call_soon_threadsafe(lambda: self.spawn(self.pool.retire(stale)))

    def _deployed(self, fn: FunctionVersion) -> None:
        """Called from a control-plane thread as a version becomes ready to run. The
        sandbox may get its instances ready ahead (a template, `sandbox/templates.py`),
        so that its first call does not pay the function's initialisation. Returns
        once the sandbox has taken note: a call that sees the version ready then finds
        its template under way, and waits for it rather than initialising beside it."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return

        def replaced(spec: InstanceSpec) -> bool:
            env = spec.environment
            return (
                env.get("AWS_LAMBDA_FUNCTION_NAME") == fn.name
                and env.get("AWS_LAMBDA_FUNCTION_VERSION") == fn.version
            )

        noted: concurrent.futures.Future[None] = concurrent.futures.Future()

        def prepare() -> None:
            try:
                self.pool.prepare(self.spec(fn), replaced)
            except (StratusError, OSError) as e:  # its first call will say so
                log.info("not preparing %s: %s", fn.name, e)
            finally:
                noted.set_result(None)

        if _running_loop() is loop:
            prepare()
            return
        loop.call_soon_threadsafe(prepare)
        with contextlib.suppress(concurrent.futures.TimeoutError):
            noted.result(timeout=DEPLOY_NOTE_WAIT)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _stream_name(version: str, instance_id: str) -> str:
    return time.strftime("%Y/%m/%d", time.gmtime()) + f"/[{version}]{instance_id}"


def _split(data: bytes) -> list[str]:
    if not data:
        return []
    return data.decode("utf-8", "replace").rstrip("\n").split("\n")


def _trace_id() -> str:
    # X-Ray's format.
    random = random_hex(20)
    return f"Root=1-{int(time.time()):08x}-{random[:24]};Parent={random[24:]};Sampled=0"


def _check_json(payload: bytes) -> None:
    if not payload:
        return
    try:
        json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestContentException(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from exc


def _decode_client_context(value: str | None) -> str | None:
    if not value:
        return None
    try:
        text = base64.b64decode(value, validate=True).decode()
        if not isinstance(json.loads(text), dict):
            raise ValueError("not an object")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestContentException(
            "Client context must be a valid Base64-encoded JSON object."
        ) from exc
    return text


__all__ = ["LATEST", "MAX_SYNC_PAYLOAD", "InvokeResult", "Invoker"]
