"""The init every isolated instance has as PID 1: a static program of half a kilobyte.

PID 1 of an instance's PID namespace has two jobs: to exist (the namespace, and every
process in it, ends when it does) and to reap the orphans user code leaves behind
(zombies would use up the instance's 1,024 processes). A copy of the zygote's
interpreter did this before, at a cost paid by every instance: its own copy of the
pages the fork touched (0.7 MB) and about 280 page faults, a quarter of an instance's
start in a burst. This program does it in a few system calls and a few kilobytes:

1. when the server runs as root, become the instance's unprivileged host user
   (``setgroups``, ``setresgid``, ``setresuid``); in every case give up every
   capability (``capset``) and stop being dumpable, so the runtime cannot look into it;
2. ask for SIGKILL when its parent, the zygote, dies; call itself "init" (not the
   "memfd:init" its executable would name it); close every descriptor above 2;
3. block SIGCHLD and nothing else, then forever: reap every ended child (``wait4``
   with WNOHANG), and sleep until the next SIGCHLD (``rt_sigtimedwait``).

It never ends by itself: the zygote kills it when the instance's runtime (the zygote's
own child, forked into this namespace) has ended. A failed step exits with 125, the
status of a failed set-up (`instance_setup.SETUP_FAILED`).

The program is assembled here, in the server, by a small assembler for the dozen
instruction forms it needs (each named below with its Intel-syntax mnemonic), into an
ELF executable of one read-and-execute segment; the zygote runs it from a sealed
memfd. x86-64 only: on other machines, or where the kernel refuses to execute a memfd
(``vm.memfd_noexec``), the zygote's own copy is the init, as before. Rejected: a C
file compiled at installation (a compiler on every host), and ``tini`` or another
packaged init (each starts the process it watches itself, and the runtime must be a
fork of the zygote).
"""

from __future__ import annotations

import platform
import struct
from dataclasses import dataclass, field

from stratus.sandbox.instance_setup import SETUP_FAILED

# x86-64 system call numbers.
_SETGROUPS, _SETRESGID, _SETRESUID = 116, 119, 117
_CAPSET, _PRCTL, _CLOSE_RANGE = 126, 157, 436
_RT_SIGPROCMASK, _WAIT4, _RT_SIGTIMEDWAIT, _EXIT_GROUP = 14, 61, 128, 231

_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_NAME = 1, 4, 15
_SIGKILL, _SIGCHLD = 9, 17
_WNOHANG, _WALL = 1, 0x40000000

# Registers by their encoding number, and the 32-bit move into each (zero-extending).
_EAX, _EDX, _ESI, _EDI = 0, 2, 6, 7

_BASE = 0x400000  # where the segment is loaded
_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
_HEADERS = _ELF_HEADER.size + 2 * _PROGRAM_HEADER.size


@dataclass
class _Assembler:
    """Instructions of fixed sizes, labels, and data after the code; two passes in one:
    jumps and RIP-relative loads are patched once every label's offset is known."""

    code: bytearray = field(default_factory=bytearray)
    data: bytearray = field(default_factory=bytearray)
    labels: dict[str, int] = field(default_factory=dict)
    data_labels: dict[str, int] = field(default_factory=dict)
    # (offset of a 32- or 8-bit displacement, its size, label, whether a data label)
    fixups: list[tuple[int, int, str, bool]] = field(default_factory=list)

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def datum(self, name: str, value: bytes) -> None:
        self.data_labels[name] = len(self.data)
        self.data += value

    def mov(self, register: int, value: int) -> None:
        """mov r32, imm32"""
        self.code += bytes([0xB8 + register]) + struct.pack("<I", value & 0xFFFFFFFF)

    def mov_r10(self, value: int) -> None:
        """mov r10d, imm32"""
        self.code += b"\x41\xba" + struct.pack("<I", value & 0xFFFFFFFF)

    def lea(self, register: int, name: str) -> None:
        """lea r64, [rip + name]"""
        self.code += bytes([0x48, 0x8D, 0x05 | register << 3])
        self._fixup(4, name, data=True)

    def syscall(self, number: int, check: bool = True) -> None:
        """mov eax, number; syscall; and, if `check`: test rax, rax; js fail"""
        self.mov(_EAX, number)
        self.code += b"\x0f\x05"
        if check:
            self.code += b"\x48\x85\xc0" + b"\x0f\x88"
            self._fixup(4, "fail")

    def jump_if_greater(self, name: str) -> None:
        """jg name (after test rax, rax: rax > 0)"""
        self.code += b"\x48\x85\xc0\x7f"
        self._fixup(1, name)

    def jump(self, name: str) -> None:
        """jmp name"""
        self.code += b"\xeb"
        self._fixup(1, name)

    def _fixup(self, size: int, name: str, data: bool = False) -> None:
        self.fixups.append((len(self.code), size, name, data))
        self.code += bytes(size)

    def link(self) -> bytes:
        """The code with every displacement filled in, then the data."""
        for offset, size, name, data in self.fixups:
            target = len(self.code) + self.data_labels[name] if data else self.labels[name]
            displacement = target - (offset + size)  # relative to the next instruction
            fmt = "<i" if size == 4 else "<b"
            self.code[offset : offset + size] = struct.pack(fmt, displacement)
        return bytes(self.code + self.data)


