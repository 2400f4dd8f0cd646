"""An instance's init, from the zygote's side: the program, or the same in Python.

Standard library only, Python 3.10 and later, like `nursery.py`, whose zygote starts
each instance's init (the zygote is handed this file's source too). The program is the
half-kilobyte one `initprog.py` assembles in the server; the zygote holds it in a sealed
memfd (`program_descriptor`) and starts it with `clone.clone_exec`. Where the host
cannot run it, init is a copy of the zygote that does the same in Python
(`python_init`).
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
from typing import Any, NoReturn

from stratus.sandbox import confine, kernel
from stratus.sandbox.instance_setup import abort_setup

_MFD_EXEC = 0x10  # (os.MFD_EXEC is not in every Python this runs on)


def program_descriptor(program: str | None) -> int | None:
    """A descriptor of the init program (`initprog.py`; hex), if this host executes it.

    A sealed memfd, made executable explicitly (kernels with ``vm.memfd_noexec`` make
    them not executable by default); tried once here, so a host that refuses to execute
    it (that sysctl at 2, a security module) gets the interpreter's copy as init."""
    if not program:
        return None
    flags = os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING
    try:
        try:
            fd = os.memfd_create("init", flags | _MFD_EXEC)
        except OSError as e:
            if e.errno != errno.EINVAL:  # EINVAL: a kernel before 6.3, executable anyway
                raise
            fd = os.memfd_create("init", flags)
    except OSError:
        return None
    os.write(fd, bytes.fromhex(program))
    seals = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    try:
        trial = os.posix_spawn(f"/proc/self/fd/{fd}", ["init"], {})
    except OSError:
        os.close(fd)
        return None
    os.kill(trial, signal.SIGKILL)
    os.waitpid(trial, 0)
    return fd


def python_init(config: dict[str, Any]) -> NoReturn:
    """Init's life where the host does not run the init program: the same, in Python.
    Drops every privilege, then reaps orphans until the zygote kills it."""
    signal.set_wakeup_fd(-1)
    for number in (signal.SIGCHLD, signal.SIGINT):
        signal.signal(number, signal.SIG_DFL)  # the zygote's handlers: not here
    try:
        kernel.close_descriptors_from(3)
        if config["privileged"]:
            # From root to nobody: capabilities go, and the process stops being
            # dumpable, so the runtime (nobody too) cannot look into it.
            confine.drop_to(config["uid"], config["gid"])
        else:
            kernel.set_dumpable(False)
            kernel.drop_capabilities()
        kernel.set_parent_death_signal(signal.SIGKILL)  # after the uid change clears it
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    except BaseException as e:
        abort_setup("sandbox set-up failed", e)
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        signal.sigwait({signal.SIGCHLD})
