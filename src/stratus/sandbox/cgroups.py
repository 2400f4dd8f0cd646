"""Control groups: the memory, process-count and CPU limits of isolated instances.

Each server makes one group ``stratus-<pid>`` below its own cgroup (in every hierarchy
that carries a controller it uses: one on cgroup v2, up to three on v1) and one child
group per instance in it. The server decides an instance's groups and their limits
(`CgroupTree.instance`, `InstanceCgroup.limits`: no I/O); the instance's runtime process
creates the groups and moves in (`confine.enter_cgroups`) before it builds its root, so
everything the instance starts is counted and the server's event loop does none of
that work. It writes the limits of the memory size the server expects (the last cold
start's) while it waits as a spare, then, once it knows its function, whichever of its
function's differ (`confine.write_limits`; no user code runs before that). The server
reads the OOM counter and removes the groups once the instance has ended.

Limits, from the function's configuration:

- memory: ``MemorySize`` exactly; going past it gets the instance OOM-killed, which the
  engine reads back from the group's ``oom_kill`` counter (Lambda's Runtime.OutOfMemory).
  Its /tmp is a tmpfs, so what it writes there counts too (on Lambda /tmp is a disk).
- processes and threads: 1,024 (``pids.max``).
- CPU: a share proportional to memory, as Lambda allocates it (1,769 MB is one vCPU):
  ``cpu.weight`` (v2) or ``cpu.shares`` (v1), so under contention a 1,769 MB function
  gets 14 times the CPU of a 128 MB one and no instance can starve the server. With
  `cpu_cap`, also a hard ceiling of that many vCPUs (``cpu.max``/CFS quota), which is
  Lambda's behaviour but slows every small function down even on an idle host.

Only the cgroup's own processes are charged: pages an instance shares with its zygote
stay charged to the server's group until the instance writes to them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stratus.sandbox.confine import write_limits

log = logging.getLogger(__name__)

#: Memory that buys one vCPU on Lambda.
MB_PER_VCPU = 1769
#: Processes plus threads in one instance.
MAX_TASKS = 1024
_CFS_PERIOD_US = 100_000
CONTROLLERS = ("memory", "pids", "cpu")


@dataclass(frozen=True)
class Hierarchy:
    """Where one or more controllers are managed: the server's cgroup directory there."""

    version: int
    #: The server's own cgroup in this hierarchy.
    directory: Path
    controllers: frozenset[str]


