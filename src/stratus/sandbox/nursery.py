"""The zygote process: a runtime's interpreter, warmed up, forking isolated instances.

Standard library only, Python 3.10 and later: it runs in the function's runtime
interpreter, handed this source by the loader in `zygote.py`. The processes:

    zygote        the runtime's interpreter with the bootstrap's modules imported, the
      |           bootstrap module itself built, and its objects frozen out of the
      |           garbage collector and made immortal (so forks share its pages
      |           instead of copying them)
      +- init     one per instance, started in the instance's new namespaces: PID 1 of
      |           its PID namespace. The half-kilobyte program of `initprog.py` where
      |           the host runs it (started as posix_spawn starts a program: sharing
      |           the zygote's memory until its exec, see `clone.clone_exec`), else a
      |           copy of the zygote: drops every privilege, then only reaps orphans.
      |           Killed by the zygote when the runtime ends.
      +- runtime  PID 2 of the same namespace: forked by the zygote into it, joins its
                  other namespaces, creates the instance's cgroups and moves in,
                  builds its root, enters its Landlock domain, becomes sbx_user1051 in
                  a user namespace of its own, drops every privilege, installs seccomp,
                  then runs the bootstrap's main() exactly as a fresh interpreter's
                  launcher would (`instance_setup.py`).

The runtime is not PID 1 on purpose: PID 1 ignores signals it has no handler for (a
handler's ``os.kill(os.getpid(), SIGKILL)`` would do nothing) and inherits every orphan;
Lambda's runtime is not PID 1 either. It is the zygote's child, not init's, so the
zygote hears its exit status first hand; it then kills init, and the kernel ends
everything else in the namespace with it. (Rejected: an init that is a copy of the
zygote and forks the runtime: a second interpreter per instance, 0.7 MB and some 280
page faults each, for a few system calls.)

Messages with the server, one JSON document per SOCK_SEQPACKET packet:

- zygote -> server ``{"t": "hello", "pid", "copied_root"}`` once ready (whether its
  instances' roots are copies of a common one, `confine.CopiedRoot`);
- server -> zygote ``{"t": "spawn", "id", "net", "cgroups"}`` with the instance's
  control socket and log pipe as SCM_RIGHTS;
- zygote -> server ``{"t": "spawned", "id", "pid", "runtime"}`` (init's and the
  runtime's pids) with a pidfd of the instance's init, or ``{"t": "failed", "id",
  "error"}``;
- zygote -> server ``{"t": "exit", "pid", "code"}`` when an instance has ended (init's
  pid; the runtime's exit code, negative for a signal, as subprocess words it);
- server -> zygote ``{"t": "adopt", "id", "pid", "tmp_mb"}`` with a pidfd of a function
  template's new copy; zygote -> server ``{"t": "adopted", "id", "code"}`` once the
  helper it forked for it has ended (code 0: adopted; `template_fork.adopt`);
- server -> zygote ``{"t": "learn", "runtime"}`` once an instance has answered its first
  call: which pages it wrote (`prefault.py`). No answer.

Nothing of a function passes through the zygote: the runtime prepares what every
instance has (namespaces, cgroups, the common part of its root), then reads its
function from its control socket (one frame, as the engine frames them: code and layer
directories, /tmp size, cgroup limits, environment, bootstrap arguments). The zygote's
memory, which every later instance inherits a copy of, so never holds one function's
secrets for another to find; and the server can fork instances ahead, before it knows
their function (spares, see `isolated.py`).
"""

from __future__ import annotations

import ctypes
import errno
import gc
import json
import os
import select
import signal
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any

from stratus.sandbox import clone, confine, init_start, kernel, prefault, template_fork
from stratus.sandbox.instance_setup import abort_setup, become_runtime

_PID = struct.Struct("<i")
#: Directories whose content inside an instance differs from the host's.
_INSIDE_ONLY = ("/var/task", "/opt", "/tmp", "/var/runtime")


