"""The pages a new instance will write, copied while it still waits as a spare.

Standard library only, like `nursery.py`, whose zygote runs it.

An instance shares the zygote's memory until it writes to it, and the first write to
each shared page stops to copy it: a copy-on-write fault, 2.5-5 us on a virtual
machine. Between reading its function and answering its first call, an instance of a
trivial function writes some 230 of the zygote's pages (the interpreter's state, the
allocator's pools in use, the C heap's free lists): a third of its own part of the
cold start, and much the same pages every time. So a zygote learns them from its first
instances, and every spare forked ahead copies them while it waits for a function, off
the cold start's path, with MADV_POPULATE_WRITE (Linux 5.14): the kernel copies them in
one call, without a fault each. (An instance forked for a call that is waiting, as in a
burst, gains nothing by it: it takes its faults as it goes.) That costs little memory,
since nearly every instance copies those pages anyway (a trivial function's runtime:
2.2 MB private, 2.0-2.2 before).

Learning: once an instance has answered its first call, the server asks its zygote to
look at it (``{"t": "learn", "runtime"}``). The zygote reads the instance's page map
over its own writable mappings: a page the instance has written holds an anonymous page
mapped there alone. After `SAMPLES` instances, the pages found in at least half of
them, at most `MAX_PAGES`, are what later spares copy; the first instances' functions
could be hostile, and all one can do is make later instances copy that much more.
"""

from __future__ import annotations

import array
import os

from stratus.sandbox import kernel

#: Instances looked at before spares copy anything.
SAMPLES = 4
#: Pages copied ahead at most (a trivial function's instances write about 230).
MAX_PAGES = 1024
PAGE = os.sysconf("SC_PAGE_SIZE")
# /proc/<pid>/pagemap: one 64-bit entry per page (Documentation/admin-guide/mm/pagemap).
_PRESENT = 1 << 63
_FILE_OR_SHARED = 1 << 61
_EXCLUSIVE = 1 << 56
_WRITTEN_MASK = _PRESENT | _FILE_OR_SHARED | _EXCLUSIVE
_WRITTEN = _PRESENT | _EXCLUSIVE


def writable_ranges() -> list[tuple[int, int]]:
    """This process's private writable mappings (start, end), but for its stack and the
    kernel's special ones: what a process forked from it shares until it writes."""
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            name = fields[5] if len(fields) > 5 else ""
            if fields[1] == "rw-p" and (name == "[heap]" or not name.startswith("[")):
                start, end = (int(value, 16) for value in fields[0].split("-"))
                ranges.append((start, end))
    return ranges


def written_pages(pid: int, ranges: list[tuple[int, int]]) -> set[int]:
    """The pages of `ranges` process `pid` (forked from this one) has written: the page
    numbers where it maps an anonymous page no other process maps."""
    written: set[int] = set()
    fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY | os.O_CLOEXEC)
    try:
        for start, end in ranges:
            first = start // PAGE
            entries = array.array("Q", os.pread(fd, (end - start) // PAGE * 8, first * 8))
            for index, entry in enumerate(entries):
                if entry & _WRITTEN_MASK == _WRITTEN:
                    written.add(first + index)
    finally:
        os.close(fd)
    return written


def as_ranges(pages: list[int]) -> list[tuple[int, int]]:
    """Sorted page numbers as (address, length) runs."""
    runs: list[tuple[int, int]] = []
    for page in sorted(pages):
        if runs and runs[-1][0] + runs[-1][1] == page * PAGE:
            runs[-1] = (runs[-1][0], runs[-1][1] + PAGE)
        else:
            runs.append((page * PAGE, PAGE))
    return runs


class Learned:
    """What a zygote has learned of the pages its instances write."""

    def __init__(self) -> None:
        self.supported = kernel.populate_supported()
        self._votes: dict[int, int] = {}
        self._samples = 0
        #: What every later spare copies ahead: (address, length) runs.
        self.ranges: list[tuple[int, int]] = []

    @property
    def learning(self) -> bool:
        return self.supported and self._samples < SAMPLES

    def sample(self, pid: int) -> None:
        """Count the pages instance `pid` (a child not reaped yet) has written."""
        if not self.learning:
            return
        try:
            written = written_pages(pid, writable_ranges())
        except OSError:
            return  # it has just ended, or this host hides page maps
        for page in written:
            self._votes[page] = self._votes.get(page, 0) + 1
        self._samples += 1
        if self._samples == SAMPLES:
            needed = (SAMPLES + 1) // 2
            common = [page for page, votes in self._votes.items() if votes >= needed]
            common.sort(key=lambda page: -self._votes[page])
            self.ranges = as_ranges(common[:MAX_PAGES])
            self._votes.clear()

    def copy_ahead(self) -> None:
        """In a spare: copy the learned pages now (errors are only slower starts)."""
        for address, length in self.ranges:
            kernel.populate_write(address, length)
