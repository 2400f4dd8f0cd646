"""The server's side of a zygote: starting it, asking it for instances, hearing them end.

A zygote (`nursery.py`) is one runtime interpreter per (interpreter, start-up
environment) that has imported what the bootstrap needs and forks isolated instances
on request, in about a millisecond instead of the 25-50 ms a fresh interpreter takes.
Variables an interpreter reads only while starting (``PYTHON*``, locale, ``TZ``,
``HOME``) are part of a zygote's identity, so a function that sets them gets a zygote
started with them, exactly as a fresh process would have been.

The zygote is started without a single path of Stratus in its command line or
environment: the loader below reads everything from its standard input (a memfd), so
nothing an instance can see in /proc/1/cmdline or /proc/self/environ names Stratus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import marshal
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from stratus.sandbox import prefault
from stratus.sandbox.cgroups import InstanceCgroup
from stratus.sandbox.child import peak_rss_kb

log = logging.getLogger(__name__)

#: Stdlib-only modules the zygote runs, in load order, with their source files.
ZYGOTE_MODULES = (
    "kernel",
    "prefault",
    "clone",
    "confine",
    "stragglers",
    "instance_setup",
    "template_fork",
    "init_start",
    "nursery",
)
_SOURCES = {name: Path(__file__).with_name(f"{name}.py") for name in ZYGOTE_MODULES}
#: Seconds a new zygote may take to say hello.
START_TIMEOUT = 30.0

# Runs as ``python -u -c LOADER``: reads its configuration (marshal, which needs no
# import) from stdin, imports what the bootstrap will, imports the bootstrap once from
# source under a throw-away name (the first import from source costs 2-3 ms of lazy
# set-up: the compiler's, and tokenize, which a fresh process loads for its handler
# too), notes that set of modules, loads the zygote's own modules under their package
# names, and serves. A zygote may also import modules its instances keep (`preload`: the
# runtime's SDK, see stratus/runtimes/sdk.py). In an instance's
# runtime `main` returns the bootstrap module, built ahead in the zygote exactly as the
# launcher of a fresh process builds it (runtimes/python); the loader forgets itself
# and carries on as that launcher would, with the same names in __main__.
LOADER = """\
import os, sys, marshal
def _stratus_zygote():
    data = bytearray()
    while True:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            break
        data += chunk
    config = marshal.loads(bytes(data))
    for name in config.pop("imports"):
        __import__(name)
    warm = config.pop("warm")
    if warm:
        sys.path.insert(0, warm)
        sys.dont_write_bytecode, writes = True, sys.dont_write_bytecode
        try:
            __import__("bootstrap")
        finally:
            sys.dont_write_bytecode = writes
            sys.path.remove(warm)
            sys.path_importer_cache.pop(warm, None)
            sys.modules.pop("bootstrap", None)
    for name in config.pop("preload"):
        try:
            __import__(name)
        except Exception:
            pass
    keep = frozenset(sys.modules)
    for name in ("stratus", "stratus.sandbox"):
        package = type(sys)(name)
        package.__path__ = []
        sys.modules[name] = package
    for name, source in config.pop("modules"):
        module = type(sys)(name)
        module.__file__ = "<" + name + ">"
        sys.modules[name] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, module)
    return sys.modules["stratus.sandbox.nursery"].main(config, keep)
_stratus_on_idle, spec, bootstrap = _stratus_zygote()
del _stratus_zygote, os, marshal
from importlib.util import module_from_spec, spec_from_file_location
sys.exit(bootstrap.main(sys.argv, _stratus_on_idle))
"""


def startup_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """The part of an instance's environment its interpreter reads while starting."""
    return {
        name: value
        for name, value in environment.items()
        if name.startswith("PYTHON") or name in ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "HOME")
    }


class ZygoteError(Exception):
    """The zygote could not start, or could not fork an instance."""


class PidfdChild:
    """An instance's PID 1 known by a pidfd (what `ProcessInstance` drives): killing it
    (by pidfd, so never another process by mistake) ends the whole instance; once it
    has ended, `_settle` records its code, whether its cgroup's OOM killer struck, and
    removes the cgroup."""

    def __init__(self, pid: int, pidfd: int, cgroup: InstanceCgroup | None) -> None:
        self.pid = pid
        self._pidfd: int | None = pidfd
        self._cgroup = cgroup
        self._oom = False
        self._exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._on_exit: Callable[[], None] | None = None

    def watch(self, on_exit: Callable[[], None]) -> None:
        self._on_exit = on_exit
        if self._exited.done():
            asyncio.get_running_loop().call_soon(on_exit)

    @property
    def returncode(self) -> int | None:
        return self._exited.result() if self._exited.done() else None

    def kill_group(self) -> None:
        if self._pidfd is None or self._exited.done():
            return
        # Already dead: fine, the word of its end is on its way.
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def out_of_memory(self) -> bool:
        return self._oom

    def _settle(self, code: int) -> None:
        """Settle everything once."""
        if self._exited.done():
            return
        if self._cgroup is not None:
            self._oom = self._cgroup.oom_kills() > 0
            remove_cgroup(self._cgroup)
            self._cgroup = None
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self._exited.set_result(code)
        if self._on_exit is not None:
            self._on_exit()