def _mounts() -> list[tuple[str, Path, str, set[str]]]:
    """(fs type, mount point, root in the hierarchy, options) of every cgroup mount."""
    found = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            left, _, right = line.partition(" - ")
            fields, extra = left.split(), right.split()
            if len(fields) < 5 or len(extra) < 3 or extra[0] not in ("cgroup", "cgroup2"):
                continue
            point = Path(fields[4].replace("\\040", " "))
            found.append((extra[0], point, fields[3], set(extra[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per v1 controller, and under "" its v2 path."""
    paths: dict[str, str] = {}
    with open("/proc/self/cgroup") as cgroup:
        for line in cgroup:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) != 3:
                continue
            for name in parts[1].split(",") if parts[1] else [""]:
                paths[name] = parts[2]
    return paths


def _inside(point: Path, mount_root: str, path: str) -> Path:
    # In a container the mount's root is the container's own group, not "/".
    relative = os.path.relpath(path, mount_root) if mount_root != "/" else path.lstrip("/")
    return point if relative in (".", "") else point / relative


def find_hierarchies() -> list[Hierarchy]:
    """Every hierarchy that manages one of the controllers Stratus uses, for this process."""
    try:
        mounts = _mounts()
        own = _own_paths()
    except OSError as e:
        log.info("cannot read this process's cgroups: %s", e)
        return []
    result: list[Hierarchy] = []
    taken: set[str] = set()
    for fstype, point, root, options in mounts:
        if fstype != "cgroup":
            continue
        wanted = frozenset(options & set(CONTROLLERS)) - taken
        name = next(iter(wanted), None)
        if name is None or name not in own:
            continue
        result.append(Hierarchy(1, _inside(point, root, own[name]), wanted))
        taken |= wanted
    for fstype, point, root, _ in mounts:
        if fstype != "cgroup2" or "" not in own:
            continue
        directory = _inside(point, root, own[""])
        try:
            available = set((directory / "cgroup.controllers").read_text().split())
        except OSError:
            continue
        wanted = frozenset(available & set(CONTROLLERS)) - taken
        if wanted:
            result.append(Hierarchy(2, directory, wanted))
            taken |= wanted
    return result


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CgroupTree:
    """This server's cgroups: a parent group per hierarchy, a child group per instance."""

    def __init__(self, hierarchies: Iterable[Hierarchy], *, cpu_cap: bool = False) -> None:
        self.hierarchies = list(hierarchies)
        self.cpu_cap = cpu_cap
        self._parents: list[tuple[Hierarchy, Path]] = []
        self._optional: dict[tuple[Path, str], bool] = {}
        self._limits: dict[tuple[int, int], list[list[str]]] = {}

    @classmethod
    def create(cls, *, cpu_cap: bool = False) -> tuple[CgroupTree | None, str]:
        """The tree, ready for instances, or None and why not."""
        hierarchies = find_hierarchies()
        if not hierarchies:
            return None, "no cgroup controller is mounted"
        tree = cls(hierarchies, cpu_cap=cpu_cap)
        try:
            tree._make_parents()
        except OSError as e:
            tree.close()
            return None, f"cgroups not writable ({e.strerror or e})"
        return tree, ""

    @property
    def controllers(self) -> frozenset[str]:
        """The controllers this tree sets limits with."""
        return frozenset().union(*(h.controllers for h in self.hierarchies))

    def describe(self) -> str:
        """E.g. "cgroups v1 (memory, pids, cpu)"."""
        versions = "+".join(sorted({f"v{h.version}" for h in self.hierarchies}))
        names = ", ".join(c for c in CONTROLLERS if c in self.controllers)
        return f"cgroups {versions} ({names}{', CPU cap' if self.cpu_cap else ''})"

    def _make_parents(self) -> None:
        for hierarchy in self.hierarchies:
            self._remove_stale(hierarchy.directory)
            parent = hierarchy.directory / f"stratus-{os.getpid()}"
            if hierarchy.version == 2:
                # Controllers must be enabled on the way down; the kernel refuses it
                # (EBUSY) in a non-root group that holds processes itself.
                enable = " ".join(f"+{c}" for c in sorted(hierarchy.controllers))
                _write(hierarchy.directory / "cgroup.subtree_control", enable)
                parent.mkdir(exist_ok=True)
                self._parents.append((hierarchy, parent))
                _write(parent / "cgroup.subtree_control", enable)
            else:
                parent.mkdir(exist_ok=True)
                self._parents.append((hierarchy, parent))

    def _remove_stale(self, directory: Path) -> None:
        """Remove the groups of servers that died without cleaning up."""
        with contextlib.suppress(OSError):
            for entry in directory.iterdir():
                match = re.fullmatch(r"stratus-(\d+)", entry.name)
                if match and entry.is_dir() and not _alive(int(match.group(1))):
                    for child in entry.iterdir():
                        if child.is_dir():
                            with contextlib.suppress(OSError):
                                child.rmdir()
                    with contextlib.suppress(OSError):
                        entry.rmdir()

    def instance(self, name: str) -> InstanceCgroup:
        """The groups of one instance, not created yet (see `InstanceCgroup.plan`)."""
        return InstanceCgroup(
            self, [(hierarchy, parent / name) for hierarchy, parent in self._parents]
        )

    def limits(self, hierarchy: Hierarchy, parent: Path, memory_mb: int) -> list[list[str]]:
        """(file, value) pairs that set an instance's limits in one hierarchy (worked out
        once per memory size: every cold start asks, twice)."""
        key = (id(hierarchy), memory_mb)  # (the tree holds its hierarchies)
        limits = self._limits.get(key)
        if limits is None:
            limits = self._limits[key] = self._work_out_limits(hierarchy, parent, memory_mb)
        return limits

    def _work_out_limits(
        self, hierarchy: Hierarchy, parent: Path, memory_mb: int
    ) -> list[list[str]]:
        vcpus = memory_mb / MB_PER_VCPU
        names = hierarchy.controllers
        limits: list[list[str]] = []
        if "memory" in names:
            limit = str(memory_mb << 20)
            if hierarchy.version == 2:
                limits.append(["memory.max", limit])
                for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                    if self._has(parent, name):
                        limits.append([name, value])
            else:
                limits.append(["memory.limit_in_bytes", limit])
                if self._has(parent, "memory.memsw.limit_in_bytes"):
                    limits.append(["memory.memsw.limit_in_bytes", limit])
        if "pids" in names:
            limits.append(["pids.max", str(MAX_TASKS)])
        if "cpu" in names:
            quota = max(1000, round(_CFS_PERIOD_US * vcpus))
            if hierarchy.version == 2:
                limits.append(["cpu.weight", str(min(10000, max(1, round(100 * vcpus))))])
                if self.cpu_cap:
                    limits.append(["cpu.max", f"{quota} {_CFS_PERIOD_US}"])
            else:
                limits.append(["cpu.shares", str(max(2, round(1024 * vcpus)))])
                if self.cpu_cap:
                    limits.append(["cpu.cfs_period_us", str(_CFS_PERIOD_US)])
                    limits.append(["cpu.cfs_quota_us", str(quota)])
        return limits

    def _has(self, parent: Path, name: str) -> bool:
        """Whether groups here have an optional file (asked once per name)."""
        key = (parent, name)
        if key not in self._optional:
            # A child group has what its parent has (the root group lacks some files).
            self._optional[key] = (parent / name).exists()
        return self._optional[key]

    def close(self) -> None:
        """Remove the parent groups (their instances must be gone)."""
        for _, parent in self._parents:
            for child in parent.iterdir() if parent.is_dir() else ():
                if child.is_dir():
                    with contextlib.suppress(OSError):
                        child.rmdir()
            try:
                parent.rmdir()
            except OSError as e:
                log.warning("cannot remove cgroup %s: %s", parent, e)
        self._parents.clear()


class InstanceCgroup:
    """One instance's groups: how to make them, what the instance used, removing them."""

    def __init__(self, tree: CgroupTree, directories: list[tuple[Hierarchy, Path]]) -> None:
        self.tree = tree
        self.directories = directories

    @property
    def plan(self) -> list[dict[str, str]]:
        """What `confine.enter_cgroups` does in a new instance (JSON): per hierarchy the
        directory to make and the file the (single-threaded) process writes "0" to, to
        move in.

        On v1 that is ``tasks``: moving one thread skips the global lock that moving a
        whole process through ``cgroup.procs`` takes, whose RCU grace period cost 3-4 ms
        per hierarchy, 11 ms per instance. On v2, ``cgroup.procs``.
        """
        return [
            {
                "directory": str(directory),
                "join": "tasks" if hierarchy.version == 1 else "cgroup.procs",
            }
            for hierarchy, directory in self.directories
        ]

    def limits(self, memory_mb: int) -> list[list[str]]:
        """[file, value] pairs that set the limits of a function with `memory_mb`."""
        return [
            [f"{directory}/{name}", value]
            for hierarchy, directory in self.directories
            for name, value in self.tree.limits(hierarchy, directory.parent, memory_mb)
        ]

    def create(self, memory_mb: int) -> None:
        """Make the groups with their limits from this process, without joining them."""
        try:
            for _, directory in self.directories:
                directory.mkdir()
            write_limits(self.limits(memory_mb))
        except OSError:
            self.remove()
            raise

    def oom_kills(self) -> int:
        """How many processes of the group the kernel killed for its memory limit."""
        for hierarchy, directory in self.directories:
            if "memory" not in hierarchy.controllers:
                continue
            name = "memory.events" if hierarchy.version == 2 else "memory.oom_control"
            try:
                text = (directory / name).read_text()
            except OSError:
                return 0
            match = re.search(r"^oom_kill (\d+)$", text, re.MULTILINE)
            return int(match.group(1)) if match else 0
        return 0

    def remove(self) -> bool:
        """Remove the groups; False if one still holds a process (try again later)."""
        done = True
        for _, directory in self.directories:
            try:
                directory.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                done = False
        return done
