"""Instance cgroups: created with their limits, found again, removed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratus.sandbox.cgroups import MAX_TASKS, CgroupTree, find_hierarchies

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def tree() -> Iterator[CgroupTree]:
    tree, why = CgroupTree.create()
    if tree is None:
        pytest.skip(f"no writable cgroups here: {why}")
    yield tree
    tree.close()


def read(directory: Path, name: str) -> str:
    return (directory / name).read_text().strip()


def test_an_instance_group_carries_its_limits(tree: CgroupTree) -> None:
    group = tree.instance("test-limits")
    assert all(not directory.exists() for _, directory in group.directories)
    group.create(1769)
    try:
        for hierarchy, directory in group.directories:
            assert directory.name == "test-limits"
            assert directory.parent.name == f"stratus-{os.getpid()}"
            names = hierarchy.controllers
            if "memory" in names:
                limit = "memory.max" if hierarchy.version == 2 else "memory.limit_in_bytes"
                assert int(read(directory, limit)) == 1769 << 20
            if "pids" in names:
                assert read(directory, "pids.max") == str(MAX_TASKS)
            if "cpu" in names:
                if hierarchy.version == 2:
                    assert read(directory, "cpu.weight") == "100"  # one vCPU
                else:
                    assert read(directory, "cpu.shares") == "1024"
        assert group.oom_kills() == 0
        assert all(step["join"] in ("tasks", "cgroup.procs") for step in group.plan)
    finally:
        assert group.remove()
    assert all(not directory.exists() for _, directory in group.directories)


def test_cpu_share_is_proportional_to_memory(tree: CgroupTree) -> None:
    small, large = tree.instance("small"), tree.instance("large")
    small.create(128)
    large.create(3538)
    try:
        for (hierarchy, s), (_, big) in zip(small.directories, large.directories, strict=True):
            if "cpu" in hierarchy.controllers:
                name = "cpu.weight" if hierarchy.version == 2 else "cpu.shares"
                ratio = int(read(big, name)) / int(read(s, name))
                assert 25 <= ratio <= 30  # 3,538 MB is two vCPUs, 128 MB about 0.07
    finally:
        small.remove()
        large.remove()


def test_a_cpu_cap_sets_a_quota() -> None:
    tree, why = CgroupTree.create(cpu_cap=True)
    if tree is None:
        pytest.skip(f"no writable cgroups here: {why}")
    try:
        group = tree.instance("capped")
        group.create(884)
        try:
            for hierarchy, directory in group.directories:
                if "cpu" in hierarchy.controllers and hierarchy.version == 1:
                    assert read(directory, "cpu.cfs_quota_us") == "49972"  # half a vCPU
                elif "cpu" in hierarchy.controllers:
                    assert read(directory, "cpu.max") == "49972 100000"
        finally:
            group.remove()
    finally:
        tree.close()


def test_hierarchies_are_found_for_this_process() -> None:
    for hierarchy in find_hierarchies():
        assert hierarchy.directory.is_dir()
        assert hierarchy.controllers <= {"memory", "pids", "cpu"}
