"""Confining a freshly forked instance: its root, its user, its privileges.

Runs inside a zygote's children, so: standard library only, Python 3.10 and later
(`nursery.py` says which process calls what, and in which order). Nothing here decides
policy; the server sends the mount list, the seccomp program and the ids (see
`rootfs.py`, `seccomp.py`, `isolated.py`).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stratus.sandbox import kernel

#: Lambda's user and group inside an instance (sbx_user1051).
SANDBOX_UID = 993
SANDBOX_GID = 990
_DIRECTORY = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
#: What an instance opens in /proc once it knows its function: `map_ids`'s files, then
#: the straggler check's (stragglers.py).
_PROC_FILES = ("self/setgroups", "self/uid_map", "self/gid_map", "loadavg")
#: The size of /tmp (MB) a spare instance mounts before it knows its function: Lambda's
#: default `EphemeralStorage`, resized when a function asks for another.
DEFAULT_TMP_MB = 512
#: Where a function's template keeps its /proc (`hide_proc`): in a directory only the
#: host's root may enter (mode 0700, owned by root; `rootfs.py` makes it; systemd's name
#: for such a directory).
HIDDEN_PROC = "/var/lib/private/proc"


def map_ids(uid_map: str, gid_map: str, proc_self: int | None = None) -> None:
    """Write this process's user-namespace id maps (it just entered the namespace);
    through `proc_self`, a descriptor of its /proc/<pid> directory, when given.

    ``setgroups`` is denied first: the kernel demands it before an unprivileged
    process may write its gid map, and nobody inside needs supplementary groups.
    """
    for name, text in (("setgroups", "deny"), ("uid_map", uid_map), ("gid_map", gid_map)):
        _write(name if proc_self is not None else f"/proc/self/{name}", text, proc_self)


def enter_cgroups(plan: Iterable[Mapping[str, str]]) -> dict[str, int]:
    """Make an instance's groups (one per hierarchy, as `cgroups.InstanceCgroup.plan`
    lists them) and move this single-threaded process in. Returns a descriptor of each
    group's directory, by its path: `write_limits` finds the groups through them from
    a mount namespace that does not show the host's /sys."""
    groups = {}
    for group in plan:
        os.mkdir(group["directory"], 0o755)
        _write(f"{group['directory']}/{group['join']}", "0")
        groups[group["directory"]] = os.open(group["directory"], _DIRECTORY)
    return groups


def write_limits(
    writes: Iterable[Sequence[str]],
    groups: Mapping[str, int] | None = None,
    written: Mapping[str, str] | None = None,
) -> None:
    """Write each [file, value] (an instance's cgroup limits); through the directory
    descriptors of `groups` (from `enter_cgroups`) when given. Of the files `written`
    already holds values for (a spare's preset), only those whose value differs; a
    value the kernel refuses until another has changed (cgroup v1 keeps
    memory.memsw.limit_in_bytes at least memory.limit_in_bytes) is written again once
    the others are."""
    refused = []
    for path, value in writes:
        if written is not None and written.get(path) == value:
            continue
        try:
            _write_limit(path, value, groups)
        except OSError as e:
            if e.errno != errno.EINVAL or written is None:
                raise
            refused.append((path, value))
    for path, value in refused:
        _write_limit(path, value, groups)


def _write_limit(path: str, value: str, groups: Mapping[str, int] | None) -> None:
    if groups is None:
        _write(path, value)
    else:
        directory, _, name = path.rpartition("/")
        _write(name, value, groups[directory])


