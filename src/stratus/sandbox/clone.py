"""Starting processes in new namespaces: clone3, for a fork and for a program.

Standard library only and valid on Python 3.10 and later, like `kernel.py` (the zygote
is handed this file's source too). `fork_into` is fork() into new namespaces, with the
interpreter's fork bookkeeping; `clone_exec` starts a program there, on x86-64 without
copying the caller (`_VforkExec`). Every call raises OSError with the call's name on
failure.
"""

from __future__ import annotations

import _signal
import ctypes
import functools
import os
import platform
from typing import Any

CLONE_VM = 0x100
CLONE_VFORK = 0x4000
CLONE_PIDFD = 0x1000
SYS_CLONE3 = 435
#: clone(2), the call that predates clone3 (numbered per architecture).
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}

_libc = ctypes.CDLL(None, use_errno=True)
# Calls through this handle keep the GIL, as os.fork() does around fork(): clone3 must
# not run while another thread could hold interpreter locks.
_libc_gil = ctypes.PyDLL(None, use_errno=True)
_libc_gil.syscall.restype = ctypes.c_long
# Resolved now, in the zygote, so instances share the result (see kernel.py).
for _name in ("fexecve", "_exit"):
    getattr(_libc_gil, _name, None)


class _CloneArgs(ctypes.Structure):
    # struct clone_args as of Linux 5.3 (CLONE_ARGS_SIZE_VER0, 64 bytes).
    _fields_ = [
        ("flags", ctypes.c_uint64),
        ("pidfd", ctypes.c_uint64),
        ("child_tid", ctypes.c_uint64),
        ("parent_tid", ctypes.c_uint64),
        ("exit_signal", ctypes.c_uint64),
        ("stack", ctypes.c_uint64),
        ("stack_size", ctypes.c_uint64),
        ("tls", ctypes.c_uint64),
    ]


def _clone3(flags: int) -> tuple[int, int, int]:
    """clone3() with no stack (as fork() behaves) and a pidfd: (pid or -1, pidfd, errno).
    Returns in both processes; the child sees pid 0."""
    pidfd = ctypes.c_int(-1)
    args = _CloneArgs(flags=flags | CLONE_PIDFD, exit_signal=17)  # SIGCHLD
    args.pidfd = ctypes.addressof(pidfd)
    pid = _libc_gil.syscall(
        ctypes.c_long(SYS_CLONE3), ctypes.byref(args), ctypes.c_size_t(ctypes.sizeof(args))
    )
    return int(pid), pidfd.value, ctypes.get_errno()


def _cloned(pid: int, pidfd: int, number: int) -> tuple[int, int]:
    if pid < 0:
        raise OSError(number, f"clone3: {os.strerror(number)}")
    return pid, pidfd


def fork_into(flags: int) -> tuple[int, int]:
    """Fork into new namespaces: (pid, pidfd) in the parent, (0, -1) in the child.

    clone3() with no stack behaves as fork() does, and CLONE_PIDFD hands back a pidfd
    that cannot name another process later. The interpreter's own fork bookkeeping
    runs around it exactly as in os.fork() (PyOS_BeforeFork and friends).

    Rejected: os.fork(), then unshare(), then a second fork to enter the new PID
    namespace: measured 2.1 ms against 1.0 ms for one clone3.
    """
    api: Any = ctypes.pythonapi
    api.PyOS_BeforeFork()
    pid, pidfd, number = _clone3(flags)
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0, -1
    api.PyOS_AfterFork_Parent()
    return _cloned(pid, pidfd, number)


def fork_copy(flags: int) -> tuple[int, int]:
    """`fork_into`, through clone(2): (pid, pidfd) in the parent, (0, -1) in the child.

    For a function's template, whose seccomp filter answers clone3 with ENOSYS (its
    arguments are in memory, out of a filter's reach) and lets clone(2) make exactly
    `kernel.TEMPLATE_NAMESPACES`. With no stack given, clone(2) behaves as fork() does;
    the pidfd comes back through the parent-tid argument, the third on every
    architecture.
    """
    api: Any = ctypes.pythonapi
    pidfd = ctypes.c_int(-1)
    number = ctypes.c_long(_SYS_CLONE[platform.machine()])
    api.PyOS_BeforeFork()
    pid = _libc_gil.syscall(
        number, ctypes.c_ulong(flags | CLONE_PIDFD | 17), None, ctypes.byref(pidfd), None, None
    )
    error = ctypes.get_errno()
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0, -1
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(error, f"clone: {os.strerror(error)}")
    return int(pid), pidfd.value


def clone_exec(flags: int, program: int) -> tuple[int, int]:
    """Start `program` (an executable's descriptor) in new namespaces: (pid, pidfd).

    On x86-64 the child borrows the caller's memory until its exec, as posix_spawn()'s
    does (CLONE_VM | CLONE_VFORK; the caller waits meanwhile): `_VforkExec` makes the
    clone3 call and, in the child, the exec. Nothing of the caller is copied (its page
    tables: a third of a millisecond for a zygote), nothing is torn down again at the
    exec, and the caller's pages are not write-protected, so it takes no copy-on-write
    faults on its own memory afterwards. Elsewhere the child is a copy of the caller
    that runs no Python between the clone and the exec (the interpreter's fork
    bookkeeping is skipped: nothing of its state is used again). A failed exec ends the
    child with status 125.
    """
    spawn = _vfork_exec()
    if spawn is not None:
        return spawn(flags, program)
    pid, pidfd, number = _clone3(flags)
    if pid == 0:
        _libc_gil.fexecve(ctypes.c_int(program), _EXEC_ARGV, _EXEC_ENVIRONMENT)
        _libc_gil._exit(ctypes.c_int(125))
    return _cloned(pid, pidfd, number)


