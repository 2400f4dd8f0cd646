"""The init program (`initprog.py`) run as a plain process: what it gives up, and its
exit status when it cannot. How it serves an instance is tested with the sandbox."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from stratus.sandbox import initprog

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
