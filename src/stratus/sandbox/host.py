"""Which isolation this host allows, found out once at start-up by trying it.

Kernel versions, sysctls, container runtimes and security modules (AppArmor's
restriction of unprivileged user namespaces, a seccomp profile around Stratus itself)
all decide what works, so nothing is inferred from version numbers: a throw-away
subprocess (forking the server itself is not safe once it has threads) tries each
namespace, rehearses building an instance (mounts, /proc, pivot_root, dropping to
Lambda's user in a user namespace of its own, seccomp, Landlock) and reports what
failed and why. The isolated sandbox needs user, mount, PID, IPC and UTS namespaces
and the rehearsal to pass; a network namespace is needed only by functions that have
no network, and the rest only adds protection.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stratus.sandbox import clone, confine, kernel, seccomp

NAMESPACES = {
    "user": kernel.CLONE_NEWUSER,
    "mount": kernel.CLONE_NEWNS,
    "pid": kernel.CLONE_NEWPID,
    "ipc": kernel.CLONE_NEWIPC,
    "uts": kernel.CLONE_NEWUTS,
    "net": kernel.CLONE_NEWNET,
    "cgroup": kernel.CLONE_NEWCGROUP,
}
REQUIRED_NAMESPACES = ("user", "mount", "pid", "ipc", "uts")


@dataclass(frozen=True)
class HostFeatures:
    """What the probe found. Each string is empty when the feature works, else why not."""

    privileged: bool
    namespaces: Mapping[str, str] = field(default_factory=dict)
    #: Building an instance end to end (mounts, /proc, pivot_root, user namespace).
    instance: str = "not tried"
    seccomp: str = "not tried"
    landlock_abi: int = 0

    @property
    def missing(self) -> list[str]:
        """Why the isolated sandbox cannot run here; empty when it can."""
        reasons = [
            f"{kind} namespaces: {self.namespaces.get(kind, 'not tried')}"
            for kind in REQUIRED_NAMESPACES
            if self.namespaces.get(kind, "not tried")
        ]
        if not reasons and self.instance:
            reasons.append(f"instance set-up: {self.instance}")
        return reasons

    @property
    def can_isolate(self) -> bool:
        """True when instances can be isolated on this host."""
        return not self.missing

    def available_namespaces(self) -> list[str]:
        return [kind for kind in NAMESPACES if not self.namespaces.get(kind, "not tried")]


def detect(timeout: float = 30.0) -> HostFeatures:
    """Probe this host (in a subprocess: about 50 ms)."""
    command = [sys.executable, "-c", "from stratus.sandbox.host import main; main()"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        found: dict[str, Any] = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as e:
        reason = f"the probe failed: {e}"
        return HostFeatures(os.geteuid() == 0, {kind: reason for kind in NAMESPACES}, reason)
    return HostFeatures(
        privileged=bool(found["privileged"]),
        namespaces=dict(found["namespaces"]),
        instance=str(found["instance"]),
        seccomp=str(found["seccomp"]),
        landlock_abi=int(found["landlock_abi"]),
    )


# --- the probe (runs in its own process) ---------------------------------------------


def _in_child(flags: int, action: Callable[[], None]) -> str:
    """Run `action` in a child forked into new namespaces; "" or what went wrong."""
    read, write = os.pipe()
    try:
        pid, pidfd = clone.fork_into(flags)
    except OSError as e:
        os.close(read)
        os.close(write)
        return e.strerror or str(e)
    if pid == 0:
        os.close(read)
        try:
            action()
        except BaseException as e:
            os.write(write, (str(e) or type(e).__name__).encode()[:500])
            os._exit(1)
        os._exit(0)
    os.close(write)
    os.close(pidfd)
    message = os.read(read, 1000).decode(errors="replace")
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if message:
        return message
    return "" if status == 0 else f"wait status {status}"


def _rehearse_instance(privileged: bool, scratch: str, ids: tuple[int, int]) -> None:
    """What an instance's init and runtime do, on a tiny root."""
    if not privileged:
        confine.map_ids(f"0 {ids[0]} 1", f"0 {ids[1]} 1")
    kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
    kernel.mount("tmpfs", scratch, "tmpfs", 0, "size=1m,mode=755")
    for name in ("usr", "proc", "tmp"):
        os.mkdir(os.path.join(scratch, name))
    os.close(os.open(os.path.join(scratch, "null"), os.O_CREAT | os.O_WRONLY, 0o644))
    os.chdir(scratch)
    kernel.bind("/usr", "usr", readonly=True)
    kernel.bind("/dev/null", "null", readonly=False)
    kernel.mount("tmpfs", "tmp", "tmpfs", kernel.MS_NOSUID | kernel.MS_NODEV, "size=1m")
    kernel.mount("proc", "proc", "proc", kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC)
    kernel.remount_readonly(".")
    kernel.pivot_root(".", ".")
    kernel.umount(".", kernel.MNT_DETACH)
    os.chdir("/")
    runtime = os.fork()
    if runtime == 0:
        try:
            if privileged:
                confine.drop_to(65534, 65534)
                kernel.set_dumpable(True)
            confine.enter_user_namespace()
            kernel.drop_capabilities()
            kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)
            os.open("/null", os.O_WRONLY)
        except BaseException:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(runtime, 0)
    if status != 0:
        raise OSError("the runtime could not enter its user namespace or drop privileges")


def _check_seccomp() -> None:
    import socket

    arch = seccomp.architecture()
    if arch is None:
        raise OSError(f"no system call table for {os.uname().machine}")
    kernel.install_seccomp(seccomp.build_filter(arch))
    try:
        socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)
    except OSError:
        pass
    else:
        raise OSError("the filter let a netlink socket through")
    with socket.socket() as listener:
        try:
            listener.listen()
        except PermissionError:
            return
    raise OSError("the filter let listen() through")


def probe() -> dict[str, Any]:
    """Try everything; the findings as JSON-ready data."""
    privileged = os.geteuid() == 0
    user = 0 if privileged else kernel.CLONE_NEWUSER
    namespaces = {
        kind: _in_child(flag | (0 if kind == "user" else user), lambda: None)
        for kind, flag in NAMESPACES.items()
    }
    scratch = tempfile.mkdtemp(prefix="stratus-probe-")
    try:
        flags = kernel.CLONE_NEWNS | kernel.CLONE_NEWPID | kernel.CLONE_NEWUTS | user
        ids = (os.geteuid(), os.getegid())
        instance = _in_child(flags, lambda: _rehearse_instance(privileged, scratch, ids))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "privileged": privileged,
        "namespaces": namespaces,
        "instance": instance,
        "seccomp": _in_child(0, _check_seccomp),
        "landlock_abi": kernel.landlock_abi(),
    }


def main() -> None:
    """Entry point of the probe subprocess: print the findings."""
    print(json.dumps(probe()))


if __name__ == "__main__":
    main()
