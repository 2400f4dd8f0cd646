"""Inside a function's template: copying it into new instances, and adopting each copy.

Standard library only, Python 3.10 and later, like `nursery.py` (the zygote is handed
this file's source). `templates.py` is the server's side and says when templates are
made; the processes:

    template    an instance set up as any other (`instance_setup.py`), with two
      |         differences: its /proc is moved out of reach (`confine.hide_proc`), and
      |         its seccomp filter lets clone(2) make exactly one set of namespaces.
      |         The bootstrap initialises the function in it as in any instance; then,
      |         instead of serving events, `Template` (its ``on_idle``) forks copies.
      +- copy   PID 1 of its own PID, mount, IPC and UTS namespaces, under a user
           |    namespace nested in the template's (no privilege needed to make them:
           |    the user namespace's creator holds every capability in it). Waits until
           |    the server has had it adopted (below), then forks the runtime and stays
           |    as its init: reaps orphans and, once the runtime has ended, hands its
           |    exit status to the template and ends.
           +- runtime  the instance: returns from the template's ``on_idle`` into the
                       bootstrap, which says ready and serves events, its handler
                       imported already.

Adopting a copy (`adopt`, in a helper the zygote forks into the copy's PID namespace,
as root) gives it what a template cannot: the id maps of its user namespace
(sbx_user1051 stays sbx_user1051), and its own /proc and /tmp, mounted over the
template's. Its cgroups the server makes, with their limits, and sends it their files
to join them by: a process that moves itself (single-threaded, through ``tasks`` on
cgroup v1) skips the lock whose RCU grace period any other move waits for, 5-8 ms. (A
copy that does not move itself stays in its template's group, whose limits are the
same: it only shares them with its template.)

What the template could turn against its copies is its own function's, and the filter
keeps the rest closed: it may not mount, unshare, setns, ptrace or read another
process's memory, and it has no /proc through which to open one. A copy's capabilities
exist only in its own user namespace, whose mounts it cannot touch (the same filter).
Each runtime stacks the instance filter on top (its namespaces as closed as any
instance's) and its own Landlock scope.

A template whose initialisation left something a copy cannot share (another thread, a
process, an open socket, a file in /tmp) says so instead of becoming one (`unfit`): the
function's instances then start as others do.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import socket
import stat
import struct
import sys
import threading
import time
from typing import Any

from stratus.sandbox import clone, confine, kernel
from stratus.sandbox.instance_setup import abort_setup, read_setup
from stratus.sandbox.stragglers import Stragglers

_HEADER = struct.Struct("<II")
#: Where the template's control socket is (the bootstrap's), and a copy's.
_CONTROL_FD = 3
#: Descriptors a template's initialisation may leave open without making it unfit: its
#: standard streams and control socket.
_OWN_FDS = 4


class Template:
    """A template's ``on_idle``: its first call (after the function initialised) serves
    requests for copies, and returns only in a copy's runtime; there, and in every
    later call, it is the runtime's `Stragglers`."""

    def __init__(self, instance_filter: bytes | None, landlock_abi: int) -> None:
        self.instance_filter = instance_filter
        self.landlock_abi = landlock_abi
        self.stragglers: Stragglers | None = None
        #: Copies not reaped yet: pid -> the read end of the pipe their init reports on.
        self.copies: dict[int, int] = {}
        #: What the function's initialisation left as SIGCHLD's handler, for its runtimes.
        self.sigchld: Any = signal.SIG_DFL

    def __call__(self) -> None:
        if self.stragglers is None:
            self._serve()
            self.stragglers = Stragglers()
        self.stragglers()

    # --- in the template ----------------------------------------------------------------

    def _serve(self) -> None:
        """Say ready (or unfit), then copy until the server goes away. Returns in a
        copy's runtime only."""
        reason = unfit()
        if reason:
            _send({"t": "unfit", "reason": reason})
            os._exit(0)
        wakeup_r, wakeup_w = os.pipe()
        os.set_blocking(wakeup_w, False)
        signal.set_wakeup_fd(wakeup_w)
        self.sigchld = signal.signal(signal.SIGCHLD, lambda number, frame: None)
        # The CPU time its set-up and initialisation took (this process's, since the
        # zygote forked it): what a copy saves, whatever else the host was doing.
        _send({"t": "ready", "cpu_ms": time.process_time() * 1000})
        poller = select.poll()
        poller.register(_CONTROL_FD, select.POLLIN)
        poller.register(wakeup_r, select.POLLIN)
        while True:
            for fd, _ in poller.poll():
                if fd == wakeup_r:
                    os.read(wakeup_r, 4096)
                    self._reap()
                    continue
                request, fds = _receive()
                if request is None:
                    os._exit(0)  # the server let the template go
                if len(fds) != 2:
                    for extra in fds:
                        os.close(extra)
                    _send({"t": "failed", "error": "expected 2 descriptors"})
                    continue
                if self._copy(fds[0], fds[1], (wakeup_r, wakeup_w)):
                    return

    def _copy(self, control: int, log: int, wakeup: tuple[int, int]) -> bool:
        """Fork a copy for the instance behind `control` and `log`; True in the copy's
        runtime."""
        status_r, status_w = os.pipe()
        try:
            pid, pidfd = clone.fork_copy(kernel.TEMPLATE_NAMESPACES)
        except OSError as e:
            for fd in (control, log, status_r, status_w):
                os.close(fd)
            _send({"t": "failed", "error": str(e)})
            return False
        if pid == 0:
            self._become_copy(control, log, status_w, [status_r, *wakeup, *self.copies.values()])
            return True
        for fd in (control, log, status_w):
            os.close(fd)
        self.copies[pid] = status_r
        try:
            _send({"t": "forked", "pid": pid}, [pidfd])
        finally:
            os.close(pidfd)
        return False

    def _reap(self) -> None:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            status_r = self.copies.pop(pid, None)
            if status_r is None:
                continue  # something the function's initialisation started
            said = os.read(status_r, 64)
            os.close(status_r)
            code = int(said) if said.lstrip(b"-").isdigit() else -signal.SIGKILL
            _send({"t": "exit", "pid": pid, "code": code})

    # --- in a copy --------------------------------------------------------------------

    def _become_copy(self, control: int, log: int, status_w: int, theirs: list[int]) -> None:
        """The copy: wait for adoption and the instance's own variables, fork the
        runtime, and (in the copy) be its init. Returns in the runtime."""
        try:
            signal.set_wakeup_fd(-1)
            for fd in theirs:
                os.close(fd)
            signal.signal(signal.SIGCHLD, self.sigchld)
            os.dup2(control, _CONTROL_FD)
            os.dup2(log, 1)
            os.dup2(log, 2)
            for fd in (control, log):
                if fd > _CONTROL_FD:
                    os.close(fd)
            try:
                setup, joins = read_setup(_CONTROL_FD, 8)  # once the server had it adopted
            except EOFError:
                os._exit(0)
            for join in joins:  # its cgroups' "tasks" (or cgroup.procs): "0" moves it
                os.write(join, b"0")
                os.close(join)
            os.environ.update(setup["env"])
            kernel.drop_capabilities()
            confine.scope(self.landlock_abi)
            if self.instance_filter:
                kernel.install_seccomp(self.instance_filter)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
            runtime = os.fork()
        except BaseException as e:
            abort_setup("sandbox set-up failed", e)
        if runtime == 0:
            os.close(status_w)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
            return
        _init(runtime, status_w)


