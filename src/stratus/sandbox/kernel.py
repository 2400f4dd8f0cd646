"""Linux system calls the standard library lacks, through ctypes.

Namespaces (unshare, setns), mounts (mount, pivot_root, open_tree, move_mount),
privileges (prctl, capset), seccomp and Landlock; starting processes in new namespaces
is `clone.py`'s. Standard
library only and valid on Python 3.10 and later: this runs inside zygotes started with
a function's runtime interpreter, which has no Stratus installed (the zygote is handed
this file's source). `os.unshare` exists only from 3.12 and the rest not at all, hence
ctypes.

Every call raises OSError with the call's name on failure. The numbers of calls made
through `syscall()` are the same on every Linux architecture (the unified table from
424 on), except `pivot_root`, which libc wraps.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
#: The namespaces a function's template clones each of its copies into, all at once
#: (`template_fork.py`): the only ones its seccomp filter lets it make.
TEMPLATE_NAMESPACES = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
#: ioctl on a namespace file: a descriptor of the user namespace that owns it (or of a
#: user namespace's parent).
NS_GET_PARENT = 0xB702

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_RELATIME = 0x200000
MNT_DETACH = 0x2
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
OPEN_TREE_CLONE = 0x1
MOVE_MOUNT_F_EMPTY_PATH = 0x4

# statvfs f_flag bits that a read-only remount must repeat: a mount inherited from a
# more privileged namespace has them locked, and dropping one fails with EPERM.
_KEPT_MOUNT_FLAGS = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2

SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
SYS_CLOSE_RANGE = 436
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_RESTRICT_SELF = 446
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}

LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET = 0x1
LANDLOCK_SCOPE_SIGNAL = 0x2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]
# ctypes resolves a function on first use and caches it on the library object: resolve
# them all now, in the zygote, so instances share the result instead of each making it.
for _name in ("unshare", "setns", "sethostname", "umount2", "pivot_root", "capset"):
    getattr(_libc, _name, None)


def _check(result: int, what: str) -> int:
    if result < 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")
    return result


def _path(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


# --- namespaces ----------------------------------------------------------------------


def setns(fd: int, flags: int) -> None:
    """Join the namespaces of kinds `flags` that the process with pidfd `fd` is in (or
    the one namespace file `fd` names). CLONE_NEWPID changes only where this process's
    future children are born."""
    _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(flags)), f"setns {flags:#x}")


def unshare(flags: int) -> None:
    """Move this process into new namespaces of the kinds in `flags`."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def sethostname(name: str) -> None:
    """Set the host name of this process's UTS namespace."""
    data = name.encode()
    _check(_libc.sethostname(data, ctypes.c_size_t(len(data))), "sethostname")


# --- mounts ------------------------------------------------------------------------------


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    """mount(2)."""
    result = _libc.mount(_path(source), _path(target), _path(fstype), flags, _path(data))
    _check(result, f"mount {target}")


def bind(source: str, target: str, *, readonly: bool) -> None:
    """Bind `source` (with whatever is mounted below it) at `target`, read-only if asked."""
    mount(source, target, None, MS_BIND | MS_REC)
    if readonly:
        kept = os.statvfs(target).f_flag
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
        for stat_flag, mount_flag in _KEPT_MOUNT_FLAGS:
            if kept & stat_flag:
                flags |= mount_flag
        mount(None, target, None, flags)


def remount_readonly(target: str) -> None:
    """Make the mount at `target` (only that one) read-only, nosuid and nodev."""
    kept = os.statvfs(target).f_flag
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
    for stat_flag, mount_flag in _KEPT_MOUNT_FLAGS:
        if kept & stat_flag:
            flags |= mount_flag
    mount(None, target, None, flags)


def open_tree(path: str) -> int:
    """A detached copy of the mount tree at `path`, as a recursive bind would attach it:
    a descriptor (close-on-exec) that `move_mount` attaches, in any mount namespace."""
    flags = OPEN_TREE_CLONE | AT_RECURSIVE | os.O_CLOEXEC
    result = _libc.syscall(
        ctypes.c_long(SYS_OPEN_TREE), ctypes.c_int(AT_FDCWD), _path(path), ctypes.c_uint(flags)
    )
    return _check(result, f"open_tree {path}")


