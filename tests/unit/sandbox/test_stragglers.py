"""The straggler check's cheap signal: the last PID handed out, read in place."""

from __future__ import annotations

import os
import subprocess
import tempfile

import pytest

from stratus.sandbox.stragglers import LastPid

pytestmark = pytest.mark.timeout(30)


def loadavg_last_pid() -> bytes:
    with open("/proc/loadavg", "rb") as f:
        return f.read().split()[-1]


def current(value: bytes) -> bool:
    """`value` is the last PID as of now (other processes of the host may have started
    since it was read, so it may also be older)."""
    return 0 < int(value) <= int(loadavg_last_pid())


def test_reads_the_last_pid_and_sees_a_new_process() -> None:
    last_pid = LastPid()
    before = last_pid()
    assert current(before)
    child = subprocess.Popen(["true"])
    child.wait()
    after = last_pid()
    assert current(after) and int(after) >= child.pid


def test_a_descriptor_replaced_behind_its_back_is_opened_again() -> None:
    last_pid = LastPid()
    last_pid()
    fd = last_pid._fd
    with tempfile.TemporaryFile() as fake:
        fake.write(b"0.00 0.00 0.00 1/1 1\n")
        fake.flush()
        os.dup2(fake.fileno(), fd)  # what a handler closing and opening files may do
        subprocess.run(["true"], check=True)
        seen = last_pid()
        assert seen != b"1" and current(seen)
    assert last_pid._fd != fd
    os.close(fd)  # the test's own stand-in, no longer the reader's


def test_a_closed_descriptor_is_opened_again() -> None:
    last_pid = LastPid()
    last_pid()
    os.close(last_pid._fd)
    child = subprocess.Popen(["true"])
    child.wait()
    seen = last_pid()
    assert current(seen) and int(seen) >= child.pid