class Zygote:
    """Serves spawn requests until the server goes away."""

    def __init__(self, config: dict[str, Any], keep_modules: frozenset[str]) -> None:
        self.config = config
        self.keep_modules = keep_modules
        self.sock = socket.socket(fileno=config["socket"])
        self.sock.setblocking(True)
        #: runtime pid -> its instance's init pid, until the runtime is reaped.
        self.runtimes: dict[int, int] = {}
        #: inits not reaped yet (only then is a pid sure to still name the init) -> the
        #: exit code of their runtime, once it has ended.
        self.inits: dict[int, int | None] = {}
        self.init_program = init_start.program_descriptor(config.get("init_program"))
        self.seccomp = bytes.fromhex(config["seccomp"]) if config["seccomp"] else None
        #: A function's template's filter: the instance's, plus clone(2) into the
        #: namespaces of a copy (template_fork.py).
        self.template_seccomp = (
            bytes.fromhex(config["template_seccomp"]) if config["template_seccomp"] else None
        )
        for program in (self.seccomp, self.template_seccomp):
            if program:
                kernel.prepare_seccomp(program)
        #: Helpers adopting a template's copies, not reaped yet: pid -> request id.
        self.helpers: dict[int, int] = {}
        self.own_pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        self.pid = os.getpid()
        # Unprivileged, a runtime is forked by a short-lived child of the zygote (see
        # `_fork_runtime`): when that child ends, the runtime becomes the zygote's.
        kernel.prctl(kernel.PR_SET_CHILD_SUBREAPER, 1)
        #: Who the zygote is, as its instances' user namespaces map it.
        self.host_ids = (os.geteuid(), os.getegid())
        self.mounts = list(config["mounts"]) + self._interpreter_mounts()
        #: As root, the mount namespace each instance's begins as a copy of (its root
        #: finished but for the function: `confine.CopiedRoot`); else None.
        self.common_root = self._common_root()
        self._host_mounts = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        self._home = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.bootstrap: Any = None
        self._wakeup_r, self._wakeup_w = os.pipe()
        #: The pages instances write, which spares copy ahead (`prefault.py`).
        self.learned = prefault.Learned()

    def _start_init(self, flags: int) -> tuple[int, int]:
        """An init in new namespaces of kinds `flags`: (pid, pidfd). Its mount namespace
        is a copy of the common root's where there is one, else of the host's."""
        if self.common_root is None:
            return self._clone_init(flags)
        kernel.setns(self.common_root, kernel.CLONE_NEWNS)
        try:
            return self._clone_init(flags)
        finally:
            kernel.setns(self._host_mounts, kernel.CLONE_NEWNS)
            os.fchdir(self._home)

    def _clone_init(self, flags: int) -> tuple[int, int]:
        if self.init_program is not None:
            return clone.clone_exec(flags, self.init_program)
        pid, pidfd = clone.fork_into(flags)
        if pid == 0:
            init_start.python_init(self.config)
        return pid, pidfd

    def _common_root(self) -> int | None:
        if not self.config["copied_root"]:
            return None
        try:
            return confine.common_root_namespace(self.config["root"], self.mounts)
        except OSError as e:
            print(f"[Stratus] every instance builds its own root: {e}", file=sys.stderr)
            return None

    def _interpreter_mounts(self) -> list[dict[str, Any]]:
        """Bind this interpreter's installation at its own path, unless /usr has it."""
        places = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
        places.add(os.path.dirname(os.path.realpath(sys.executable)))
        places.add(os.path.dirname(sys.executable))
        chosen: list[str] = []
        for place in sorted(os.path.realpath(p) for p in places if p):
            if place in ("/", "/usr") or place.startswith("/usr/"):
                continue
            if any(place.startswith(done + "/") for done in chosen):
                continue
            chosen.append(place)
        mounts = []
        for place in chosen:
            target = place.strip("/")
            os.makedirs(os.path.join(self.config["root"], target), mode=0o755, exist_ok=True)
            mounts.append({"source": place, "target": target, "readonly": True})
        return mounts

    def prepare(self) -> Any:
        """Build the bootstrap module, freeze the heap, hook SIGCHLD; the module's spec."""
        from importlib.util import module_from_spec, spec_from_file_location

        inside, source = self.config["bootstrap"]
        # What the launcher of a fresh process does, minus reading the file: the
        # module is the same, only built once (bootstrap.main() does the per-process
        # part). It is not put in sys.modules, as the launcher does not either.
        spec = spec_from_file_location("_stratus_bootstrap", inside)
        self.bootstrap = module_from_spec(spec)  # type: ignore[arg-type]
        exec(compile(source, inside, "exec"), self.bootstrap.__dict__)
        os.set_blocking(self._wakeup_w, False)
        signal.set_wakeup_fd(self._wakeup_w)
        signal.signal(signal.SIGCHLD, lambda number, frame: None)
        # What a fresh process running the bootstrap would not have imported goes from
        # sys.modules (the zygote holds its own references): instances then start with
        # the same sys.modules as a fresh one, without each paying to tidy it.
        for name in set(sys.modules) - self.keep_modules:
            del sys.modules[name]
        # A path the zygote found missing may exist inside (PYTHONPATH=/opt/python); the
        # others are the same directories, bound at the same paths, so their cached
        # finders stay valid. (Not importlib.invalidate_caches(): it imports
        # importlib.metadata, 30 ms.)
        for path, finder in list(sys.path_importer_cache.items()):
            if finder is None or path in ("", ".") or path.startswith(_INSIDE_ONLY):
                del sys.path_importer_cache[path]
        # Everything alive now lives as long as the zygote: keeping the collector away
        # from it keeps its pages shared with every instance instead of copied.
        gc.collect()
        _immortalize()
        gc.freeze()
        kernel.trim_heap()  # every fork copies the page tables of what the heap holds
        return spec

    def serve(self) -> Callable[[], None]:
        """Answer requests; returns only in a new instance's runtime process."""
        self._send({"t": "hello", "pid": os.getpid(), "copied_root": self.common_root is not None})
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        poller.register(self._wakeup_r, select.POLLIN)
        while True:
            for fd, events in poller.poll():
                if fd == self._wakeup_r:
                    os.read(self._wakeup_r, 4096)
                    self._reap()
                    continue
                if events & (select.POLLHUP | select.POLLERR) and not events & select.POLLIN:
                    os._exit(0)  # the server is gone; instances follow (parent-death signal)
                message, fds, _, _ = socket.recv_fds(self.sock, 65536, 4)
                if not message:
                    os._exit(0)
                request = json.loads(message)
                if request.get("t") == "adopt":
                    self._adopt(request, fds)
                    continue
                if request.get("t") == "learn":
                    if request["runtime"] in self.runtimes:  # (so its pid is still its)
                        self.learned.sample(request["runtime"])
                    continue
                on_idle = self._spawn(request, fds)
                if on_idle is not None:
                    return on_idle

    def _send(self, message: dict[str, Any], fds: list[int] | None = None) -> None:
        data = json.dumps(message).encode()
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.send(data)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            helper = self.helpers.pop(pid, None)
            if helper is not None:
                code = os.waitstatus_to_exitcode(status)
                self._send({"t": "adopted", "id": helper, "code": code})
                continue
            init = self.runtimes.pop(pid, None)
            if init is not None:  # a runtime ended: its instance ends with its init
                code = os.waitstatus_to_exitcode(status)
                if init in self.inits:
                    self.inits[init] = code
                    os.kill(init, signal.SIGKILL)  # reported once reaped, all gone
                else:
                    self._send({"t": "exit", "pid": init, "code": code})
            elif pid in self.inits:  # an init ended (its runtime ends with it, if alive)
                ended = self.inits.pop(pid)
                if ended is not None:
                    self._send({"t": "exit", "pid": pid, "code": ended})

    def _spawn(self, request: dict[str, Any], fds: list[int]) -> Callable[[], None] | None:
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            self._send({"t": "failed", "id": request.get("id"), "error": "expected 2 fds"})
            return None
        control, log = fds
        flags = kernel.CLONE_NEWNS | kernel.CLONE_NEWPID | kernel.CLONE_NEWIPC
        flags |= kernel.CLONE_NEWUTS
        if not self.config["privileged"]:
            flags |= kernel.CLONE_NEWUSER
        if not request["net"]:
            flags |= kernel.CLONE_NEWNET
        try:
            init, pidfd = self._start_init(flags)
        except OSError as e:
            for fd in (control, log):
                os.close(fd)
            self._send({"t": "failed", "id": request["id"], "error": str(e)})
            return None
        self.inits[init] = None
        try:
            runtime = self._fork_runtime(pidfd)
        except OSError as e:
            os.kill(init, signal.SIGKILL)
            for fd in (control, log, pidfd):
                os.close(fd)
            self._send({"t": "failed", "id": request["id"], "error": str(e)})
            return None
        if runtime == 0:
            return become_runtime(self, request, control, log, pidfd, flags)
        for fd in (control, log):
            os.close(fd)
        self.runtimes[runtime] = init
        try:
            self._send(
                {"t": "spawned", "id": request["id"], "pid": init, "runtime": runtime}, [pidfd]
            )
        finally:
            os.close(pidfd)
        return None

    def _adopt(self, request: dict[str, Any], fds: list[int]) -> None:
        """Fork a helper into the PID namespace of a template's copy (the pidfd sent)
        that adopts it (`template_fork.adopt`); "adopted" follows once it has ended."""
        if len(fds) != 1 or not self.config["privileged"]:
            for fd in fds:
                os.close(fd)
            self._send({"t": "adopted", "id": request.get("id"), "code": -1})
            return
        (copy,) = fds
        try:
            kernel.setns(copy, kernel.CLONE_NEWPID)
            try:
                helper = os.fork()
            finally:
                if os.getpid() == self.pid:
                    kernel.setns(self.own_pid_namespace, kernel.CLONE_NEWPID)
        except OSError as e:
            print(f"[Stratus] cannot adopt a template's copy: {e}", file=sys.stderr)
            os.close(copy)
            self._send({"t": "adopted", "id": request["id"], "code": -1})
            return
        if helper == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            template_fork.adopt(request, copy)
        os.close(copy)
        self.helpers[helper] = request["id"]

    def template(self) -> template_fork.Template:
        """A function's template's ``on_idle`` (called in the template's runtime)."""
        return template_fork.Template(self.seccomp, self.config["landlock"])

    def _fork_runtime(self, init_pidfd: int) -> int:
        """Fork a child born in the PID namespace of the init behind `init_pidfd`: its
        pid, or 0 in the child.

        Choosing where children are born takes CAP_SYS_ADMIN over the user namespaces
        owning both that PID namespace and the chooser's own. As root the zygote has it,
        and chooses, forks, and chooses its own again. Unprivileged it has it only over
        the instance's user namespace, from inside it: a child joins that, chooses,
        forks the runtime, passes its pid on and ends, and the runtime is handed to the
        zygote (a child subreaper) in its place.
        """
        if self.config["privileged"]:
            kernel.setns(init_pidfd, kernel.CLONE_NEWPID)
            try:
                runtime = os.fork()
            except OSError:
                kernel.setns(self.own_pid_namespace, kernel.CLONE_NEWPID)
                raise
            if runtime:
                kernel.setns(self.own_pid_namespace, kernel.CLONE_NEWPID)
            return runtime
        report_r, report_w = os.pipe()
        chooser = os.fork()
        if chooser == 0:
            try:
                os.close(report_r)
                kernel.setns(init_pidfd, kernel.CLONE_NEWUSER)
                kernel.setns(init_pidfd, kernel.CLONE_NEWPID)
                runtime = os.fork()
                if runtime == 0:
                    os.close(report_w)
                    return 0
                os.write(report_w, _PID.pack(runtime))
            except BaseException as e:
                abort_setup("sandbox set-up failed", e)
            os._exit(0)
        os.close(report_w)
        try:
            data = os.read(report_r, _PID.size)
        finally:
            os.close(report_r)
            os.waitpid(chooser, 0)
        if len(data) != _PID.size:
            raise OSError(errno.ECHILD, "the runtime could not be forked")
        (runtime,) = _PID.unpack(data)
        return int(runtime)