def move_mount(tree: int, target: str) -> None:
    """Attach the detached mount tree `tree` (from `open_tree`) at `target`."""
    result = _libc.syscall(
        ctypes.c_long(SYS_MOVE_MOUNT),
        ctypes.c_int(tree),
        b"",
        ctypes.c_int(AT_FDCWD),
        _path(target),
        ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH),
    )
    _check(result, f"move_mount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    """pivot_root(2)."""
    if hasattr(_libc, "pivot_root"):
        result = _libc.pivot_root(_path(new_root), _path(put_old))
    else:
        number = _SYS_PIVOT_ROOT.get(os.uname().machine)
        if number is None:
            raise OSError(errno.ENOSYS, "pivot_root: unknown architecture")
        result = _libc.syscall(ctypes.c_long(number), _path(new_root), _path(put_old))
    _check(result, "pivot_root")


def umount(target: str, flags: int = 0) -> None:
    """umount2(2)."""
    _check(_libc.umount2(_path(target), ctypes.c_int(flags)), f"umount {target}")


# --- privileges ---------------------------------------------------------------------------


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0) -> int:
    """prctl(2) with integer arguments (the fifth is 0, as several options demand)."""
    return _check(_libc.prctl(option, arg2, arg3, arg4, 0), f"prctl {option}")


def set_parent_death_signal(signal_number: int) -> None:
    """Have the kernel send `signal_number` to this process when its parent dies."""
    prctl(PR_SET_PDEATHSIG, signal_number)


def set_dumpable(dumpable: bool) -> None:
    """Whether same-user processes may inspect this one (/proc/<pid>/mem, ptrace)."""
    prctl(PR_SET_DUMPABLE, 1 if dumpable else 0)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


# What capset() is given, built once, in the zygote, before it forks: an instance then
# passes memory the kernel only reads, instead of building the objects (the array's
# type first), which took 0.2 ms in each new instance.
_CAP_HEADER = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
_NO_CAPABILITIES = (_CapData * 2)()


def drop_capabilities() -> None:
    """Give up every capability: effective, permitted, inheritable and ambient.

    The bounding set is left as it is (dropping it costs one prctl per capability,
    0.3 ms): with no_new_privs set, as `install_seccomp` and `landlock_scope` do, no
    execve can bring a capability back, from a file or a set-user-ID binary.
    """
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    _check(_libc.capset(ctypes.byref(_CAP_HEADER), _NO_CAPABILITIES), "capset")


# --- seccomp and Landlock -------------------------------------------------------------------


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


#: Filters in the form prctl() takes, by their bytes: (buffer, struct sock_fprog).
_FILTERS: dict[bytes, tuple[ctypes.Array[ctypes.c_char], _SockFprog]] = {}


def prepare_seccomp(program: bytes) -> None:
    """Build what installing `program` passes to the kernel, once: a zygote does it
    before it forks, for the same reason as `_NO_CAPABILITIES`."""
    if program not in _FILTERS:
        buffer = ctypes.create_string_buffer(program, len(program))
        _FILTERS[program] = (buffer, _SockFprog(len(program) // 8, ctypes.addressof(buffer)))


def install_seccomp(program: bytes) -> None:
    """Install a classic-BPF seccomp filter (8-byte instructions); needs no_new_privs."""
    prepare_seccomp(program)
    fprog = _FILTERS[program][1]
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    result = _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0)
    _check(result, "seccomp")


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers; 0 when it has none or it is off."""
    result = _libc.syscall(
        ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET),
        None,
        ctypes.c_size_t(0),
        ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION),
    )
    return max(int(result), 0)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


def landlock_scope(scopes: int) -> None:
    """Confine this process (and what it starts) to its own Landlock domain for `scopes`
    (ABI 6: abstract Unix sockets and signals of processes outside the domain)."""
    attr = _RulesetAttr(0, 0, scopes)
    fd = _libc.syscall(
        ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
        ctypes.c_uint32(0),
    )
    _check(fd, "landlock_create_ruleset")
    try:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        result = _libc.syscall(
            ctypes.c_long(SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(fd), ctypes.c_uint32(0)
        )
        _check(result, "landlock_restrict_self")
    finally:
        os.close(fd)


# --- memory ---------------------------------------------------------------------------------


MADV_POPULATE_WRITE = 23  # Linux 5.14


def populate_write(address: int, length: int) -> bool:
    """Fault in [address, address + length) as if written (copying pages shared with
    another process), without changing a byte; False if the kernel refused."""
    result = _libc.madvise(
        ctypes.c_void_p(address), ctypes.c_size_t(length), ctypes.c_int(MADV_POPULATE_WRITE)
    )
    return bool(result == 0)


def populate_supported() -> bool:
    """Whether this kernel populates pages on request (MADV_POPULATE_WRITE)."""
    page = mmap.mmap(-1, mmap.PAGESIZE)
    try:
        buffer = (ctypes.c_char * mmap.PAGESIZE).from_buffer(page)
        try:
            return populate_write(ctypes.addressof(buffer), mmap.PAGESIZE)
        finally:
            del buffer
    finally:
        page.close()


def trim_heap() -> None:
    """Give what the C heap has free back to the system (glibc; elsewhere nothing)."""
    trim = getattr(_libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


# --- descriptors --------------------------------------------------------------------------


def close_descriptors_from(first: int) -> None:
    """Close every descriptor numbered `first` or more."""
    result = _libc.syscall(
        ctypes.c_long(SYS_CLOSE_RANGE),
        ctypes.c_uint(first),
        ctypes.c_uint(0xFFFFFFFF),
        ctypes.c_uint(0),
    )
    if result < 0:  # before Linux 5.9
        os.closerange(first, os.sysconf("SC_OPEN_MAX"))