# argv ["init"] and an empty environment, built once (the child must touch little).
_EXEC_ARGV = (ctypes.c_char_p * 2)(b"init", None)
_EXEC_ENVIRONMENT = (ctypes.c_char_p * 1)(None)


class _VforkExec:
    """clone3 with CLONE_VM | CLONE_VFORK, then execveat in the child: machine code.

    A child sharing its parent's memory cannot run Python (or any code that writes
    memory) before its exec, so the clone and the exec are one x86-64 routine of 61
    bytes, mapped read-and-execute: ``long spawn(struct clone_args *args, size_t size,
    int fd, char **argv, char **envp)``, returning the child's pid or -errno. The child
    runs on a stack of its own and writes to no memory; every signal is blocked around
    the call, so that no handler can run in the child on the parent's data (the exec'd
    program starts with them all blocked and sets its own mask).
    """

    _CODE = bytes.fromhex(
        "4989c9"  # mov r9, rcx: argv (the syscall instruction clobbers rcx)
        "4d89c2"  # mov r10, r8: envp, execveat's fourth argument
        "b8b3010000"  # mov eax, 435: clone3(args, size)
        "0f05"  # syscall
        "4885c0"  # test rax, rax
        "7401"  # je child
        "c3"  # ret: the parent, with the pid or -errno
        "89d7"  # child: mov edi, edx: the program's descriptor
        "488d351e000000"  # lea rsi, [rip + 30]: the empty path, at the end
        "4c89ca"  # mov rdx, r9
        "41b800100000"  # mov r8d, 0x1000: AT_EMPTY_PATH
        "b842010000"  # mov eax, 322: execveat(fd, "", argv, envp, AT_EMPTY_PATH)
        "0f05"  # syscall
        "bf7d000000"  # mov edi, 125
        "b83c000000"  # mov eax, 60: exit(125), the exec having failed
        "0f05"  # syscall
        "0f0b"  # ud2
        "00"  # the empty path
    )
    _STACK_BYTES = 16384
    _PAGE = 4096

    def __init__(self) -> None:
        mmap = _libc.mmap
        mmap.restype = ctypes.c_void_p
        mmap.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_long,
        ]
        _libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        # PROT_READ | PROT_WRITE; MAP_PRIVATE | MAP_ANONYMOUS (| MAP_STACK)
        read_write, private_anonymous = 0x1 | 0x2, 0x02 | 0x20
        code = mmap(None, self._PAGE, read_write, private_anonymous, -1, 0)
        stack = mmap(None, self._STACK_BYTES, read_write, private_anonymous | 0x20000, -1, 0)
        for mapping in (code, stack):
            if mapping is None or mapping == ctypes.c_void_p(-1).value:  # MAP_FAILED
                raise OSError(ctypes.get_errno(), "mmap")
        ctypes.memmove(code, self._CODE, len(self._CODE))
        # Then PROT_READ | PROT_EXEC: never writable and executable at once.
        if _libc.mprotect(code, self._PAGE, 0x1 | 0x4) != 0:
            raise OSError(ctypes.get_errno(), "mprotect")
        prototype = ctypes.PYFUNCTYPE(
            ctypes.c_long,
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_void_p,
        )
        self._call = prototype(code)
        self._pidfd = ctypes.c_int(-1)
        self._args = _CloneArgs(exit_signal=17, stack=stack, stack_size=self._STACK_BYTES)
        self._args.pidfd = ctypes.addressof(self._pidfd)
        # The C functions under the signal module: its wrappers make an enum member of
        # every signal in the sets they return, 64 of them when the mask is restored
        # (a sixth of the zygote's time per instance, measured).
        self._all_signals = _signal.valid_signals()

    def __call__(self, flags: int, program: int) -> tuple[int, int]:
        self._args.flags = flags | CLONE_PIDFD | CLONE_VM | CLONE_VFORK
        self._pidfd.value = -1
        old = _signal.pthread_sigmask(_signal.SIG_BLOCK, self._all_signals)
        try:
            pid = self._call(
                ctypes.addressof(self._args),
                ctypes.sizeof(self._args),
                program,
                ctypes.addressof(_EXEC_ARGV),
                ctypes.addressof(_EXEC_ENVIRONMENT),
            )
        finally:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, old)
        if pid < 0:
            raise OSError(-pid, f"clone3: {os.strerror(-pid)}")
        return pid, self._pidfd.value


@functools.cache
def _vfork_exec() -> _VforkExec | None:
    """The routine, made on first use (in the zygote); None where it cannot be."""
    if platform.machine() != "x86_64":
        return None
    try:
        return _VforkExec()
    except (OSError, AttributeError):
        return None
