"""The contract of the sandbox engine: what an instance is and what it reports.

The invoke service decides *what* to run (the environment, the deadline) and turns
outcomes into AWS-shaped answers; the sandbox engine decides *how* an instance runs
(process, isolation, protocol) and reports plain facts. Nothing here knows about HTTP.
"""

from __future__ import annotations

import enum
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InstanceSpec:
    """What a new instance runs. Two equal specs may share warm instances."""

    #: Lambda runtime identifier, e.g. "python3.12".
    runtime: str
    #: Absolute path of the interpreter that runs the bootstrap.
    interpreter: str
    #: Unpacked function code; becomes the working directory and first import path.
    code_dir: Path
    #: "module.function" as configured on the function.
    handler: str
    #: The complete environment of the instance (AWS's variables plus the function's).
    #: The engine adds nothing of the server's own environment; it only points
    #: ``LAMBDA_TASK_ROOT``, when present, at where the code appears inside the instance
    #: (``/var/task`` in an isolated one).
    environment: Mapping[str, str]
    memory_mb: int = 128
    ephemeral_storage_mb: int = 512
    #: False for a function that must have no network at all (an empty network namespace).
    network: bool = True
    #: The function's layers merged into one tree, shown read-only at /opt; None: no layers.
    layers_dir: Path | None = None
    #: Variables that differ per instance (Lambda's log stream name), computed from the
    #: new instance's id and added to `environment`. Not part of the pooling key.
    instance_environment: Callable[[str], Mapping[str, str]] | None = None

    def key(self) -> tuple[object, ...]:
        """Identity for pooling warm instances."""
        return self._key

    @functools.cached_property
    def _key(self) -> tuple[object, ...]:
        # Worked out once per spec (specs are per function revision): it sorts the
        # whole environment, too dear to repeat twice per invocation.
        return (
            self.runtime,
            self.interpreter,
            str(self.code_dir),
            self.handler,
            tuple(sorted(self.environment.items())),
            self.memory_mb,
            self.ephemeral_storage_mb,
            self.network,
            str(self.layers_dir) if self.layers_dir else None,
        )


@dataclass(frozen=True)
class InvokeRequest:
    """One event for one instance."""

    request_id: str
    payload: bytes
    #: Wall-clock deadline (epoch seconds); the engine kills the instance past it.
    deadline: float
    invoked_function_arn: str
    #: Decoded client context JSON text (from X-Amz-Client-Context), or None.
    client_context: str | None = None
    #: Cognito identity JSON text, or None.
    cognito_identity: str | None = None
    trace_id: str = ""
    #: Tenant of a multi-tenant function (context.tenant_id), or None.
    tenant_id: str | None = None


class OutcomeKind(enum.Enum):
    """How an invocation ended."""

    #: The handler returned; `payload` is its JSON result.
    OK = "ok"
    #: The handler raised (or the result could not be marshalled); `payload` is the
    #: runtime's error document {errorMessage, errorType, requestId, stackTrace}.
    ERROR = "error"
    #: The deadline passed; the instance was killed.
    TIMEOUT = "timeout"
    #: The instance died during the invocation; `exit_status` says how.
    CRASH = "crash"
    #: The instance went past its memory limit and was killed (Lambda's
    #: Runtime.OutOfMemory); `max_memory_mb` is the limit, `exit_status` how it died.
    OUT_OF_MEMORY = "out_of_memory"


@dataclass(frozen=True)
class InvokeOutcome:
    """Facts about one finished invocation."""

    kind: OutcomeKind
    #: Result or error document (JSON bytes); empty for TIMEOUT, CRASH, OUT_OF_MEMORY.
    payload: bytes
    #: errorType of an ERROR outcome.
    error_type: str | None
    #: Everything the instance wrote to stdout/stderr during this invocation.
    logs: bytes
    duration_ms: float
    #: Peak resident memory of the instance so far, in MB.
    max_memory_mb: int
    #: For CRASH and OUT_OF_MEMORY: "exit status 1", "signal: killed", ... as Lambda
    #: words it.
    exit_status: str | None = None


class InstanceInitError(Exception):
    """The instance failed to initialise (import error, bad handler, crash at import)."""

    def __init__(
        self, error_type: str, document: bytes, logs: bytes, init_duration_ms: float
    ) -> None:
        super().__init__(error_type)
        self.error_type = error_type
        #: The runtime's error document, JSON bytes, with requestId "".
        self.document = document
        self.logs = logs
        self.init_duration_ms = init_duration_ms


class CapacityExceeded(Exception):
    """No more instances may be started on this node."""


class Instance(ABC):
    """One running copy of a function, serving one invocation at a time."""

    id: str
    spec: InstanceSpec
    #: Milliseconds from the start request to ready (the REPORT line's Init Duration).
    init_duration_ms: float
    #: What the instance printed while initialising.
    init_logs: bytes

    @property
    @abstractmethod
    def alive(self) -> bool:
        """False once the instance died or was closed."""

    @abstractmethod
    async def invoke(self, request: InvokeRequest) -> InvokeOutcome:
        """Run one event. Never raises because of user code: failures are outcomes."""

    @abstractmethod
    async def close(self) -> None:
        """Stop the instance and everything it started."""


class Sandbox(ABC):
    """Starts instances. One implementation per isolation technique."""

    @abstractmethod
    async def start(self, spec: InstanceSpec) -> Instance:
        """Start an instance and wait until it is ready; InstanceInitError if it is not."""

    def prepare(self, spec: InstanceSpec, replaces: Callable[[InstanceSpec], bool]) -> None:
        """A function revision has been deployed: get ready for its instances ahead, if
        this sandbox can (the isolated one initialises it in a template), and forget
        what was ready for the revisions it `replaces`. The default does nothing."""
        return None

    def describe(self) -> str:
        """One line for the server's start-up banner: what isolation this gives."""
        return type(self).__name__

    def spares_ready(self) -> int:
        """Instances forked ahead that wait for a function (the isolated sandbox's
        spares); the default keeps none."""
        return 0

    async def close(self) -> None:
        """Release what the sandbox holds beyond its instances (zygotes, cgroups).

        Call after every instance is closed; the default holds nothing.
        """
        return None
