"""The process sandbox: each instance is a plain subprocess running the runtime bootstrap.

Isolation here is only what a process gives: its own session and process group (so a
kill takes everything it started), exactly the environment it was given, lowered
rlimits. The isolated sandbox (`isolated.py`) reuses `ProcessInstance` with processes
forked from a zygote inside namespaces, seccomp and cgroups; the protocol, log
collection and outcome rules below are the same for both.

Each instance talks to the engine over an inherited socket pair (see `protocol.py`)
and writes stdout+stderr into one pipe (see `logs.py`). Everything happens in event
loop callbacks: an invocation sends one frame and awaits one future, which the first
of reply, process exit or deadline resolves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from stratus.runtimes import python as python_runtime
from stratus.runtimes.sdk import RuntimeSdk
from stratus.sandbox.child import ChildProcess, InstanceProcess, describe_exit
from stratus.sandbox.logs import MAX_LOG_BYTES, LogCollector
from stratus.sandbox.protocol import ControlProtocol
from stratus.sandbox.types import (
    Instance,
    InstanceInitError,
    InstanceSpec,
    InvokeOutcome,
    InvokeRequest,
    OutcomeKind,
    Sandbox,
)

log = logging.getLogger(__name__)

#: Largest response payload, in bytes; the figure AWS quotes in its error message.
MAX_RESPONSE_BYTES = 6291556
#: AWS's limit on the init phase.
DEFAULT_INIT_TIMEOUT = 10.0
#: How long a closed control channel may precede the process's exit before we kill it.
_EXIT_GRACE = 1.0
#: Seconds an exited instance's control channel is read on for the frames it sent last.
_FRAMES_GRACE = 0.2
#: How long to wait for a SIGKILLed process to be reaped before giving up on it.
_KILL_WAIT = 5.0
#: rlimits every instance gets (lowered before the handler is imported).
DEFAULT_RLIMITS = {"nofile": 1024, "core": 0}

RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"
OUT_OF_MEMORY = "Runtime.OutOfMemory"


def _document(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


# Events that end a wait: a reply frame, the process's end, or the deadline.
_Event = tuple[str, dict[str, Any], bytes, int]
_EXITED: _Event = ("exit", {}, b"", 0)
_TIMED_OUT: _Event = ("timeout", {}, b"", 0)


def bootstrap_options(
    spec: InstanceSpec, environment: Mapping[str, str], rlimits: Mapping[str, int]
) -> dict[str, Any]:
    """The runtime bootstrap's options for an instance of `spec`; InstanceInitError for a
    runtime Stratus cannot run."""
    if not spec.runtime.startswith("python"):
        raise InstanceInitError(
            "Runtime.InvalidEntrypoint",
            _document("Runtime.InvalidEntrypoint", f"Unsupported runtime: {spec.runtime}"),
            b"",
            0.0,
        )
    options: dict[str, Any] = {"rlimits": dict(rlimits)}
    if "LC_ALL" not in environment:
        options["lc_ctype"] = environment.get("LC_CTYPE")
    return options


class ProcessInstance(Instance):
    """One instance process; serves one invocation at a time."""

    def __init__(
        self,
        instance_id: str,
        spec: InstanceSpec,
        child: InstanceProcess,
        logs: LogCollector,
    ) -> None:
        self.id = instance_id
        self.spec = spec
        self.init_duration_ms = 0.0
        self.init_logs = b""
        self._child = child
        self._logs = logs
        self._control = ControlProtocol(self._on_frame, self._on_control_closed, MAX_RESPONSE_BYTES)
        self._waiter: asyncio.Future[_Event] | None = None
        self._closed = False
        # Set when the instance was killed or misbehaved: never reuse it, even before
        # its exit has been noticed.
        self._doomed = False
        self._rss_kb = 0
        self._deadline: float | None = None  # loop time, while waiting
        self._timer: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()
        #: Called once, when the instance has answered its first call.
        self.after_first_reply: Callable[[], None] | None = None
        child.watch(self._on_exit)

    @property
    def pid(self) -> int:
        """The instance's process id (also its process group id)."""
        return self._child.pid

    @property
    def alive(self) -> bool:
        return not (self._closed or self._doomed) and self._child.returncode is None

    def _kill(self) -> None:
        self._doomed = True
        self._child.kill_group()

    # --- callbacks from the loop ------------------------------------------------------

    def _resolve(self, event: _Event) -> bool:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return False
        waiter.set_result(event)
        return True

    def _on_frame(self, meta: dict[str, Any], body: bytes, skipped: int) -> None:
        rss = meta.get("rss")
        if isinstance(rss, int):
            self._rss_kb = rss
        if not self._resolve(("frame", meta, body, skipped)):
            # The runtime only speaks when spoken to: this is user code writing to
            # the control socket. The instance cannot be trusted any more.
            self._kill()

    def _on_control_closed(self, reason: str) -> None:
        self._doomed = True
        if self._child.returncode is not None:
            # The exit was noticed first (`_on_exit`); every frame sent before it has
            # been handled by now.
            self._resolve(_EXITED)
        elif not self._closed:
            # Usually the process is exiting and its exit follows; kill it if not.
            self._loop.call_later(_EXIT_GRACE, self._child.kill_group)

    def _on_exit(self) -> None:
        if self._control.is_open:
            # What the runtime sent just before it exited (an init error, a reply) may
            # still be unread: the loop can notice the exit first. The channel's end
            # comes after those frames and settles the wait (`_on_control_closed`);
            # a process the runtime left holding the channel gets a short grace.
            self._loop.call_later(_FRAMES_GRACE, self._exited)
        else:
            self._exited()

    def _exited(self) -> None:
        self._resolve(_EXITED)
        self._control.close()

    def _on_deadline(self) -> None:
        rss = self._child.peak_rss_kb()
        if rss is not None:
            self._rss_kb = max(self._rss_kb, rss)
        self._kill()
        self._resolve(_TIMED_OUT)

    def _expect(self, delay: float) -> asyncio.Future[_Event]:
        """Be ready for the next event, `_TIMED_OUT` after `delay` seconds.

        Set up before whatever makes the runtime speak: a frame that finds no waiter is
        taken for user code writing to the control socket.
        """
        waiter: asyncio.Future[_Event] = self._loop.create_future()
        if self._child.returncode is not None:
            waiter.set_result(_EXITED)
        self._waiter = waiter
        self._arm_deadline(self._loop.time() + max(delay, 0.0))
        return waiter

    async def _wait_event(self, waiter: asyncio.Future[_Event]) -> _Event:
        """The event `waiter` (from `_expect`) gets."""
        try:
            return await waiter
        except asyncio.CancelledError:
            # Abandoned mid-event: the instance's state is unknown, so it must go.
            self._kill()
            raise
        finally:
            self._deadline = None
            self._waiter = None

    # The deadline timer is armed lazily: an armed timer that fires before the current
    # deadline re-arms itself for it, and a finished invocation leaves the timer alone.
    # Back-to-back invocations then cost no timer operations at all; a fresh call_later
    # and cancel per invocation was a good part of the warm round trip.

    def _arm_deadline(self, when: float) -> None:
        self._deadline = when
        if self._timer is None or self._timer.when() > when:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._deadline is None:
            return  # nothing in flight
        if self._loop.time() >= self._deadline:
            self._on_deadline()
        else:
            self._timer = self._loop.call_at(self._deadline, self._on_timer)

    async def _reap(self) -> None:
        """Wait (bounded) until the killed or exiting process has been reaped."""
        try:
            await asyncio.wait_for(self._child.wait(), _KILL_WAIT)
        except TimeoutError:
            # Stuck in the kernel; the exit watcher still reaps it when it finally goes.
            log.warning("instance %s (pid %d) did not die after SIGKILL", self.id, self._child.pid)
        self._logs.drain()

    # --- start-up -------------------------------------------------------------------

    async def start(self, sock: socket.socket, started: float, timeout: float) -> None:
        """Attach the engine's end of the control socket pair and wait for the runtime's
        ready frame; InstanceInitError otherwise.

        The ready frame may already be in the socket, and an event loop may deliver it
        while the connection is still being made (uvloop does): it is expected first.
        """
        waiter = self._expect(timeout)
        try:
            await self._loop.create_unix_connection(lambda: self._control, sock=sock)
        except BaseException:
            self._deadline = self._waiter = None
            raise
        kind, meta, body, skipped = await self._wait_event(waiter)
        self.init_duration_ms = (time.perf_counter() - started) * 1000
        if kind == "frame" and meta.get("t") == "ready" and not skipped:
            self._logs.drain()
            self.init_logs = self._logs.take()
            return
        self._kill()
        await self._reap()
        if kind == "frame" and meta.get("t") == "init_error":
            error_type = str(meta.get("type") or "Runtime.Unknown")
            document = body if not skipped else _document(error_type, "")
        elif kind == "timeout":
            error_type = "Sandbox.Timedout"
            document = _document(error_type, f"Init phase timed out after {timeout:.2f} seconds")
        else:
            status = describe_exit(self._child.returncode or 0)
            if kind == "frame":  # a frame other than ready or init_error
                status = "protocol violation"
            error_type = OUT_OF_MEMORY if self._child.out_of_memory() else "Runtime.ExitError"
            document = _document(error_type, f"Runtime exited with error: {status}")
        logs = self._logs.take()
        await self.close()
        raise InstanceInitError(error_type, document, logs, self.init_duration_ms)

    # --- invocations ------------------------------------------------------------------

    async def invoke(self, request: InvokeRequest) -> InvokeOutcome:
        if self._waiter is not None:
            raise RuntimeError(f"instance {self.id} is already serving an invocation")
        started = time.perf_counter()
        waiter = self._expect(request.deadline - time.time())
        if self.alive:
            header: dict[str, Any] = {
                "id": request.request_id,
                "deadline": int(request.deadline * 1000),
                "arn": request.invoked_function_arn,
            }
            # Only what is there: every field costs encoding on both sides.
            if request.trace_id:
                header["trace"] = request.trace_id
            if request.client_context is not None:
                header["cc"] = request.client_context
            if request.cognito_identity is not None:
                header["ci"] = request.cognito_identity
            if request.tenant_id is not None:
                header["tenant"] = request.tenant_id
            self._control.send(header, request.payload)
        kind, meta, body, skipped = await self._wait_event(waiter)
        duration_ms = (time.perf_counter() - started) * 1000

        if kind == "frame":
            self._logs.drain()
            if self.after_first_reply is not None:
                hook, self.after_first_reply = self.after_first_reply, None
                hook()
            if skipped:
                message = (
                    "Response payload size exceeded maximum allowed payload size "
                    f"({MAX_RESPONSE_BYTES} bytes)."
                )
                return self._outcome(
                    OutcomeKind.ERROR,
                    _document(RESPONSE_TOO_LARGE, message),
                    duration_ms,
                    error_type=RESPONSE_TOO_LARGE,
                )
            if meta.get("t") == "ok":
                return self._outcome(OutcomeKind.OK, body, duration_ms)
            if meta.get("t") == "error":
                error_type = str(meta.get("type") or "")
                return self._outcome(OutcomeKind.ERROR, body, duration_ms, error_type=error_type)
            # Anything else is not the runtime talking: treat the instance as crashed.
            self._kill()

        await self._reap()
        if kind == "timeout":
            return self._outcome(OutcomeKind.TIMEOUT, b"", duration_ms)
        returncode = self._child.returncode
        status = describe_exit(returncode) if returncode is not None else "signal: killed"
        if self._child.out_of_memory():
            # Lambda reports the limit as the memory used by an instance it killed for it.
            self._rss_kb = max(self._rss_kb, self.spec.memory_mb * 1024)
            return self._outcome(OutcomeKind.OUT_OF_MEMORY, b"", duration_ms, exit_status=status)
        return self._outcome(OutcomeKind.CRASH, b"", duration_ms, exit_status=status)

    def _outcome(
        self,
        kind: OutcomeKind,
        payload: bytes,
        duration_ms: float,
        *,
        error_type: str | None = None,
        exit_status: str | None = None,
    ) -> InvokeOutcome:
        return InvokeOutcome(
            kind=kind,
            payload=payload,
            error_type=error_type,
            logs=self._logs.take(),
            duration_ms=duration_ms,
            max_memory_mb=math.ceil(self._rss_kb / 1024),
            exit_status=exit_status,
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._child.kill_group()
        self._control.close()
        await self._reap()
        # The exit watcher stops itself once the process is reaped; one that outlived
        # SIGKILL keeps being watched, so it is still reaped when it finally dies.
        self._logs.close()


def import_paths(spec: InstanceSpec, opt: Path | None, sdk: Path | None) -> dict[str, str]:
    """The instance's PYTHONPATH: Lambda's import path for layers,
    `<opt>/python/lib/pythonX.Y/site-packages` then `<opt>/python` (after the code
    directory, which the bootstrap puts first), then the function's own PYTHONPATH, then
    the runtime's SDK (`runtimes/sdk.py`), so that whatever a function or layer packages
    comes first. `opt` is where this sandbox shows the merged layers (`/opt` when it can
    mount, else the tree itself; None: no layers)."""
    paths = [f"{opt}/python/lib/{spec.runtime}/site-packages", f"{opt}/python"] if opt else []
    if spec.environment.get("PYTHONPATH"):
        paths.append(spec.environment["PYTHONPATH"])
    if sdk is not None:
        paths.append(str(sdk))
    return {"PYTHONPATH": ":".join(paths)} if paths else {}


class ProcessSandbox(Sandbox):
    """Starts every instance as a subprocess of the server (no isolation beyond that)."""

    def __init__(
        self,
        *,
        init_timeout: float = DEFAULT_INIT_TIMEOUT,
        log_limit: int = MAX_LOG_BYTES,
        rlimits: dict[str, int] | None = None,
        why: str = "",
        sdk: RuntimeSdk | None = None,
    ) -> None:
        self._init_timeout = init_timeout
        self._sdk = sdk.directory if sdk is not None else None
        self._log_limit = log_limit
        self._rlimits = dict(DEFAULT_RLIMITS if rlimits is None else rlimits)
        #: Why this sandbox was chosen over the isolated one, for the banner.
        self._why = why

    def describe(self) -> str:
        text = "process sandbox: one subprocess and process group per instance, NO isolation"
        return f"{text} ({self._why})" if self._why else text

    def _command(
        self, spec: InstanceSpec, environment: Mapping[str, str], control_fd: int
    ) -> list[str]:
        options = bootstrap_options(spec, environment, self._rlimits)
        return python_runtime.command(spec.interpreter, control_fd, spec.handler, options)

    async def start(self, spec: InstanceSpec) -> ProcessInstance:
        loop = asyncio.get_running_loop()
        instance_id = uuid.uuid4().hex
        environment = dict(spec.environment)
        if spec.instance_environment is not None:
            environment.update(spec.instance_environment(instance_id))
        environment.update(import_paths(spec, spec.layers_dir, self._sdk))
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        log_read, log_write = os.pipe()
        started = time.perf_counter()
        try:
            argv = self._command(spec, environment, theirs.fileno())
            child = ChildProcess.spawn(
                argv,
                env=environment,
                cwd=spec.code_dir,
                pass_fds=(theirs.fileno(),),
                output_fd=log_write,
            )
        except (OSError, InstanceInitError) as e:
            ours.close()
            os.close(log_read)
            if isinstance(e, InstanceInitError):
                raise
            message = f"Couldn't start the runtime {spec.interpreter!r}: {e.strerror or e}"
            raise InstanceInitError(
                "Runtime.InvalidEntrypoint",
                _document("Runtime.InvalidEntrypoint", message),
                b"",
                (time.perf_counter() - started) * 1000,
            ) from e
        finally:
            theirs.close()
            os.close(log_write)

        logs = LogCollector(loop, log_read, self._log_limit)
        instance = ProcessInstance(instance_id, spec, child, logs)
        try:
            await instance.start(ours, started, self._init_timeout)
        except BaseException:
            await instance.close()
            ours.close()  # in case the transport never took it over
            raise
        return instance
