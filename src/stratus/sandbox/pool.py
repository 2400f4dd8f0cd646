"""Warm instance reuse: hand out idle instances of the same spec, start new ones, reap old.

The pool's guarantee is one invocation per instance at a time: an instance is either
idle (in the pool) or acquired (by exactly one caller) until it is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stratus.sandbox.types import CapacityExceeded, Instance, InstanceSpec, Sandbox

log = logging.getLogger(__name__)


@dataclass
class _Idle:
    instance: Instance
    since: float


@dataclass
class _Starting:
    spec: InstanceSpec
    #: Set by retire(): the instance serves the caller that asked for it, then goes.
    retired: bool = False


class InstancePool:
    """Keeps warm instances per spec key, most recently used first, up to a node limit.

    At the limit, an idle instance of another function is closed to make room (least
    recently used first); only when every instance is busy or starting does acquire()
    raise CapacityExceeded.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        max_instances: int,
        idle_timeout: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sandbox = sandbox
        self._max = max_instances
        self._idle_timeout = idle_timeout
        self._clock = clock
        #: Idle instances per spec key; the last one is the most recently used.
        self._idle: dict[tuple[object, ...], list[_Idle]] = {}
        self._busy: set[Instance] = set()
        self._starting: list[_Starting] = []
        #: Busy instances to close instead of reuse when they come back.
        self._retired: set[Instance] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False

    # --- counters -------------------------------------------------------------------

    @property
    def idle_count(self) -> int:
        """Instances waiting in the pool."""
        return sum(len(entries) for entries in self._idle.values())

    @property
    def busy_count(self) -> int:
        """Instances acquired and not yet released."""
        return len(self._busy)

    @property
    def alive_count(self) -> int:
        """Instances counting against the limit: idle, busy and starting."""
        return self.idle_count + len(self._busy) + len(self._starting)

    # --- acquire and release --------------------------------------------------------

    async def acquire(self, spec: InstanceSpec) -> Instance:
        """A warm instance for `spec` if one is idle, else a newly started one."""
        if self._closed:
            raise RuntimeError("the instance pool is closed")
        key = spec.key()
        entries = self._idle.get(key)
        while entries:
            instance = entries.pop().instance
            if not entries:
                del self._idle[key]
            if instance.alive:
                self._busy.add(instance)
                return instance
            self._close_later(instance)
        if self.alive_count >= self._max and not self._evict_one():
            raise CapacityExceeded(f"all {self._max} instances of this node are busy or starting")
        starting = _Starting(spec)
        self._starting.append(starting)
        try:
            instance = await self._sandbox.start(spec)
        finally:
            self._starting.remove(starting)
        if self._closed:
            await instance.close()
            raise RuntimeError("the instance pool is closed")
        self._busy.add(instance)
        if starting.retired:
            self._retired.add(instance)
        return instance

    def release(self, instance: Instance) -> None:
        """Give an acquired instance back: idle if it can serve again, else closed."""
        if instance not in self._busy:
            # A second release would put it in the pool twice: two callers, one instance.
            log.warning("instance %s released but not acquired from this pool", instance.id)
            return
        self._busy.discard(instance)
        retired = instance in self._retired
        self._retired.discard(instance)
        if retired or self._closed or not instance.alive:
            self._close_later(instance)
            return
        entry = _Idle(instance, self._clock())
        self._idle.setdefault(instance.spec.key(), []).append(entry)

    def _evict_one(self) -> bool:
        oldest: tuple[object, ...] | None = None
        for key, entries in self._idle.items():
            if entries and (oldest is None or entries[0].since < self._idle[oldest][0].since):
                oldest = key
        if oldest is None:
            return False
        entries = self._idle[oldest]
        victim = entries.pop(0).instance
        if not entries:
            del self._idle[oldest]
        self._close_later(victim)
        return True

    # --- retiring -------------------------------------------------------------------

    async def retire(self, predicate: Callable[[InstanceSpec], bool]) -> int:
        """Close idle instances whose spec matches; busy or starting ones go when released.

        Returns how many instances were affected.
        """
        doomed: list[Instance] = []
        for key in list(self._idle):
            entries = self._idle[key]
            keep = [entry for entry in entries if not predicate(entry.instance.spec)]
            doomed.extend(entry.instance for entry in entries if predicate(entry.instance.spec))
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]
        busy = [instance for instance in self._busy if predicate(instance.spec)]
        self._retired.update(busy)
        starting = [entry for entry in self._starting if predicate(entry.spec)]
        for entry in starting:
            entry.retired = True
        await asyncio.gather(*(self._close(instance) for instance in doomed))
        return len(doomed) + len(busy) + len(starting)

    def prepare(self, spec: InstanceSpec, replaces: Callable[[InstanceSpec], bool]) -> None:
        """A function revision has been deployed (`Sandbox.prepare`)."""
        if not self._closed:
            self._sandbox.prepare(spec, replaces)

    async def retire_code(self, code_dir: Path) -> int:
        """Retire every instance running the code unpacked in `code_dir`."""
        target = str(code_dir)
        return await self.retire(lambda spec: str(spec.code_dir) == target)

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start the reaper that closes instances idle longer than idle_timeout."""
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def close(self) -> None:
        """Stop reaping and close every instance, idle or busy."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        instances = [entry.instance for entries in self._idle.values() for entry in entries]
        instances.extend(self._busy)
        self._idle.clear()
        self._busy.clear()
        self._retired.clear()
        await asyncio.gather(*(self._close(instance) for instance in instances))
        while self._closing:
            await asyncio.gather(*list(self._closing))

    async def reap_idle(self) -> int:
        """Close instances idle for longer than idle_timeout now; how many were closed."""
        deadline = self._clock() - self._idle_timeout
        expired: list[Instance] = []
        for key in list(self._idle):
            entries = self._idle[key]
            # Entries are in release order, so the expired ones are at the front.
            cut = 0
            while cut < len(entries) and entries[cut].since <= deadline:
                cut += 1
            expired.extend(entry.instance for entry in entries[:cut])
            if cut == len(entries):
                del self._idle[key]
            elif cut:
                del entries[:cut]
        await asyncio.gather(*(self._close(instance) for instance in expired))
        return len(expired)

    async def _reap_forever(self) -> None:
        interval = min(max(self._idle_timeout / 4, 0.05), 5.0)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reap_idle()
            except Exception:
                log.exception("reaping idle instances failed; trying again")

    async def _close(self, instance: Instance) -> None:
        try:
            await instance.close()
        except Exception:
            log.exception("closing instance %s failed", instance.id)

    def _close_later(self, instance: Instance) -> None:
        task = asyncio.get_running_loop().create_task(self._close(instance))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