def _write(path: str, text: str, directory: int | None = None) -> None:
    # os-level: io.open's buffering and text layers cost more than the write itself.
    fd = os.open(path, os.O_WRONLY, dir_fd=directory)
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
    """Makes the skeleton this instance's read-only root, in two steps and a pivot.

    The caller is an instance's runtime, in the instance's PID and UTS namespaces, with
    the privilege to mount in its init's mount namespace (`init`: a pidfd of that init),
    which began as a copy of the host's. Mounts are bound by path: a descriptor opened in
    another mount namespace cannot be a bind source. (Unprivileged, and on kernels
    without open_tree; otherwise `CopiedRoot`.)
    """

    def __init__(self, root: str, hostname: str, init: int) -> None:
        self.root = root
        self.hostname = hostname
        self.init = init

    def prepare(self, mounts: Sequence[Mapping[str, Any]]) -> None:
        """Everything every instance's root has: the skeleton (its own mount, on top of
        the directory, read-only), the host directories and devices bound into it,
        /proc, a /tmp of the default size; and the UTS namespace's host name."""
        kernel.sethostname(self.hostname)
        kernel.setns(self.init, kernel.CLONE_NEWNS)
        _bind_common(self.root, mounts)
        _mount_proc("proc")
        _mount_tmp("tmp", DEFAULT_TMP_MB)
        kernel.remount_readonly(".")

    def finish(self, setup: Mapping[str, Any], trees: Sequence[int]) -> None:
        """One function's part: its code and its layers (read-only), its /tmp's size.
        (`trees`: none come, the directories are bound by path.)"""
        kernel.bind(setup["code"], "var/task", readonly=True)
        if setup["layers"]:
            kernel.bind(setup["layers"], "opt", readonly=True)
        _resize_tmp("tmp", setup["tmp_mb"])

    def enter(self) -> None:
        """Pivot into the root (every process of the namespace goes along) and drop the
        host's tree."""
        _pivot_here()


class CopiedRoot:
    """An instance's root when its mount namespace began as a copy of a finished common
    root (`common_root_namespace`, which the zygote keeps): the instance adds its own
    /proc and /tmp, then its function's directories, and needs no pivot. (As root,
    Linux 5.2 and later.)

    The directories come as detached mount trees the server made (`kernel.open_tree`):
    the instance's mount namespace shows nothing of the host to bind from. Each instance
    so skips a namespace full of the host's mounts made then dropped, a dozen binds, and
    pivot_root, which visits every process on the host.
    """

    def __init__(self, hostname: str, init: int) -> None:
        self.hostname = hostname
        self.init = init  # a pidfd of the instance's init

    def prepare(self, mounts: Sequence[Mapping[str, Any]]) -> None:
        """Join the instance's mount namespace (root and working directory: its root)
        and mount what the common root lacks: a /proc of the instance's PID namespace, a
        /tmp of the default size; and the UTS namespace's host name."""
        kernel.sethostname(self.hostname)
        kernel.setns(self.init, kernel.CLONE_NEWNS)
        _mount_proc("/proc")
        _mount_tmp("/tmp", DEFAULT_TMP_MB)

    def finish(self, setup: Mapping[str, Any], trees: Sequence[int]) -> None:
        """One function's part: its code and its layers (`trees`, in that order),
        read-only; its /tmp's size."""
        targets = ["/var/task", "/opt"] if setup["layers"] else ["/var/task"]
        for tree, target in zip(trees, targets, strict=True):
            kernel.move_mount(tree, target)
            kernel.remount_readonly(target)
        _resize_tmp("/tmp", setup["tmp_mb"])

    def enter(self) -> None:
        """Nothing left: the namespace was joined with its root in place."""


def common_root_namespace(root: str, mounts: Sequence[Mapping[str, Any]]) -> int:
    """A descriptor of a new mount namespace whose root is the skeleton `root`, read-only,
    with `mounts` bound into it: what every instance's root has. A child makes it and
    ends once it is held."""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(done_w)
        try:
            kernel.unshare(kernel.CLONE_NEWNS)
            _bind_common(root, mounts)
            kernel.remount_readonly(".")
            _pivot_here()
            os.write(ready_w, b"\0")
            os.read(done_r, 1)  # until the parent holds the namespace
        except BaseException as e:
            os.write(ready_w, str(e).encode()[:512])
        os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    try:
        said = os.read(ready_r, 1024)
        if said != b"\0":
            raise OSError(errno.EPERM, f"the common root: {said.decode(errors='replace')}")
        return os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready_r)
        os.close(done_w)
        os.waitpid(pid, 0)


