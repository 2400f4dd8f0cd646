"""The isolated sandbox: every instance forked from a zygote into its own namespaces.

Design, in the order an instance comes to life:

1. A zygote per runtime interpreter (and start-up environment, see `zygote.py`) has
   the bootstrap's modules imported and waits. Started on first use, kept for good.
   Functions whose code uses boto3 get a zygote that imported it too (`_preload`,
   `runtimes/sdk.py`).
2. An instance is forked before its function is known: the server decides its cgroups
   (`cgroups.py`), makes a control socket pair and a log pipe, and asks the zygote to
   fork. The zygote starts the instance's init (a small static program, `initprog.py`)
   in new mount, PID, IPC, UTS (and, for a function without network, network)
   namespaces (as root, its mount namespace a copy of the common root the zygote made
   once) and forks the runtime into them, which creates the cgroups and moves in,
   prepares the common part of its root (/proc, a /tmp of the default size), enters
   Landlock, copies the zygote's pages instances write (`prefault.py`), and waits on
   the control socket (`spares.py`). Two such spares per zygote are kept forked ahead
   (`STRATUS_SPARES` sets how many).
3. `start()` takes a spare (or forks one, for the first start of a runtime, in a
   burst, or for a function without network) and sends it the function: code and layer
   directories (as root, also as detached mount trees), /tmp size, cgroup limits,
   environment and bootstrap arguments. The runtime writes the limits, attaches the
   code at /var/task and the layers at /opt, resizes /tmp if asked (unprivileged, it
   binds them and pivots into the root: `rootfs.py`, `confine.py`), enters a user
   namespace of its own as sbx_user1051, drops every capability, installs the seccomp
   filter (`seccomp.py`), and runs the same bootstrap a fresh process runs
   (`runtimes/python`).
4. From there the instance is a `ProcessInstance` like any other: same protocol, same
   log collection, same outcomes, plus Runtime.OutOfMemory when the cgroup's OOM
   killer ended it.

A function gets a template (`templates.py`) when it is deployed, or when it keeps
needing new instances: an instance started as above that initialised the function and
never serves; from then on its new instances are copies of that template
(`template_fork.py`), adopted by a helper of the zygote, and skip the import of the
function's code and packages.

Running as root, instances run as an unprivileged host user (nobody by default): the
user namespace maps sbx_user1051 to it. Running as an ordinary user, the zygote's
children get a user namespace first (owned by that user) and everything else follows;
what that loses is listed by `describe()` (typically the cgroup limits).

Rejected: bubblewrap per instance (about 5 ms plus a fresh interpreter's 25-50 ms),
and a fresh interpreter inside the namespaces (the same 25-50 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import marshal
import os
import resource
import shutil
import socket
import struct
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from stratus.runtimes import python as python_runtime
from stratus.runtimes.sdk import RuntimeSdk
from stratus.sandbox import initprog, kernel, seccomp
from stratus.sandbox.cgroups import CgroupTree
from stratus.sandbox.host import HostFeatures
from stratus.sandbox.logs import MAX_LOG_BYTES, LogCollector
from stratus.sandbox.process import (
    DEFAULT_INIT_TIMEOUT,
    DEFAULT_RLIMITS,
    ProcessInstance,
    bootstrap_options,
    import_paths,
)
from stratus.sandbox.rootfs import Mount, RootFs, sdk_inside
from stratus.sandbox.spares import Spare, Spares
from stratus.sandbox.templates import Template, TemplateError, Templates
from stratus.sandbox.types import InstanceInitError, InstanceSpec, Sandbox
from stratus.sandbox.zygote import ZygoteError, ZygoteProcess, startup_environment

log = logging.getLogger(__name__)

#: Where the code and the layers appear inside an instance, and where the bootstrap lives.
TASK_ROOT = "/var/task"
LAYERS_ROOT = "/opt"
RUNTIME_BOOTSTRAP = "/var/runtime/bootstrap.py"
#: The descriptor number of the control socket inside an instance.
CONTROL_FD = 3
#: rlimits of isolated instances: the process sandbox's, plus processes and threads.
ISOLATED_RLIMITS = {**DEFAULT_RLIMITS, "nproc": 1024}
#: The host user instances run as when Stratus runs as root.
NOBODY = 65534
#: Instances kept forked ahead per zygote by default (see `spares.py`).
SPARES = 2
_HEADER = struct.Struct("<II")


def _document(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


class IsolatedSandbox(Sandbox):
    """Starts instances forked from per-runtime zygotes, each in its own namespaces."""

    def __init__(
        self,
        features: HostFeatures,
        rootfs: RootFs,
        cgroups: CgroupTree | None,
        *,
        cgroups_missing: str = "",
        init_timeout: float = DEFAULT_INIT_TIMEOUT,
        log_limit: int = MAX_LOG_BYTES,
        host_uid: int = NOBODY,
        host_gid: int = NOBODY,
        hostname: str = "localhost",
        spares: int = SPARES,
        templates: bool = True,
        sdk: RuntimeSdk | None = None,
    ) -> None:
        self.features = features
        self.rootfs = rootfs
        #: The runtime's SDK (`RootFs.build` binds it at `sdk_inside`), and what each
        #: function's zygote imports of it ahead (by spec key).
        self._sdk = sdk
        self._sdk_inside = Path(sdk_inside(sdk)) if sdk is not None else None
        self._preloads: dict[tuple[object, ...], tuple[str, ...]] = {}
        self.cgroups = cgroups
        self._cgroups_missing = cgroups_missing
        self._init_timeout = init_timeout
        self._log_limit = log_limit
        self._rlimits = dict(ISOLATED_RLIMITS)
        arch = seccomp.architecture()
        self._seccomp = seccomp.build_filter(arch) if arch and not features.seccomp else None
        self._config = {
            "imports": python_runtime.bootstrap_imports(),
            "bootstrap": (RUNTIME_BOOTSTRAP, rootfs.bootstrap.read_text()),
            "warm": str(rootfs.bootstrap.parent),
            "root": str(rootfs.directory),
            "mounts": [mount.to_json() for mount in rootfs.mounts],
            "privileged": features.privileged,
            "uid": host_uid,
            "gid": host_gid,
            "seccomp": self._seccomp.hex() if self._seccomp else None,
            "template_seccomp": (
                seccomp.build_filter(arch, template=True).hex() if self._seccomp and arch else None
            ),
            "init_program": (
                initprog.build(features.privileged, host_uid, host_gid).hex()
                if initprog.supported()
                else None
            ),
            "copied_root": features.privileged and _opens_trees(rootfs.directory),
            "landlock": features.landlock_abi,
            "cgroup_namespace": not features.namespaces.get("cgroup", "no"),
            "hostname": hostname,
        }
        self._zygotes: dict[tuple[object, ...], ZygoteProcess] = {}
        self._starting: dict[tuple[object, ...], asyncio.Lock] = {}
        #: Instances forked ahead, per zygote.
        self._spares = Spares(cgroups, spares)
        #: Function templates (`templates.py`): as root, with a common root and seccomp.
        self._templates = (
            Templates(self._template)
            if templates and self._seccomp and self._config["copied_root"]
            else None
        )
        #: A work directory this sandbox made for itself, removed by close().
        self._temporary: Path | None = None

    @classmethod
    def create(
        cls,
        features: HostFeatures,
        work_dir: Path | None = None,
        *,
        cpu_cap: bool = False,
        sdk: RuntimeSdk | None = None,
        **options: object,
    ) -> IsolatedSandbox:
        """Prepare the skeleton root and the cgroups, then the sandbox."""
        temporary = work_dir is None
        if work_dir is None:
            work_dir = Path(tempfile.mkdtemp(prefix="stratus-sandbox-"))
            os.chmod(work_dir, 0o755)
        extra = [Mount(str(sdk.directory), sdk_inside(sdk).strip("/"))] if sdk else []
        rootfs = RootFs.build(work_dir / "root", python_runtime.BOOTSTRAP, extra=extra)
        cgroups, missing = CgroupTree.create(cpu_cap=cpu_cap)
        _raise_descriptor_limit()
        sandbox = cls(features, rootfs, cgroups, cgroups_missing=missing, sdk=sdk, **options)  # type: ignore[arg-type]
        if temporary:
            sandbox._temporary = work_dir
        return sandbox

    def spares_ready(self) -> int:
        return len(self._spares.waiting())

    def prepare(self, spec: InstanceSpec, replaces: Callable[[InstanceSpec], bool]) -> None:
        if self._templates is not None:
            self._templates.prepare(spec, replaces)

    def describe(self) -> str:
        f = self.features
        namespaces = ", ".join(f.available_namespaces())
        have = [f"isolated (zygote-forked instances): {namespaces} namespaces"]
        lacking: list[str] = []
        if self._seccomp:
            have.append("seccomp")
        else:
            lacking.append(f"seccomp ({f.seccomp or 'no system call table for this CPU'})")
        if f.landlock_abi >= 6:
            have.append(f"Landlock ABI {f.landlock_abi}")
        else:
            lacking.append("Landlock scoping (needs ABI 6, Linux 6.12)")
        if self.cgroups is not None:
            have.append(self.cgroups.describe())
            if "memory" not in self.cgroups.controllers:
                lacking.append("memory limit (no memory controller)")
        else:
            lacking.append(
                f"memory limit and CPU share ({self._cgroups_missing}; processes are"
                " still capped by RLIMIT_NPROC)"
            )
        for kind in ("net", "cgroup"):
            if f.namespaces.get(kind):
                lacking.append(f"{kind} namespaces ({f.namespaces[kind]})")
        if self._templates is not None:
            have.append("function templates")
        else:
            lacking.append("function templates (they need root, open_tree and seccomp)")
        if f.privileged:
            have.append(f"instances run as host uid {self._config['uid']}")
        else:
            have.append("unprivileged (user namespaces)")
        have.append(f"{self._spares.count} spare instances per zygote")
        text = "; ".join(have)
        return text + ("; lacking: " + "; ".join(lacking) if lacking else "; lacking: nothing")

    # --- instances --------------------------------------------------------------------

    async def start(self, spec: InstanceSpec) -> ProcessInstance:
        started = time.perf_counter()
        if not spec.network and self.features.namespaces.get("net"):
            raise self._init_error(
                "Runtime.InvalidEntrypoint", "This host cannot run a function without network"
            )
        template = await self._templates.built(spec.key()) if self._templates else None
        if template is not None:
            try:
                return await template.copy(
                    spec, self.cgroups, started, self._init_timeout, self._log_limit
                )
            except TemplateError as e:  # the template is broken: start afresh
                self._templates.drop(template, f"a copy failed: {e}")  # type: ignore[union-attr]
        zygote, spare = await self._send_function(spec, started)
        logs = LogCollector(asyncio.get_running_loop(), spare.log_read, self._log_limit)
        instance = ProcessInstance(spare.instance_id, spec, spare.child, logs)
        if zygote.learning:  # which pages instances write (`prefault.py`)
            instance.after_first_reply = functools.partial(zygote.learn, spare.child)
        try:
            await instance.start(spare.sock, started, self._init_timeout)
        except BaseException:
            await instance.close()
            spare.sock.close()
            raise
        if self._templates is not None:
            self._templates.cold_started(spec, instance.init_duration_ms)
        return instance

    async def _send_function(
        self, spec: InstanceSpec, started: float, *, template: bool = False
    ) -> tuple[ZygoteProcess, Spare]:
        """A spare (or a new instance) that has been sent `spec`'s function, and its
        zygote."""
        environment = dict(spec.environment)
        if "LAMBDA_TASK_ROOT" in environment:
            environment["LAMBDA_TASK_ROOT"] = TASK_ROOT
        layers = Path(LAYERS_ROOT) if spec.layers_dir is not None else None
        environment.update(import_paths(spec, layers, self._sdk_inside))
        options = bootstrap_options(spec, environment, self._rlimits)
        try:
            zygote = await self._zygote(
                spec.interpreter, startup_environment(environment), self._preload(spec)
            )
            if template and not zygote.copied_root:
                raise TemplateError("instances here build their own roots")
            self._spares.memory_mb = spec.memory_mb  # (the spares forked from now on)
            spare = self._spares.take(zygote) if spec.network else None
            if spec.network:
                self._spares.refill(zygote)
            if spare is None:
                spare = await self._spares.fork(zygote, spec.network)
        except ZygoteError as e:
            raise self._init_error("Runtime.InvalidEntrypoint", str(e), started) from e
        if spec.instance_environment is not None:
            environment.update(spec.instance_environment(spare.instance_id))
        # The function reaches the instance here, straight from the server (nursery.py).
        argv = ["-c", str(CONTROL_FD), spec.handler, json.dumps(options, separators=(",", ":"))]
        setup = {
            "code": str(spec.code_dir),
            "layers": str(spec.layers_dir) if spec.layers_dir else None,
            "tmp_mb": spec.ephemeral_storage_mb,
            "limits": spare.cgroup.limits(spec.memory_mb) if spare.cgroup else [],
            "env": environment,
            "argv": argv,
            "template": template,
        }
        meta = marshal.dumps(setup)  # (the zygote's own configuration travels so too)
        try:
            trees = _trees(spec) if zygote.copied_root else []
        except OSError as e:
            spare.discard()
            raise self._init_error("Runtime.ExitError", str(e), started) from e
        try:
            with contextlib.suppress(OSError):  # if it died, start() says how
                _send_setup(spare.sock, _HEADER.pack(len(meta), 0) + meta, trees)
        finally:
            for tree in trees:
                os.close(tree)
        return zygote, spare

    async def _template(self, spec: InstanceSpec) -> Template:
        """A template of `spec`'s function (`templates.py`), once it has initialised."""
        zygote, spare = await self._send_function(spec, time.perf_counter(), template=True)
        template = Template(spec, zygote, spare)
        await template.started(self._init_timeout)
        return template

    def _init_error(
        self, error_type: str, message: str, started: float | None = None
    ) -> InstanceInitError:
        elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        return InstanceInitError(error_type, _document(error_type, message), b"", elapsed)

    def _preload(self, spec: InstanceSpec) -> tuple[str, ...]:
        """What of the SDK the zygote of `spec`'s instances imports ahead (worked out once
        per code, layers and import path: it reads the function's code, which a change
        of configuration alone leaves as it was)."""
        if self._sdk is None or self._sdk_inside != self._sdk.directory:
            return ()  # a zygote imports on the host: its module paths must hold inside
        key = (spec.code_dir, spec.layers_dir, spec.runtime, spec.environment.get("PYTHONPATH"))
        preload = self._preloads.get(key)
        if preload is None:
            if len(self._preloads) > 4096:  # revisions come and go
                self._preloads.clear()
            preload = self._preloads[key] = self._sdk.preload(
                spec.code_dir, spec.layers_dir, spec.runtime, spec.environment
            )
        return preload

    async def _zygote(
        self, interpreter: str, startup: Mapping[str, str], preload: tuple[str, ...] = ()
    ) -> ZygoteProcess:
        key = (interpreter, tuple(sorted(startup.items())), preload)
        zygote = self._zygotes.get(key)
        if zygote is not None and zygote.alive:
            return zygote
        lock = self._starting.setdefault(key, asyncio.Lock())
        async with lock:
            zygote = self._zygotes.get(key)
            if zygote is not None and zygote.alive:
                return zygote
            if zygote is not None:  # it died: so did its spares
                self._spares.forget(zygote)
            zygote = ZygoteProcess(interpreter, startup)
            config = {**self._config, "preload": list(preload)}
            await zygote.start(config, self.rootfs.directory / "var" / "task")
            self._zygotes[key] = zygote
            return zygote

    async def close(self) -> None:
        if self._templates is not None:
            self._templates.close()
        await self._spares.close()
        for zygote in self._zygotes.values():
            zygote.close()
        self._zygotes.clear()
        if self.cgroups is not None:
            self.cgroups.close()
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None


def _raise_descriptor_limit() -> None:
    """Each instance costs the server three descriptors; allow as many as the host does."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as e:
            log.info("cannot raise the descriptor limit to %s: %s", hard, e)


def _opens_trees(directory: Path) -> bool:
    """Whether this process may take detached copies of mount trees (as root, Linux 5.2
    and later): what instances whose roots are copies of a common one need."""
    try:
        os.close(kernel.open_tree(str(directory)))
    except OSError:
        return False
    return True


def _trees(spec: InstanceSpec) -> list[int]:
    """Detached copies of the function's code and layer directories, in that order."""
    trees = [kernel.open_tree(str(spec.code_dir))]
    try:
        if spec.layers_dir is not None:
            trees.append(kernel.open_tree(str(spec.layers_dir)))
    except OSError:
        os.close(trees[0])
        raise
    return trees


def _send_setup(sock: socket.socket, frame: bytes, fds: list[int]) -> None:
    """Send the set-up frame, with `fds` attached to its first byte."""
    sent = socket.send_fds(sock, [frame], fds) if fds else 0
    sock.sendall(frame[sent:])