def _immortalize() -> None:
    """Make every object the zygote holds immortal (PEP 683), on 3.12 and 3.13.

    An instance that merely uses an object the zygote built (a module, a function, a
    string) changes its reference count, and that write copies the whole page into the
    instance: over a thousand pages per instance, about a third of its private memory
    and a good part of its start-up. An immortal object's count is never written, so
    its page stays shared. The value and the test are CPython's own for these versions
    (the low 32 bits all ones; `Py_INCREF` and `Py_DECREF` leave such an object alone);
    other versions and free-threaded builds, whose object header differs, are left as
    they are. Immortal objects are never freed, which costs nothing here: the zygote's
    objects live as long as it does, and an instance drops them only when it ends.
    """
    if sys.version_info[:2] not in ((3, 12), (3, 13)) or "t" in sys.abiflags:
        return
    if sys.byteorder != "little" or sys.maxsize < 2**32 or hasattr(sys, "getobjects"):
        return  # (a trace-refs build puts two pointers before the count)
    # An object already immortal is not visited again (no set of ids to hold: what
    # the walk allocates stays in the zygote's heap, which every fork copies).
    stack = gc.get_objects()
    while stack:
        obj = stack.pop()
        count = ctypes.c_uint32.from_address(id(obj))  # the low half of ob_refcnt
        if count.value >= 0x80000000:
            continue
        count.value = 0xFFFFFFFF
        stack.extend(gc.get_referents(obj))


def main(config: dict[str, Any], keep_modules: frozenset[str]) -> tuple[Any, Any, Any]:
    """The zygote's life. Returns only in an instance's runtime: its ``on_idle``, and the
    bootstrap module and its spec, for the loader to run as a launcher would."""
    kernel.set_parent_death_signal(signal.SIGKILL)
    zygote = Zygote(config, keep_modules)
    spec = zygote.prepare()
    on_idle = zygote.serve()
    return on_idle, spec, zygote.bootstrap