class ZygoteChild(PidfdChild):
    """An instance's init process, started by a zygote. Its end is reported by the
    zygote, with the runtime's exit status."""

    def __init__(
        self,
        zygote: ZygoteProcess,
        pid: int,
        pidfd: int,
        cgroup: InstanceCgroup | None,
        runtime: int,
    ) -> None:
        super().__init__(pid, pidfd, cgroup)
        self.runtime = runtime
        self._zygote = zygote

    def peak_rss_kb(self) -> int | None:
        # The runtime is the zygote's child: its pid is its own until the zygote reaps
        # it, which comes just before the end is reported (from then on, None).
        return None if self._exited.done() else peak_rss_kb(self.runtime)

    def exited(self, code: int) -> None:
        """The zygote reaped the instance (or died): settle everything once."""
        self._settle(code)


def remove_cgroup(cgroup: InstanceCgroup, tries: int = 50) -> None:
    """Remove an ended instance's cgroups (retried while the kernel still empties them)."""
    if cgroup.remove():
        return
    if tries <= 0:
        log.warning("could not remove an instance's cgroup: %s", cgroup.directories)
        return
    asyncio.get_running_loop().call_later(0.1, remove_cgroup, cgroup, tries - 1)


class ZygoteProcess:
    """One zygote and the instances it forked."""

    def __init__(self, interpreter: str, environment: Mapping[str, str]) -> None:
        self.interpreter = interpreter
        self.environment = dict(environment)
        self.children: dict[int, ZygoteChild] = {}
        self._popen: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._next_id = 0
        #: Requests answered later: spawns (a ZygoteChild) and adoptions (an exit code).
        self._pending: dict[int, tuple[asyncio.Future[Any], InstanceCgroup | None]] = {}
        self._hello: asyncio.Future[int] | None = None
        #: Whether its instances' roots are copies of a common one: each then needs its
        #: function's directories as detached mount trees (see `confine.CopiedRoot`).
        self.copied_root = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending = asyncio.Lock()
        #: Instances it may still be asked to learn from (`prefault.py`); some of those
        #: asked may have ended before it looks.
        self._samples_wanted = 2 * prefault.SAMPLES

    @property
    def alive(self) -> bool:
        """False once the zygote exited or was closed."""
        return self._sock is not None and self._popen is not None and self._popen.poll() is None

    async def start(self, config: dict[str, Any], cwd: Path) -> None:
        """Start the zygote and wait until it is ready to fork."""
        self._loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {
            **config,
            "socket": theirs.fileno(),
            "modules": [(f"stratus.sandbox.{n}", _SOURCES[n].read_text()) for n in ZYGOTE_MODULES],
        }
        stdin = os.memfd_create("stratus-zygote", os.MFD_CLOEXEC)
        try:
            os.write(stdin, marshal.dumps(config, 4))
            os.lseek(stdin, 0, os.SEEK_SET)
            # Started from the loop's thread on purpose: the parent-death signal the
            # zygote asks for fires when the *thread* that forked it ends.
            self._popen = subprocess.Popen(
                [self.interpreter, "-u", "-c", LOADER],
                stdin=stdin,
                stdout=subprocess.DEVNULL,
                env=self.environment,
                cwd=cwd,
                pass_fds=(theirs.fileno(),),
                close_fds=True,
                start_new_session=True,
            )
        except OSError as e:
            ours.close()
            raise ZygoteError(f"cannot start {self.interpreter}: {e.strerror or e}") from e
        finally:
            os.close(stdin)
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self._hello = self._loop.create_future()
        self._loop.add_reader(ours, self._on_readable)
        try:
            await asyncio.wait_for(asyncio.shield(self._hello), START_TIMEOUT)
        except (TimeoutError, ZygoteError) as e:
            self.close()
            raise ZygoteError(f"the zygote for {self.interpreter} did not start: {e}") from e

    async def spawn(
        self, request: dict[str, Any], fds: list[int], cgroup: InstanceCgroup | None
    ) -> ZygoteChild:
        """Fork an instance and track it. The fds are sent, not closed."""
        child: ZygoteChild = await self._request("spawn", request, fds, cgroup)
        return child

    @property
    def learning(self) -> bool:
        """Whether it still learns what its instances write (`prefault.py`)."""
        return self._samples_wanted > 0

    def learn(self, child: ZygoteChild) -> None:
        """Have it look at which pages `child` has written. Nothing waits for it, and
        nothing is lost if it cannot be asked now."""
        if not self.learning or self._sock is None or child.returncode is not None:
            return
        self._samples_wanted -= 1
        with contextlib.suppress(OSError):  # (a full socket included: it is busy)
            self._sock.send(json.dumps({"t": "learn", "runtime": child.runtime}).encode())

    async def adopt(self, request: dict[str, Any], copy: int) -> None:
        """Have the copy of a function's template behind pidfd `copy` adopted (its
        cgroups, id maps, /proc and /tmp: `template_fork.adopt`). The fd is sent, not
        closed."""
        code = await self._request("adopt", request, [copy], None)
        if code != 0:
            raise ZygoteError(f"adopting a template's copy failed (status {code})")

    async def _request(
        self, kind: str, request: dict[str, Any], fds: list[int], cgroup: InstanceCgroup | None
    ) -> Any:
        if self._sock is None or self._loop is None:
            raise ZygoteError("the zygote is not running")
        self._next_id += 1
        ident = self._next_id
        future: asyncio.Future[Any] = self._loop.create_future()
        self._pending[ident] = (future, cgroup)
        data = json.dumps({"t": kind, "id": ident, **request}).encode()
        try:
            # One sender at a time: a burst can fill the socket, and one fd has one
            # writer callback, so only one waiter can be woken when it drains.
            async with self._sending:
                while True:
                    try:
                        socket.send_fds(self._sock, [data], fds)
                        break
                    except BlockingIOError:  # the zygote is behind: wait for it
                        await self._writable()
        except (OSError, ZygoteError) as e:
            self._pending.pop(ident, None)
            raise ZygoteError(f"cannot reach the zygote: {e}") from e
        return await future

    async def _writable(self) -> None:
        sock, loop = self._sock, self._loop
        if sock is None or loop is None:
            raise ZygoteError("the zygote is not running")
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_writer(sock, wake)
        try:
            await ready
        finally:
            loop.remove_writer(sock)

    def _on_readable(self) -> None:
        sock = self._sock
        while sock is not None:
            try:
                data, fds, _, _ = socket.recv_fds(sock, 65536, 1)
            except BlockingIOError:
                return
            except OSError as e:
                log.warning("zygote %s: %s", self.interpreter, e)
                data, fds = b"", []
            if not data:
                self._lost("the zygote exited")
                return
            self._dispatch(json.loads(data), fds)

    def _dispatch(self, message: dict[str, Any], fds: list[int]) -> None:
        kind = message.get("t")
        if kind == "hello" and self._hello is not None and not self._hello.done():
            self.copied_root = bool(message.get("copied_root"))
            self._hello.set_result(int(message["pid"]))
        elif kind in ("spawned", "failed"):
            future, cgroup = self._pending.pop(message["id"], (None, None))
            if kind == "spawned" and fds:
                # Tracked at once: its exit report may be the very next message.
                pid, pidfd = int(message["pid"]), fds.pop(0)
                child = ZygoteChild(self, pid, pidfd, cgroup, int(message["runtime"]))
                self.children[pid] = child
                if future is not None and not future.done():
                    future.set_result(child)
                else:
                    child.kill_group()
            elif future is not None and not future.done():
                future.set_exception(ZygoteError(str(message.get("error"))))
        elif kind == "adopted":
            future, _ = self._pending.pop(message["id"], (None, None))
            if future is not None and not future.done():
                future.set_result(int(message["code"]))
        elif kind == "exit":
            ended = self.children.pop(int(message["pid"]), None)
            if ended is not None:
                ended.exited(int(message["code"]))
        for fd in fds:
            os.close(fd)

    def _lost(self, reason: str) -> None:
        """The zygote is gone: so are its instances (they die with it)."""
        sock, self._sock = self._sock, None
        if sock is not None and self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(sock)
            sock.close()
        error = ZygoteError(reason)
        if self._hello is not None and not self._hello.done():
            self._hello.set_exception(error)
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        for child in list(self.children.values()):
            child.kill_group()
            child.exited(-signal.SIGKILL)
        self.children.clear()
        if self._popen is not None:
            with contextlib.suppress(OSError):
                self._popen.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=5)

    def close(self) -> None:
        """Stop the zygote; any instance it still has dies with it."""
        self._lost("the zygote was closed")
