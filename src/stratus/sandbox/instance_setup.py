"""Inside a new instance: its runtime, from the zygote's fork to the bootstrap.

Standard library only, Python 3.10 and later, like `nursery.py`, whose zygote forks the
runtime and calls `become_runtime` in it (the zygote is handed this file's source
before nursery.py's). The runtime joins its init's namespaces, makes the part of its
root every instance has (or finds it made: `confine.CopiedRoot`), and waits as a
spare; then it reads its function (one frame on the control socket), confines itself
for good and leaves the interpreter as a fresh one running the bootstrap would be.
"""

from __future__ import annotations

import contextlib
import fcntl
import marshal
import os
import signal
import socket
import struct
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from stratus.sandbox import confine, kernel
from stratus.sandbox.stragglers import Stragglers

if TYPE_CHECKING:
    from stratus.sandbox.nursery import Zygote

_HEADER = struct.Struct("<II")
# Where an instance's runtime keeps its descriptors while it sets up.
_CONTROL_FD, _LOG_FD, _INIT_FD = 3, 4, 5
#: Exit code of an init or runtime whose confinement failed (the reason is in its log).
SETUP_FAILED = 125


def become_runtime(
    zygote: Zygote,
    request: dict[str, Any],
    control: int,
    log: int,
    init_pidfd: int,
    flags: int,
) -> Callable[[], None]:
    """PID 2: join init's namespaces, confine the instance and itself, then hand over
    to the bootstrap. Returns the bootstrap's ``on_idle``: the straggler check, or, in
    a function's template, what copies it (`template_fork.Template`)."""
    config = zygote.config
    zygote.sock.detach()  # this process reuses its number; the object must not close it
    try:
        _place([control, log, init_pidfd], _CONTROL_FD)
        kernel.close_descriptors_from(_INIT_FD + 1)
        # (Unprivileged, it was born in the user namespace; as root there is none. The
        # mount namespace is joined by the root's builder.)
        joined_later = kernel.CLONE_NEWPID | kernel.CLONE_NEWUSER | kernel.CLONE_NEWNS
        kernel.setns(_INIT_FD, flags & ~joined_later)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if not config["privileged"]:
            uid, gid = zygote.host_ids  # the user namespace made with init
            confine.map_ids(f"0 {uid} 1", f"0 {gid} 1")
        groups: dict[str, int] = {}
        preset: dict[str, str] = {}
        if request["cgroups"]:
            groups = confine.enter_cgroups(request["cgroups"])
            # The limits of the memory size the server expects (the last function's):
            # written now, they need not be when the function comes, if it has that size.
            preset = dict(request.get("limits") or [])
            confine.write_limits(preset.items(), groups)
            if config["cgroup_namespace"]:
                kernel.unshare(kernel.CLONE_NEWCGROUP)
        root: confine.RootBuilder | confine.CopiedRoot
        if zygote.common_root is not None:
            root = confine.CopiedRoot(config["hostname"], _INIT_FD)
        else:
            root = confine.RootBuilder(config["root"], config["hostname"], _INIT_FD)
        root.prepare(zygote.mounts)
        os.close(_INIT_FD)
        confine.scope(config["landlock"])
        if request.get("ahead"):  # (one forked for a call now would only copy more)
            zygote.learned.copy_ahead()
        # All so far is the same for every function: a spare instance waits here,
        # with no code, no environment and nothing of any function yet.
        try:
            setup, trees = read_setup(_CONTROL_FD)
        except EOFError:
            os._exit(0)  # a spare the server let go
        confine.write_limits(setup["limits"], groups, preset)
        for group in groups.values():
            os.close(group)
        root.finish(setup, trees)
        root.enter()  # init's root moves along: it is in the same mount namespace
        for tree in trees:
            os.close(tree)
        template = bool(setup.get("template"))  # a function's template (template_fork.py)
        proc_self = confine.hide_proc() if template else None
        if config["privileged"]:
            confine.drop_to(config["uid"], config["gid"])
            kernel.set_dumpable(True)  # reset by the uid change; needed for uid_map
        confine.enter_user_namespace(proc_self)
        if proc_self is not None:
            os.close(proc_self)
        confine.lock_down(zygote.template_seccomp if template else zygote.seccomp)
        os.chdir("/var/task")
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(_LOG_FD, 1)
        os.dup2(_LOG_FD, 2)
        kernel.close_descriptors_from(_LOG_FD)
    except BaseException as e:
        abort_setup("sandbox set-up failed", e, (_LOG_FD, 2))
    _become_fresh(setup)
    return zygote.template() if template else Stragglers()


def _become_fresh(setup: dict[str, Any]) -> None:
    """Leave the interpreter as a fresh one running the bootstrap would be (the
    zygote already tidied sys.modules): its environment and arguments."""
    _set_environment(setup["env"])
    sys.argv[:] = setup["argv"]


def _set_environment(environment: dict[str, str]) -> None:
    """Make `environment` the whole environment, in os.environ and in the C library's.

    What ``os.environ.clear()`` then ``update()`` do, without their per-item Python
    machinery (``clear`` pops one item at a time): 0.37 ms of every cold start, a fifth
    of that this way. The mapping's own dict is filled as its ``__setitem__`` fills it,
    keys and values encoded as os.environ encodes them on POSIX.
    """
    data = getattr(os.environ, "_data", None)
    if not isinstance(data, dict):  # not CPython's os._Environ: the long way
        os.environ.clear()
        os.environ.update(environment)
        return
    for key in list(data):
        os.unsetenv(key)
    data.clear()
    encoding = sys.getfilesystemencoding()
    for name, value in environment.items():
        key = name.encode(encoding, "surrogateescape")
        text = value.encode(encoding, "surrogateescape")
        os.putenv(key, text)
        data[key] = text


def read_setup(fd: int, max_fds: int = 2) -> tuple[dict[str, Any], list[int]]:
    """The one frame the engine sends before the bootstrap starts: the function (code,
    limits, environment, argv), marshalled (decoding JSON took 0.2 ms of a cold start);
    and the descriptors sent with it (its directories' mount trees, for a `CopiedRoot`;
    a template's copy gets its cgroups' files to join them by)."""
    channel = socket.socket(fileno=fd)
    try:
        data, trees, _, _ = socket.recv_fds(channel, _HEADER.size, max_fds)
    finally:
        channel.detach()
    while len(data) < _HEADER.size:
        chunk = os.read(fd, _HEADER.size - len(data))
        if not chunk:
            raise EOFError("control channel closed before set-up")
        data += chunk
    meta_len, body_len = _HEADER.unpack(data)
    rest = b""
    while len(rest) < meta_len + body_len:
        chunk = os.read(fd, meta_len + body_len - len(rest))
        if not chunk:
            raise EOFError("control channel closed during set-up")
        rest += chunk
    setup: dict[str, Any] = marshal.loads(rest[:meta_len])
    return setup, trees


def _place(fds: list[int], first: int) -> None:
    """Give `fds` the numbers first, first + 1, ..., whatever numbers they have now."""
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]  # out of the way first
    for offset, fd in enumerate(moved):
        os.dup2(fd, first + offset)


def abort_setup(what: str, error: BaseException, fds: tuple[int, ...] = (2,)) -> NoReturn:
    """Say why set-up failed (in the instance's log where there is one, and on the
    zygote's stderr, the server's log) and end the process."""
    message = f"[Stratus] {what}: {error!r}\n".encode()
    for fd in fds:
        with contextlib.suppress(OSError):
            os.write(fd, message)
    os._exit(SETUP_FAILED)
