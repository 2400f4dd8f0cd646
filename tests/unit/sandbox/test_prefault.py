"""prefault.py, on real processes: which pages a forked child has written, what a zygote
learns from its children, and a spare copying the learned pages ahead."""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from stratus.sandbox import kernel, prefault

pytestmark = pytest.mark.timeout(30)

PAGE = prefault.PAGE
populating = pytest.mark.skipif(
    not kernel.populate_supported(), reason="this kernel cannot populate pages (Linux 5.14)"
)


@contextmanager
def child(action: Callable[[], None]) -> Iterator[int]:
    """A forked child that runs `action`, then waits until the block ends; its pid."""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(done_w)
        try:
            action()
        finally:
            os.write(ready_w, b"x")
            os.read(done_r, 1)
            os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    try:
        assert os.read(ready_r, 1) == b"x"
        yield pid
    finally:
        os.close(done_w)
        os.close(ready_r)
        os.waitpid(pid, 0)


@pytest.fixture
def shared() -> Iterator[tuple[mmap.mmap, int]]:
    """Eight private pages this process has written (so they are there to share with a
    child), and the number of the first."""
    area = mmap.mmap(-1, 8 * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for page in range(8):
        area[page * PAGE] = 1
    first = address_of(area) // PAGE
    yield area, first
    area.close()


def address_of(area: mmap.mmap) -> int:
    import ctypes

    buffer = (ctypes.c_char * len(area)).from_buffer(area)
    try:
        return ctypes.addressof(buffer)
    finally:
        del buffer


def writer(area: mmap.mmap, *pages: int) -> Callable[[], None]:
    def write() -> None:
        for page in pages:
            area[page * PAGE] = 2

    return write


def test_a_child_has_written_exactly_the_pages_it_wrote(shared: tuple[mmap.mmap, int]) -> None:
    area, first = shared
    span = [(first * PAGE, (first + 8) * PAGE)]
    with child(writer(area, 3, 5)) as pid:
        assert prefault.written_pages(pid, span) == {first + 3, first + 5}
    with child(writer(area)) as pid:
        assert prefault.written_pages(pid, span) == set()


@populating
def test_pages_most_children_write_are_learned_and_no_others(
    shared: tuple[mmap.mmap, int],
) -> None:
    area, first = shared
    learned = prefault.Learned()
    # Page 1 in every child, page 2 in half of them, page 6 in one only.
    writes = [(1, 2, 6), (1, 2), (1,), (1,)]
    assert len(writes) == prefault.SAMPLES
    for pages in writes:
        assert learned.learning and not learned.ranges
        with child(writer(area, *pages)) as pid:
            learned.sample(pid)
    assert not learned.learning
    mine = {
        page
        for address, length in learned.ranges
        for page in range(address // PAGE, (address + length) // PAGE)
        if first <= page < first + 8
    }
    assert mine == {first + 1, first + 2}


@populating
def test_a_spare_copies_the_learned_pages_without_writing_them(
    shared: tuple[mmap.mmap, int],
) -> None:
    area, first = shared
    learned = prefault.Learned()
    learned.ranges = prefault.as_ranges([first + 2, first + 3, first + 7])
    assert learned.ranges == [((first + 2) * PAGE, 2 * PAGE), ((first + 7) * PAGE, PAGE)]
    span = [(first * PAGE, (first + 8) * PAGE)]
    with child(learned.copy_ahead) as pid:
        assert prefault.written_pages(pid, span) == {first + 2, first + 3, first + 7}
    assert all(area[page * PAGE] == 1 for page in range(8))  # nothing was written


def test_an_ended_child_teaches_nothing() -> None:
    learned = prefault.Learned()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    learned.sample(pid)
    assert learned.learning == learned.supported
