"""The seccomp filter every isolated instance runs under, assembled as classic BPF.

Built here, in the server, once; the zygote only installs the bytes (`kernel.py`). The
filter is a deny list on top of what namespaces and dropped capabilities already stop:

- inbound networking: ``listen``, ``accept``, ``accept4`` (outbound ``connect`` stays);
- sockets other than AF_UNIX, AF_INET and AF_INET6 (no netlink, packet, vsock, ...);
- looking into other processes: ``ptrace``, ``process_vm_readv/writev``, ``kcmp``,
  ``pidfd_getfd``, ``process_madvise``;
- new namespaces and mounts: ``unshare``, ``setns``, ``clone`` with a CLONE_NEW* flag,
  ``clone3`` (ENOSYS, so libc falls back to ``clone``, whose flags can be checked),
  ``mount`` and the new mount API, ``pivot_root``, ``chroot``;
- large kernel attack surface a function never needs: the kernel keyring, ``bpf``,
  ``perf_event_open``, ``userfaultfd``, io_uring, ``open_by_handle_at``, modules,
  kexec, reboot, swap, clock setting, ``syslog``, ``acct``, ``quotactl``;
- and any call made through another ABI (x32, or 32-bit entry on a 64-bit kernel),
  which would bypass the numbers above: the process is killed.

Denied calls fail with EPERM (EAFNOSUPPORT for a socket family), so user code sees an
ordinary Python exception rather than dying.

Rejected: an allow list (Docker's style). Every interpreter version and native package
(numpy, cryptography, grpc...) uses its own mix of calls, and a missing one kills a
function at random; the deny list closes what matters here. Rejected: libseccomp
bindings. The filter is small, the PyPI bindings are either unmaintained or compiled,
and the zygote interpreters would need them installed too.

Only x86_64 has a table for now; elsewhere the sandbox runs without seccomp and says so.
"""

from __future__ import annotations

import errno
import platform
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from stratus.sandbox.kernel import TEMPLATE_NAMESPACES

# Classic BPF opcodes (linux/filter.h) and seccomp return actions (linux/seccomp.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_AND_K = 0x54
_RET_K = 0x06
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000

# Offsets into struct seccomp_data.
_NR = 0
_ARCH = 4
_ARG0 = 16  # low 32 bits of args[0] on a little-endian machine

_NAMESPACE_FLAGS = 0x7E020080  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME
_SOCKET_FAMILIES = (1, 2, 10)  # AF_UNIX, AF_INET, AF_INET6

DENIED = (
    "listen",
    "accept",
    "accept4",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "process_madvise",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "open_tree",
    "move_mount",
    "mount_setattr",
    "add_key",
    "request_key",
    "keyctl",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_by_handle_at",
    "name_to_handle_at",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "syslog",
    "acct",
    "quotactl",
    "quotactl_fd",
    "fanotify_init",
    "vhangup",
    "iopl",
    "ioperm",
)


@dataclass(frozen=True)
class Architecture:
    """A system call table: the audit architecture and the numbers the filter needs."""

    name: str
    audit_arch: int
    numbers: dict[str, int]
    #: Calls at or above this number belong to another ABI (x32); None: no such ABI.
    foreign_abi_base: int | None


X86_64 = Architecture(
    name="x86_64",
    audit_arch=0xC000003E,
    numbers={
        "listen": 50,
        "accept": 43,
        "accept4": 288,
        "socket": 41,
        "socketpair": 53,
        "clone": 56,
        "clone3": 435,
        "ptrace": 101,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "kcmp": 312,
        "pidfd_getfd": 438,
        "process_madvise": 440,
        "unshare": 272,
        "setns": 308,
        "mount": 165,
        "umount2": 166,
        "pivot_root": 155,
        "chroot": 161,
        "fsopen": 430,
        "fsconfig": 431,
        "fsmount": 432,
        "fspick": 433,
        "open_tree": 428,
        "move_mount": 429,
        "mount_setattr": 442,
        "add_key": 248,
        "request_key": 249,
        "keyctl": 250,
        "bpf": 321,
        "perf_event_open": 298,
        "userfaultfd": 323,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "open_by_handle_at": 304,
        "name_to_handle_at": 303,
        "init_module": 175,
        "finit_module": 313,
        "delete_module": 176,
        "kexec_load": 246,
        "kexec_file_load": 320,
        "reboot": 169,
        "swapon": 167,
        "swapoff": 168,
        "settimeofday": 164,
        "clock_settime": 227,
        "clock_adjtime": 305,
        "adjtimex": 159,
        "syslog": 103,
        "acct": 163,
        "quotactl": 179,
        "quotactl_fd": 443,
        "fanotify_init": 300,
        "vhangup": 153,
        "iopl": 172,
        "ioperm": 173,
    },
    foreign_abi_base=0x40000000,
)

