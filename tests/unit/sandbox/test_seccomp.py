"""The seccomp filter: what it refuses, with which error, and what it lets through."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import socket
import struct
from collections.abc import Callable

import pytest
from sandbox_testing import host_features

from stratus.sandbox import kernel, seccomp

pytestmark = pytest.mark.timeout(30)


def in_filtered_child(check: Callable[[], object]) -> object:
    """Run `check` in a forked child under the filter; what it returned (JSON)."""
    arch = seccomp.architecture()
    if arch is None or host_features().seccomp:
        pytest.skip("seccomp is not available here")
    program = seccomp.build_filter(arch)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read)
            kernel.install_seccomp(program)
            os.write(write, json.dumps(check()).encode())
        finally:
            os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return json.loads(data)


def outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except OSError as e:
        return errno.errorcode[e.errno]
    return "allowed"


def test_the_program_is_well_formed() -> None:
    program = seccomp.build_filter(seccomp.X86_64)
    assert len(program) % 8 == 0
    first = struct.unpack_from("<HBBI", program, 0)
    assert first == (0x20, 0, 0, 4)  # load the architecture first
    assert len(program) // 8 < 256


def run_filter(program: bytes, nr: int, arch: int, arg0: int = 0) -> int:
    """What the filter answers for one call: a classic-BPF interpreter of the few
    instructions the assembler emits, over struct seccomp_data."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    accumulator, pc = 0, 0
    while True:
        code, jt, jf, k = struct.unpack_from("<HBBI", program, pc * 8)
        pc += 1
        if code == 0x20:  # load a word of seccomp_data
            accumulator = struct.unpack_from("<I", data, k)[0]
        elif code == 0x06:  # return
            return k
        elif code == 0x54:  # and with a constant
            accumulator &= k
        else:
            taken = {0x15: accumulator == k, 0x35: accumulator >= k, 0x45: accumulator & k}[code]
            pc += jt if taken else jf


def test_every_call_number_gets_its_answer() -> None:
    arch = seccomp.X86_64
    program = seccomp.build_filter(arch)
    denied = {arch.numbers[name] for name in seccomp.DENIED}
    eperm, allow = seccomp.RET_ERRNO | errno.EPERM, seccomp.RET_ALLOW
    for nr in range(1024):
        got = run_filter(program, nr, arch.audit_arch)
        if nr in denied:
            assert got == eperm, nr
        elif nr == arch.numbers["clone3"]:
            assert got == seccomp.RET_ERRNO | errno.ENOSYS
        elif nr == arch.numbers["clone"]:
            assert got == allow
            assert run_filter(program, nr, arch.audit_arch, 0x10000000) == eperm  # NEWUSER
        elif nr in (arch.numbers["socket"], arch.numbers["socketpair"]):
            assert run_filter(program, nr, arch.audit_arch, socket.AF_INET) == allow
            assert run_filter(program, nr, arch.audit_arch, socket.AF_NETLINK) == (
                seccomp.RET_ERRNO | errno.EAFNOSUPPORT
            )
        else:
            assert got == allow, nr
    assert run_filter(program, 0x40000000 + 50, arch.audit_arch) == seccomp.RET_KILL_PROCESS
    assert run_filter(program, 0, 0x40000003) == seccomp.RET_KILL_PROCESS  # i386


def test_a_template_may_clone_its_copies_and_nothing_more() -> None:
    arch = seccomp.X86_64
    plain, template = seccomp.build_filter(arch), seccomp.build_filter(arch, template=True)
    clone, unshare = arch.numbers["clone"], arch.numbers["unshare"]
    eperm, allow = seccomp.RET_ERRNO | errno.EPERM, seccomp.RET_ALLOW
    copies = kernel.TEMPLATE_NAMESPACES | 17  # | SIGCHLD, as fork() passes it
    assert run_filter(template, clone, arch.audit_arch, copies) == allow
    assert run_filter(plain, clone, arch.audit_arch, copies) == eperm
    assert run_filter(template, clone, arch.audit_arch, 0x01200011) == allow  # fork()
    for extra in (0x40000000, 0x02000000, 0x00000080):  # NEWNET, NEWCGROUP, NEWTIME
        assert run_filter(template, clone, arch.audit_arch, copies | extra) == eperm
    for missing in (0x10000000, 0x20000000, 0x00020000):  # one of the set: refused too
        assert run_filter(template, clone, arch.audit_arch, copies & ~missing) == eperm
    assert run_filter(template, unshare, arch.audit_arch, copies) == eperm
    for nr in range(1024):
        if nr != clone:
            assert run_filter(template, nr, arch.audit_arch, 0) == run_filter(
                plain, nr, arch.audit_arch, 0
            ), nr


def test_inbound_sockets_and_foreign_families_are_refused() -> None:
    def check() -> dict[str, str]:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        unix = socket.socket(socket.AF_UNIX)
        unix.bind("\0stratus-seccomp-test")
        return {
            "listen": outcome(server.listen),
            "unix listen": outcome(unix.listen),
            "accept": outcome(server.accept),
            "netlink": outcome(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)),
            "inet6": outcome(lambda: socket.socket(socket.AF_INET6).close()),
            "socketpair": outcome(lambda: [s.close() for s in socket.socketpair()]),
            "connect": outcome(lambda: socket.create_connection(("127.0.0.1", 9), 1)),
        }

    got = in_filtered_child(check)
    assert got == {
        "listen": "EPERM",
        "unix listen": "EPERM",
        "accept": "EPERM",
        "netlink": "EAFNOSUPPORT",
        "inet6": "allowed",
        "socketpair": "allowed",
        "connect": "ECONNREFUSED",  # refused by the (absent) peer, not the filter
    }


def test_namespaces_mounts_and_tracing_are_refused_but_fork_works() -> None:
    def check() -> dict[str, str]:
        libc = ctypes.CDLL(None, use_errno=True)

        def c_call(result: int) -> str:
            return "allowed" if result == 0 else errno.errorcode[ctypes.get_errno()]

        def fork() -> str:
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            return "allowed"

        return {
            "unshare": c_call(libc.unshare(kernel.CLONE_NEWUSER)),
            "mount": c_call(libc.mount(b"none", b"/mnt", b"tmpfs", 0, None)),
            "ptrace": c_call(libc.ptrace(16, os.getppid(), None, None)),
            "keyctl": c_call(libc.syscall(250, 0, 0, 0, 0)),
            "bpf": c_call(libc.syscall(321, 0, 0, 0)),
            "fork": fork(),
        }

    got = in_filtered_child(check)
    assert got == {
        "unshare": "EPERM",
        "mount": "EPERM",
        "ptrace": "EPERM",
        "keyctl": "EPERM",
        "bpf": "EPERM",
        "fork": "allowed",
    }
