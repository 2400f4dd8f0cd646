"""Ending what a handler leaves running, before its reply goes out.

Runs inside an instance's runtime as the bootstrap's ``on_idle`` (standard library
only, Python 3.10 and later; see `nursery.py`). Processes started while the function
initialised are kept, like Lambda extensions; any other process still alive when an
invocation ends is killed, so nothing started in the background can read the next
event from the runtime's control socket (a forked child holds it too) or live on
unseen. Threads of the runtime itself are left alone, as on Lambda. Everything ends
with the instance regardless: its init is PID 1 of its PID namespace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time


class Stragglers:
    """The bootstrap's ``on_idle``: ends what a handler left running.

    Called once after init, it notes the processes init started (they live on, like
    Lambda extensions); called after each event, before the reply goes out, it kills
    every other process in the instance, so nothing a handler started in the
    background can read the next event or outlive its invocation unseen. Threads of
    the runtime itself are left alone, as on Lambda. Without processes to keep (the
    usual case) that is one kill(-1); with some, the strays are killed by name, and a
    fork bomb that outruns three rounds of this gets everything killed at once, init's
    processes included.

    The common case costs two system calls: the last PID handed out in the
    instance's PID namespace (`LastPid`); when it has not moved since the last look, no
    process can have started since.
    """

    def __init__(self) -> None:
        self.kept: dict[int, bytes] = {}
        self.last_pid = b""
        self._read_last_pid = LastPid()

    def __call__(self) -> None:
        last_pid = self._read_last_pid()
        if last_pid == self.last_pid:
            return
        if not self.last_pid and last_pid == str(os.getpid()).encode():
            self.last_pid = last_pid  # after init, which started nothing: nothing to keep
            return
        others = _other_processes()
        if not self.last_pid:  # after init: what it started may stay
            self.kept = {pid: _start_time(pid) for pid in others}
            self.last_pid = last_pid
            return
        if not self.kept:
            # Nothing to spare: one signal to every process but init and this one. The
            # kernel lets no fork slip past it (a dying process makes no child), where
            # killing what a listing found races a bomb whose children fork on.
            if any(self._stray(pid) for pid in others):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(-1, signal.SIGKILL)
                _bury(set(_other_processes()))
            self.last_pid = last_pid
            return
        killed: set[int] = set()
        for _ in range(3):
            doomed = [pid for pid in others if pid not in killed and self._stray(pid)]
            if not doomed:
                break
            for pid in doomed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            killed.update(doomed)
            others = _other_processes()
        else:
            # Every process but init and this one; faster than any fork bomb.
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)
            killed.update(others)
            self.kept.clear()
        _bury(killed)
        self.kept = {pid: start for pid, start in self.kept.items() if pid in others}
        self.last_pid = last_pid

    def _stray(self, pid: int) -> bool:
        fields = _stat_fields(pid)
        if not fields or fields[0] in (b"Z", b"X"):
            return False
        return self.kept.get(pid) != fields[19]


def _bury(killed: set[int]) -> None:
    """Wait (up to two seconds) until the killed processes are dead, reaping those that
    are the runtime's own children (init reaps the rest): left as zombies they would
    use up the instance's 1,024 processes."""
    pending = set(killed)
    deadline = time.monotonic() + 2.0
    while pending:
        for pid in list(pending):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    pending.discard(pid)
            except ChildProcessError:
                fields = _stat_fields(pid)
                if not fields or fields[0] in (b"Z", b"X"):
                    pending.discard(pid)
        if pending:
            if time.monotonic() > deadline:
                return
            time.sleep(0.001)


class LastPid:
    """The last PID handed out in the reader's PID namespace: the last field of
    /proc/loadavg.

    The file stays open and is re-read in place (pread, then fstat): opening it each
    time cost nine system calls and two Python file objects per invocation. The fstat
    says the descriptor is still /proc/loadavg: a handler may close descriptors it does
    not own, and the number may then name one of its own files; the file is opened
    again when it is not. ``b"?"`` if it cannot be read at all.
    """

    def __init__(self) -> None:
        self._fd = -1
        self._identity = (0, 0)

    def __call__(self) -> bytes:
        if self._fd >= 0:
            try:
                data = os.pread(self._fd, 256, 0)
                stat = os.fstat(self._fd)
                if (stat.st_dev, stat.st_ino) == self._identity:
                    return data.rsplit(b" ", 1)[-1].strip()
            except OSError:
                pass  # closed behind its back (EBADF): opened again below
        return self._reopen()

    def _reopen(self) -> bytes:
        try:
            # Not closed: the old number may be one of the handler's own files now.
            self._fd = os.open("/proc/loadavg", os.O_RDONLY | os.O_CLOEXEC)
            stat = os.fstat(self._fd)
            self._identity = (stat.st_dev, stat.st_ino)
            return os.pread(self._fd, 256, 0).rsplit(b" ", 1)[-1].strip()
        except OSError:
            self._fd = -1
            return b"?"


def _other_processes() -> list[int]:
    own = os.getpid()
    return [
        int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) not in (1, own)
    ]


def _stat_fields(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _start_time(pid: int) -> bytes:
    fields = _stat_fields(pid)
    return fields[19] if len(fields) > 19 else b""