ARCHITECTURES = {"x86_64": X86_64}


def architecture() -> Architecture | None:
    """This machine's table, or None where Stratus has none."""
    return ARCHITECTURES.get(platform.machine())


class _Program:
    """A tiny assembler: instructions with symbolic jump targets, resolved at the end."""

    def __init__(self) -> None:
        self._code: list[tuple[int, str | int, str | int, int]] = []
        self._labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        self._labels[name] = len(self._code)

    def new_label(self) -> str:
        """A name no other label has, to place later."""
        return f"_{len(self._labels)}_{len(self._code)}"

    def load(self, offset: int) -> None:
        self._code.append((_LD_W_ABS, 0, 0, offset))

    def jump_if(
        self, opcode: int, value: int, then: str | int = 0, otherwise: str | int = 0
    ) -> None:
        self._code.append((opcode, then, otherwise, value))

    def and_with(self, value: int) -> None:
        self._code.append((_AND_K, 0, 0, value))

    def ret(self, action: int) -> None:
        self._code.append((_RET_K, 0, 0, action))

    def assemble(self) -> bytes:
        out = bytearray()
        for index, (opcode, then, otherwise, k) in enumerate(self._code):
            jt = self._offset(index, then)
            jf = self._offset(index, otherwise)
            out += struct.pack("<HBBI", opcode, jt, jf, k)
        return bytes(out)

    def _offset(self, index: int, target: str | int) -> int:
        if isinstance(target, int):
            return target
        distance = self._labels[target] - index - 1
        if not 0 <= distance <= 255:
            raise ValueError(f"jump to {target} out of range")
        return distance


def _search(p: _Program, cases: Sequence[tuple[int, str]]) -> None:
    """Send the system call number in the accumulator to its case's label, or allow it:
    a binary search, then a few comparisons.

    Not one comparison after another: the kernel runs a new filter once per system call
    number when it is installed (to find the calls it always allows), so its cost per
    instance grows with the path to ``allow`` (74 instructions in a row: 0.1 ms more).
    """
    if len(cases) <= 3:
        for number, target in cases:
            p.jump_if(_JEQ_K, number, then=target)
        p.ret(RET_ALLOW)
        return
    middle = len(cases) // 2
    upper = p.new_label()
    p.jump_if(_JGE_K, cases[middle][0], then=upper)
    _search(p, cases[:middle])
    p.label(upper)
    _search(p, cases[middle:])


def build_filter(
    arch: Architecture, denied: Sequence[str] = DENIED, *, template: bool = False
) -> bytes:
    """The filter program for `arch`, ready for PR_SET_SECCOMP. A `template`'s filter
    also lets ``clone`` make exactly the namespaces `TEMPLATE_NAMESPACES` names, all
    together (each copy of a template is an instance of its own); nothing else differs."""
    p = _Program()
    numbers = arch.numbers
    p.load(_ARCH)
    p.jump_if(_JEQ_K, arch.audit_arch, otherwise="kill")
    p.load(_NR)
    if arch.foreign_abi_base is not None:
        p.jump_if(_JGE_K, arch.foreign_abi_base, then="kill")
    special = {numbers[name]: "deny" for name in denied}
    special[numbers["clone"]] = "clone"
    special[numbers["clone3"]] = "nosys"
    special[numbers["socket"]] = special[numbers["socketpair"]] = "socket"
    _search(p, sorted(special.items()))

    p.label("clone")
    p.load(_ARG0)
    p.and_with(_NAMESPACE_FLAGS)
    if template:
        p.jump_if(_JEQ_K, TEMPLATE_NAMESPACES, then="allow")
    p.jump_if(_JEQ_K, 0, then="allow", otherwise="deny")

    p.label("socket")
    p.load(_ARG0)
    for family in _SOCKET_FAMILIES:
        p.jump_if(_JEQ_K, family, then="allow")
    p.ret(RET_ERRNO | errno.EAFNOSUPPORT)

    p.label("allow")
    p.ret(RET_ALLOW)
    p.label("nosys")
    p.ret(RET_ERRNO | errno.ENOSYS)
    p.label("deny")
    p.ret(RET_ERRNO | errno.EPERM)
    p.label("kill")
    p.ret(RET_KILL_PROCESS)
    return p.assemble()
