"""The init program (`initprog.py`) run as a plain process: what it gives up, and its
exit status when it cannot. How it serves an instance is tested with the sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from stratus.sandbox import clone, initprog, kernel

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.skipif(not initprog.supported(), reason="the init program is x86-64 only"),
]


@pytest.fixture
def program() -> Iterator[Any]:
    """Runs the program (built for root or not) from a memfd, as the zygote does."""
    fds: list[int] = []

    def start(privileged: bool, **options: Any) -> subprocess.Popen[bytes]:
        fd = os.memfd_create("init")
        fds.append(fd)
        os.write(fd, initprog.build(privileged, 65534, 65534))
        os.fchmod(fd, 0o755)
        return subprocess.Popen([f"/proc/self/fd/{fd}"], pass_fds=[fd], **options)

    yield start
    for fd in fds:
        os.close(fd)


def status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return {k: v.strip() for k, v in (line.split(":", 1) for line in f)}


def wait_for_sleep(pid: int) -> dict[str, str]:
    deadline = time.monotonic() + 10
    while (got := status(pid))["State"][0] != "S" and time.monotonic() < deadline:
        time.sleep(0.01)
    return got


def test_as_root_it_becomes_nobody_and_waits(program: Any) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    process = program(True)
    try:
        got = wait_for_sleep(process.pid)
        assert got["Uid"].split() == ["65534"] * 4 and got["Gid"].split() == ["65534"] * 4
        assert got["Groups"] == ""
        assert got["CapEff"] == got["CapPrm"] == "0000000000000000"
        assert got["SigBlk"] == "0000000000000000"  # (SIGCHLD, while it waits for one)
        assert got["Name"] == "init"
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_unprivileged_it_gives_up_capabilities_and_waits(program: Any) -> None:
    process = program(False)
    try:
        got = wait_for_sleep(process.pid)
        assert got["CapEff"] == "0000000000000000" and process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_it_exits_125_when_it_cannot_change_user(program: Any) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run it as another user")
    process = program(True, user=1000, group=1000)
    assert process.wait(timeout=10) == 125


def test_started_with_every_signal_blocked_it_blocks_only_sigchld(program: Any) -> None:
    # The zygote starts it so (clone.clone_exec blocks them all around the clone).
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        process = program(False)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    try:
        got = wait_for_sleep(process.pid)
        assert got["SigBlk"] == "0000000000000000"  # (SIGCHLD, while it waits for one)
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def program_fd() -> Iterator[int]:
    fd = os.memfd_create("init", os.MFD_CLOEXEC)
    os.write(fd, initprog.build(False, 65534, 65534))
    os.fchmod(fd, 0o755)
    yield fd
    os.close(fd)


def test_clone_exec_starts_it_in_new_namespaces(program_fd: int) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root for new namespaces without a user namespace")
    flags = kernel.CLONE_NEWPID | kernel.CLONE_NEWNS | kernel.CLONE_NEWUTS | kernel.CLONE_NEWIPC
    pid, pidfd = clone.clone_exec(flags, program_fd)
    try:
        got = wait_for_sleep(pid)
        assert got["Name"] == "init" and got["NSpid"].split()[1:] == ["1"]
        assert os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
        assert got["SigBlk"] == "0000000000000000"
        assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == set()  # ours, restored
    finally:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(pidfd)


def test_clone_exec_of_what_cannot_run_ends_with_125() -> None:
    fd = os.memfd_create("not-a-program", os.MFD_CLOEXEC)
    try:
        os.write(fd, b"neither ELF nor script")
        os.fchmod(fd, 0o755)
        pid, pidfd = clone.clone_exec(0, fd)
        os.close(pidfd)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 125
    finally:
        os.close(fd)