def _init(runtime: int, status_w: int) -> None:
    """A copy's life once it has forked its runtime: reap every child; when the runtime
    has ended, write its exit code for the template and end."""
    for number in _handled_signals():
        signal.signal(number, signal.SIG_DFL)  # the function's handlers: not in its init
    for fd in (0, 1, 2, _CONTROL_FD):
        os.close(fd)
    while True:
        try:
            while True:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                if pid == runtime:
                    os.write(status_w, str(os.waitstatus_to_exitcode(status)).encode())
                    os._exit(0)
        except ChildProcessError:
            os._exit(0)
        signal.sigwait({signal.SIGCHLD})


def _handled_signals() -> list[int]:
    return [
        number
        for number in signal.valid_signals()
        if number not in (signal.SIGKILL, signal.SIGSTOP)
        and signal.getsignal(number) not in (signal.SIG_DFL, signal.SIG_IGN, None)
    ]


def unfit() -> str:
    """Why a copy of this process would not be the instance a fresh start makes, or ""."""
    if threading.active_count() > 1:
        return "the function's initialisation left threads running"
    if os.listdir("/tmp"):
        return "the function's initialisation wrote to /tmp"
    try:
        if os.waitpid(-1, os.WNOHANG) == (0, 0):
            return "the function's initialisation left processes running"
    except ChildProcessError:
        pass  # none
    limit = min(os.sysconf("SC_OPEN_MAX"), 65536)
    for fd in range(_OWN_FDS, limit):
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISSOCK(mode):
            return "the function's initialisation left a socket open"
    return ""


def _send(message: dict[str, Any], fds: list[int] | None = None) -> None:
    meta = json.dumps(message).encode()
    data = _HEADER.pack(len(meta), 0) + meta
    channel = socket.socket(fileno=_CONTROL_FD)
    try:
        sent = socket.send_fds(channel, [data], fds) if fds else 0
        channel.sendall(data[sent:])
    finally:
        channel.detach()


def _receive() -> tuple[dict[str, Any] | None, list[int]]:
    """One request from the server and the descriptors sent with it; None at its end."""
    channel = socket.socket(fileno=_CONTROL_FD)
    try:
        data, fds, _, _ = socket.recv_fds(channel, 4096, 2)
    finally:
        channel.detach()
    if not data:
        return None, fds
    while len(data) < _HEADER.size:
        data += _read_exactly(_HEADER.size - len(data))
    meta_len, body_len = _HEADER.unpack_from(data)
    rest = data[_HEADER.size :]
    if len(rest) < meta_len + body_len:
        rest += _read_exactly(meta_len + body_len - len(rest))
    return json.loads(rest[:meta_len]), fds


def _read_exactly(count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = os.read(_CONTROL_FD, count - len(data))
        if not chunk:
            os._exit(0)
        data += chunk
    return data


# --- in the zygote's helper -------------------------------------------------------------


def adopt(request: dict[str, Any], pidfd: int) -> None:
    """Adopt the copy behind `pidfd` (`request`: its host pid, its /tmp's size). Runs as
    root in a child of the zygote born in the copy's PID namespace (where the copy is
    PID 1); ends the process (status 0: adopted)."""
    try:
        pid = request["pid"]
        user = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        template_user = fcntl.ioctl(user, kernel.NS_GET_PARENT)
        signal.pidfd_send_signal(pidfd, 0)  # the pid still named the copy when opened
        # The maps are written from the parent user namespace, which holds both ids.
        kernel.setns(template_user, kernel.CLONE_NEWUSER)
        uid, gid = confine.SANDBOX_UID, confine.SANDBOX_GID
        for name, text in (("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)
        kernel.setns(pidfd, kernel.CLONE_NEWUSER | kernel.CLONE_NEWNS)
        confine.mount_instance_files(request["tmp_mb"])
    except BaseException as e:
        print(f"[Stratus] adopting a template's copy failed: {e!r}", file=sys.stderr)
        os._exit(1)
    os._exit(0)