def _bind_common(root: str, mounts: Iterable[Mapping[str, Any]]) -> None:
    """Bind the skeleton on itself and `mounts` into it; the working directory: there."""
    kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
    kernel.mount(root, root, None, kernel.MS_BIND | kernel.MS_REC)
    os.chdir(root)  # the new mount, on top of the skeleton directory
    for entry in mounts:
        kernel.bind(entry["source"], entry["target"], readonly=entry["readonly"])


def _mount_proc(target: str, warm: bool = True) -> None:
    """Mount the instance's /proc at `target`, and look up the files the instance opens
    there once it knows its function: the kernel makes a process's entries on their
    first lookup, 50-70 us for the first, better spent while a spare."""
    kernel.mount("proc", target, "proc", kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC)
    for name in _PROC_FILES if warm else ():
        os.stat(f"{target}/{name}")


def mount_instance_files(tmp_mb: int) -> None:
    """A copy of a template's: a /proc of its PID namespace and a /tmp of its own, over
    the template's (called by `template_fork.adopt`, born in that PID namespace)."""
    _mount_proc("/proc", warm=False)
    _mount_tmp("/tmp", tmp_mb)


def _mount_tmp(target: str, tmp_mb: int) -> None:
    flags = kernel.MS_NOSUID | kernel.MS_NODEV
    kernel.mount("tmpfs", target, "tmpfs", flags, _tmp_size(tmp_mb) + ",mode=1777")


def _resize_tmp(target: str, tmp_mb: int) -> None:
    """Give the /tmp a spare mounted at the default size the function's size."""
    if tmp_mb != DEFAULT_TMP_MB:
        flags = kernel.MS_REMOUNT | kernel.MS_NOSUID | kernel.MS_NODEV
        kernel.mount(None, target, None, flags, _tmp_size(tmp_mb))


def _tmp_size(tmp_mb: int) -> str:
    return f"size={tmp_mb}m,nr_inodes={max(16384, tmp_mb * 64)}"


def _pivot_here() -> None:
    """Make the working directory the root of this mount namespace and drop the old one."""
    # Stack the old root on the new one, then detach it: no directory for it needed.
    kernel.pivot_root(".", ".")
    kernel.umount(".", kernel.MNT_DETACH)
    os.chdir("/")


def enter_user_namespace(proc_self: int | None = None) -> None:
    """Become Lambda's sbx_user1051 in a user namespace of this process's own (the id
    maps written through `proc_self`, see `map_ids`, when given).

    The namespace owns nothing: the mount, PID and network namespaces around it were
    made by the instance's init, so whatever capabilities the kernel hands out in it
    cannot remount or unmount anything.
    """
    uid, gid = os.getuid(), os.getgid()
    kernel.unshare(kernel.CLONE_NEWUSER)
    map_ids(f"{SANDBOX_UID} {uid} 1", f"{SANDBOX_GID} {gid} 1", proc_self)


def hide_proc() -> int:
    """A function's template: move its /proc to `HIDDEN_PROC` and return a descriptor of
    its /proc/<pid> directory, for the steps of its confinement that still need it.

    The template runs the function's initialisation and its copies are its children:
    with no /proc of its own, nothing the initialisation leaves running can open a
    copy's /proc/<pid>/mem (the other ways into another process are the seccomp
    filter's). The mount stays, out of reach: the kernel mounts a new /proc inside a
    user namespace (each copy's, `template_fork.adopt`) only where one is fully
    visible already.
    """
    proc_self = os.open("/proc/self", _DIRECTORY)
    kernel.mount("/proc", HIDDEN_PROC, None, kernel.MS_MOVE)
    return proc_self


def scope(landlock_abi: int) -> None:
    """With Landlock ABI 6 and later: no signals to, and no abstract sockets of, anyone
    outside this process and what it starts. Restricts none of the confinement still to
    come (it handles no file system access; a process in a Landlock domain can no
    longer join a mount namespace, though: setns answers EPERM)."""
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