def supported() -> bool:
    """Whether this machine runs the program (x86-64 Linux)."""
    return platform.machine() in ("x86_64", "AMD64")


def build(privileged: bool, uid: int, gid: int) -> bytes:
    """The init program as an ELF executable. `privileged`: the zygote runs as root
    and the init becomes `uid`/`gid` first."""
    asm = _Assembler()
    # struct __user_cap_header_struct (version 3, this process), and two empty
    # struct __user_cap_data_struct: no effective, permitted or inheritable capability.
    asm.datum("cap_header", struct.pack("<Ii", 0x20080522, 0))
    asm.datum("cap_data", bytes(24))
    asm.datum("sigchld", struct.pack("<Q", 1 << (_SIGCHLD - 1)))
    asm.datum("name", b"init\0")
    if privileged:
        asm.mov(_EDI, 0)
        asm.mov(_ESI, 0)
        asm.syscall(_SETGROUPS)  # setgroups(0, NULL)
        for number, value in ((_SETRESGID, gid), (_SETRESUID, uid)):
            asm.mov(_EDI, value)
            asm.mov(_ESI, value)
            asm.mov(_EDX, value)
            asm.syscall(number)  # setresgid(gid, gid, gid), then setresuid(uid, uid, uid)
    asm.lea(_EDI, "cap_header")
    asm.lea(_ESI, "cap_data")
    asm.syscall(_CAPSET)  # capset(&header, data)
    # Not dumpable: a uid change makes a process so, but exec made this one dumpable
    # again when there was no uid change (user namespaces).
    asm.mov(_EDI, _PR_SET_DUMPABLE)
    asm.mov(_ESI, 0)
    asm.syscall(_PRCTL)  # prctl(PR_SET_DUMPABLE, 0)
    # After the uid change, which clears it.
    asm.mov(_EDI, _PR_SET_PDEATHSIG)
    asm.mov(_ESI, _SIGKILL)
    asm.syscall(_PRCTL)  # prctl(PR_SET_PDEATHSIG, SIGKILL)
    # Its name in ps and /proc/1/comm: "init", not the "memfd:init" of its executable.
    asm.mov(_EDI, _PR_SET_NAME)
    asm.lea(_ESI, "name")
    asm.syscall(_PRCTL)  # prctl(PR_SET_NAME, "init")
    asm.mov(_EDI, 3)
    asm.mov(_ESI, 0xFFFFFFFF)
    asm.mov(_EDX, 0)
    asm.syscall(_CLOSE_RANGE, check=False)  # close_range(3, ~0U, 0)
    # The zygote starts it with every signal blocked (see `clone.clone_exec`).
    asm.mov(_EDI, 2)  # SIG_SETMASK
    asm.lea(_ESI, "sigchld")
    asm.mov(_EDX, 0)
    asm.mov_r10(8)
    asm.syscall(_RT_SIGPROCMASK)  # rt_sigprocmask(SIG_SETMASK, &{SIGCHLD}, NULL, 8)
    asm.label("reap")
    asm.mov(_EDI, -1)
    asm.mov(_ESI, 0)
    asm.mov(_EDX, _WNOHANG | _WALL)
    asm.mov_r10(0)
    asm.syscall(_WAIT4, check=False)  # wait4(-1, NULL, WNOHANG | __WALL, NULL)
    asm.jump_if_greater("reap")  # one reaped: look for another
    asm.lea(_EDI, "sigchld")
    asm.mov(_ESI, 0)
    asm.mov(_EDX, 0)
    asm.mov_r10(8)
    asm.syscall(_RT_SIGTIMEDWAIT, check=False)  # rt_sigtimedwait(&{SIGCHLD}, NULL, NULL, 8)
    asm.jump("reap")
    asm.label("fail")
    asm.mov(_EDI, SETUP_FAILED)
    asm.syscall(_EXIT_GROUP, check=False)  # exit_group(125)
    return _executable(asm.link())


def _executable(program: bytes) -> bytes:
    """An ELF64 executable that loads `program` (code first) read-only and executable,
    and a non-executable stack."""
    size = _HEADERS + len(program)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little-endian, v1
    header = _ELF_HEADER.pack(
        ident,
        2,  # ET_EXEC
        62,  # EM_X86_64
        1,
        _BASE + _HEADERS,  # entry: the first instruction
        _ELF_HEADER.size,  # program headers follow this header
        0,  # no section headers
        0,
        _ELF_HEADER.size,
        _PROGRAM_HEADER.size,
        2,
        64,
        0,
        0,
    )
    load = _PROGRAM_HEADER.pack(1, 5, 0, _BASE, _BASE, size, size, 0x1000)  # PT_LOAD, R+X
    stack = _PROGRAM_HEADER.pack(0x6474E551, 6, 0, 0, 0, 0, 0, 16)  # PT_GNU_STACK, R+W
    return header + load + stack + program
