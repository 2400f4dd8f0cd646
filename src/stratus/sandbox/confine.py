"""Confining a freshly forked instance: its root, its user, its privileges.

Runs inside a zygote's children, so: standard library only, Python 3.10 and later
(`nursery.py` says which process calls what, and in which order). Nothing here decides
policy; the server sends the mount list, the seccomp program and the ids (see
`rootfs.py`, `seccomp.py`, `isolated.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stratus.sandbox import kernel

#: Lambda's user and group inside an instance (sbx_user1051).
SANDBOX_UID = 993
SANDBOX_GID = 990


def map_ids(uid_map: str, gid_map: str) -> None:
    """Write this process's user-namespace id maps (it just entered the namespace).

    ``setgroups`` is denied first: the kernel demands it before an unprivileged
    process may write its gid map, and nobody inside needs supplementary groups.
    """
    for name, text in (("setgroups", "deny"), ("uid_map", uid_map), ("gid_map", gid_map)):
        _write(f"/proc/self/{name}", text)


def enter_cgroups(plan: Iterable[Mapping[str, str]]) -> None:
    """Make an instance's groups (one per hierarchy, as `cgroups.InstanceCgroup.plan`
    lists them) and move this single-threaded process in."""
    for group in plan:
        os.mkdir(group["directory"], 0o755)
        _write(f"{group['directory']}/{group['join']}", "0")


def write_limits(writes: Iterable[Sequence[str]]) -> None:
    """Write each [file, value] (an instance's cgroup limits)."""
    for path, value in writes:
        _write(path, value)


def _write(path: str, text: str) -> None:
    # os-level: io.open's buffering and text layers cost more than the write itself.
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def drop_to(uid: int, gid: int) -> None:
    """Become `uid`/`gid` with no supplementary groups (needs privilege to start with)."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


class RootBuilder:
    """Makes the skeleton this mount namespace's read-only root, in two steps.

    The caller is an instance's runtime, in the instance's new mount, PID and UTS
    namespaces, with the privilege to mount there. Mounts are bound by path: a
    descriptor opened in another mount namespace cannot be a bind source.
    """

    def __init__(self, root: str, hostname: str) -> None:
        self.root = root
        self.hostname = hostname

    def prepare(self, mounts: Sequence[Mapping[str, Any]]) -> None:
        """Everything every instance's root has: the skeleton (its own mount, on top of
        the directory), the host directories and devices bound into it, /proc; and the
        UTS namespace's host name."""
        kernel.sethostname(self.hostname)
        kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
        kernel.mount(self.root, self.root, None, kernel.MS_BIND | kernel.MS_REC)
        os.chdir(self.root)  # the new mount, on top of the skeleton directory
        for entry in mounts:
            kernel.bind(entry["source"], entry["target"], readonly=entry["readonly"])
        kernel.mount("proc", "proc", "proc", kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC)

    def finish(self, code_dir: str, layers_dir: str | None, tmp_mb: int) -> None:
        """One function's part: its code, its layers, its /tmp; then all read-only."""
        kernel.bind(code_dir, "var/task", readonly=True)
        if layers_dir:
            kernel.bind(layers_dir, "opt", readonly=True)
        inodes = max(16384, tmp_mb * 64)
        kernel.mount(
            "tmpfs",
            "tmp",
            "tmpfs",
            kernel.MS_NOSUID | kernel.MS_NODEV,
            f"size={tmp_mb}m,nr_inodes={inodes},mode=1777",
        )
        kernel.remount_readonly(".")

    def enter(self) -> None:
        """Pivot into the root (every process of the namespace goes along) and drop the
        host's tree."""
        # Stack the old root on the new one, then detach it: no directory for it needed.
        kernel.pivot_root(".", ".")
        kernel.umount(".", kernel.MNT_DETACH)
        os.chdir("/")


def enter_user_namespace() -> None:
    """Become Lambda's sbx_user1051 in a user namespace of this process's own.

    The namespace owns nothing: the mount, PID and network namespaces around it were
    made by the instance's init, so whatever capabilities the kernel hands out in it
    cannot remount or unmount anything.
    """
    uid, gid = os.getuid(), os.getgid()
    kernel.unshare(kernel.CLONE_NEWUSER)
    map_ids(f"{SANDBOX_UID} {uid} 1", f"{SANDBOX_GID} {gid} 1")


def scope(landlock_abi: int) -> None:
    """With Landlock ABI 6 and later: no signals to, and no abstract sockets of, anyone
    outside this process and what it starts. Restricts nothing an instance's set-up
    does (it handles no file system access, so mounts stay allowed), so it comes first."""
    if landlock_abi >= 6:
        kernel.landlock_scope(
            kernel.LANDLOCK_SCOPE_SIGNAL | kernel.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
        )


def lock_down(seccomp_program: bytes | None) -> None:
    """The last step before user code: no capabilities, no new privileges, seccomp."""
    kernel.drop_capabilities()
    if seccomp_program:
        kernel.install_seccomp(seccomp_program)
    else:
        kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)
