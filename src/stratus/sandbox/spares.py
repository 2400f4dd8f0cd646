"""Spare instances: forked from a zygote ahead of need, each waiting for its function.

A spare's namespaces, cgroups and the common part of its root are ready; the frame that
`IsolatedSandbox.start` sends on its control socket says which function it is
(nursery.py, instance_setup.py). Forking is most of a start's cost, so a few are kept
per zygote and a cold start takes one, when its function has network (the spares have).

How many is a setting (`STRATUS_SPARES`, two by default): a pool as large as the bursts
a node must absorb turns each of their cold starts into finishing a spare (the way
stem-cell containers or pre-booted micro-VMs serve bursts elsewhere), for about 1 MB a
spare. The pool is refilled as it is used, but not while a burst is still taking from
it: forking spares nobody needs yet would take CPU from the cold starts under way.
Only the last few (`URGENT`) are forked again at once, as a burst that outgrows the
pool will need them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid

from stratus.sandbox.cgroups import CgroupTree, InstanceCgroup
from stratus.sandbox.zygote import ZygoteChild, ZygoteError, ZygoteProcess

log = logging.getLogger(__name__)

#: Below this many spares, a zygote's pool is refilled at once.
URGENT = 2
#: Above it, refilling waits until no spare has been taken for this many seconds.
QUIET_SECONDS = 1.0


class Spare:
    """An instance forked from a zygote that has not been told its function yet."""

    def __init__(
        self,
        instance_id: str,
        child: ZygoteChild,
        sock: socket.socket,
        log_read: int,
        cgroup: InstanceCgroup | None,
    ) -> None:
        self.instance_id = instance_id
        self.child = child
        self.sock = sock
        self.log_read = log_read
        self.cgroup = cgroup

    def discard(self) -> None:
        """End it (its zygote reports the exit and removes its cgroup)."""
        self.child.kill_group()
        self.sock.close()
        os.close(self.log_read)


class Spares:
    """Up to `count` spares per zygote, forked again in the background as they are taken."""

    def __init__(self, cgroups: CgroupTree | None, count: int) -> None:
        self.cgroups = cgroups
        self.count = count
        #: The memory size whose cgroup limits new spares write ahead: the last
        #: function's that took one (a function of another size writes its own).
        self.memory_mb = 128
        self._kept: dict[ZygoteProcess, list[Spare]] = {}
        self._refilling: dict[ZygoteProcess, asyncio.Task[None]] = {}
        #: When a spare of each zygote was last taken (time.monotonic()).
        self._taken_at: dict[ZygoteProcess, float] = {}

    async def fork(self, zygote: ZygoteProcess, network: bool, ahead: bool = False) -> Spare:
        """A new instance that has not been told its function yet; `ahead`: one kept for
        later, which has time to copy the pages instances write (`prefault.py`)."""
        instance_id = uuid.uuid4().hex
        cgroup = self.cgroups.instance(instance_id) if self.cgroups is not None else None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        log_read, log_write = os.pipe()
        request = {
            "net": network,
            "cgroups": cgroup.plan if cgroup else [],
            "limits": cgroup.limits(self.memory_mb) if cgroup else [],
            "ahead": ahead,
        }
        try:
            child = await zygote.spawn(request, [theirs.fileno(), log_write], cgroup)
        except BaseException:
            ours.close()
            os.close(log_read)
            if cgroup is not None:
                cgroup.remove()
            raise
        finally:
            theirs.close()
            os.close(log_write)
        return Spare(instance_id, child, ours, log_read, cgroup)

    def take(self, zygote: ZygoteProcess) -> Spare | None:
        """A live spare of `zygote`, if one is kept."""
        spares = self._kept.get(zygote, [])
        self._taken_at[zygote] = time.monotonic()
        while spares:
            spare = spares.pop()
            if spare.child.returncode is None:
                return spare
            spare.discard()
        return None

    def refill(self, zygote: ZygoteProcess) -> None:
        """Fork spares for `zygote` in the background, up to the count kept: the last
        `URGENT` at once, the others once spares have not been taken for a while."""
        spares = self._kept.setdefault(zygote, [])
        if len(spares) >= self.count or zygote in self._refilling:
            return

        async def refill() -> None:
            try:
                while len(spares) < self.count and zygote.alive:
                    wait = self._taken_at.get(zygote, 0.0) + QUIET_SECONDS - time.monotonic()
                    if len(spares) >= URGENT and wait > 0:
                        await asyncio.sleep(wait)
                        continue
                    spares.append(await self.fork(zygote, True, ahead=True))
            except ZygoteError as e:
                log.info("could not fork a spare instance: %s", e)
            finally:
                del self._refilling[zygote]

        self._refilling[zygote] = asyncio.get_running_loop().create_task(refill())

    def waiting(self) -> list[Spare]:
        """Every spare kept."""
        return [spare for kept in self._kept.values() for spare in kept]

    def forget(self, zygote: ZygoteProcess) -> None:
        """End the spares of a zygote that died (they died with it)."""
        self._taken_at.pop(zygote, None)
        for spare in self._kept.pop(zygote, []):
            spare.discard()

    async def close(self) -> None:
        """End every spare, and wait (up to 5 s) until their zygotes have reaped them."""
        for task in list(self._refilling.values()):
            task.cancel()
        spares = self.waiting()
        self._kept.clear()
        for spare in spares:
            spare.discard()
        if spares:  # their zygote reaps them and removes their cgroups
            await asyncio.wait([asyncio.ensure_future(s.child.wait()) for s in spares], timeout=5)
