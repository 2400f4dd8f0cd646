"""Provisioned concurrency: instances started ahead of calls and kept while configured.

An allocation belongs to a function version or alias. Its instances are taken out of the
pool (so they count against the node's instance limit) and never go back while the
configuration exists, so the reaper never closes them. An invocation of that version
uses an idle provisioned instance first, and falls back to on-demand instances when all
of them are busy, as Lambda spills over.

An alias's allocation follows the alias: pointed at another version, it ends the old
version's instances and starts the new one's (IN_PROGRESS until they are ready). A
version is provisioned either by its own configuration or through aliases, never both.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, insert, select

from stratus.errors import (
    InvalidParameterValueException,
    ProvisionedConcurrencyConfigNotFound,
    ResourceConflictException,
)
from stratus.functions.aliases import Alias, AliasService, is_alias_name
from stratus.functions.model import LATEST, FunctionVersion, lambda_timestamp
from stratus.invoke.admission import MIN_UNRESERVED
from stratus.invoke.invoker import Invoker
from stratus.sandbox import Instance, InstanceInitError, InstancePool
from stratus.store.schema import provisioned_concurrency

log = logging.getLogger(__name__)


@dataclass
class Allocation:
    """The provisioned instances of one function qualifier."""

    function_name: str
    qualifier: str
    requested: int
    last_modified: str
    version: str = ""
    status: str = "IN_PROGRESS"
    reason: str | None = None
    instances: list[Instance] = field(default_factory=list)
    idle: list[Instance] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def describe(self) -> dict[str, object]:
        ready = len(self.instances)
        out: dict[str, object] = {
            "RequestedProvisionedConcurrentExecutions": self.requested,
            "AvailableProvisionedConcurrentExecutions": ready,
            "AllocatedProvisionedConcurrentExecutions": ready,
            "Status": self.status,
            "LastModified": self.last_modified,
        }
        if self.reason:
            out["StatusReason"] = self.reason
        return out


class ProvisionedConcurrency:
    """Allocations by (function, qualifier); the invoker's `provisioned` source."""

    def __init__(
        self, engine: Engine, pool: InstancePool, invoker: Invoker, aliases: AliasService
    ) -> None:
        self.engine = engine
        self.pool = pool
        self.invoker = invoker
        self.aliases = aliases
        self.functions = invoker.functions
        self._allocations: dict[tuple[str, str], Allocation] = {}
        self._owner: dict[Instance, Allocation] = {}
        invoker.functions.subscribe(self._function_changed)
        aliases.add_update_guard(self._check_alias_update)
        aliases.subscribe_updated(self._alias_updated)

    async def start(self) -> None:
        rows = await asyncio.to_thread(self._rows)
        for name, qualifier, requested, modified in rows:
            self._allocate(Allocation(name, qualifier, requested, modified))

    def _rows(self) -> list[tuple[str, str, int, str]]:
        with self.engine.connect() as conn:
            return [
                (r.function_name, r.qualifier, r.requested, r.last_modified)
                for r in conn.execute(select(provisioned_concurrency))
            ]

    async def close(self) -> None:
        for allocation in list(self._allocations.values()):
            await self._release(allocation)

    # --- the invoker's source --------------------------------------------------------

    def take(self, fn: FunctionVersion) -> Instance | None:
        for allocation in self._allocations.values():
            if (
                allocation.function_name == fn.name
                and allocation.version == fn.version
                and allocation.idle
            ):
                return allocation.idle.pop()
        return None

    def give_back(self, instance: Instance) -> bool:
        allocation = self._owner.get(instance)
        if allocation is None:
            return False
        if instance.alive:
            allocation.idle.append(instance)
        else:
            allocation.instances.remove(instance)
            del self._owner[instance]
            self._allocate_more(allocation)
        return True

    # --- the API ---------------------------------------------------------------------

    async def put(self, name: str, qualifier: str | None, requested: int) -> Allocation:
        version = self._version_of(name, qualifier)
        assert qualifier is not None
        self._check_overlap(name, qualifier, version)
        self._check_total(name, qualifier, requested)
        previous = self._allocations.get((name, qualifier))
        if previous is not None:
            await self._release(previous)
        allocation = Allocation(name, qualifier, requested, lambda_timestamp(), version)
        await asyncio.to_thread(self._store, allocation)
        self._allocate(allocation)
        return allocation

    def _check_overlap(self, name: str, qualifier: str, version: str) -> None:
        """A version gets provisioned concurrency through its own configuration or
        through the aliases pointing at it, not both; an alias that splits traffic gets
        none (Lambda's rules and words)."""
        if is_alias_name(qualifier):
            if self.aliases.get(name, qualifier).weights:
                raise InvalidParameterValueException(
                    "Alias with weights can not be used with Provisioned Concurrency"
                )
            if (name, version) in self._allocations:
                raise ResourceConflictException(
                    "Alias can't be used for Provisioned Concurrency configuration on an "
                    "already Provisioned version"
                )
        elif any(
            n == name and is_alias_name(q) and a.version == version
            for (n, q), a in self._allocations.items()
        ):
            raise ResourceConflictException("Version is pointed by a Provisioned Concurrency alias")

    def _check_total(self, name: str, qualifier: str, requested: int) -> None:
        """Provisioned concurrency comes out of the function's reserved concurrency, or
        else out of the unreserved pool, which keeps its floor: what every version and
        alias of the function is given counts, and so do other functions'."""
        reserved = self.functions.reserved_concurrency(name)
        own = requested + sum(
            a.requested for (n, q), a in self._allocations.items() if n == name and q != qualifier
        )
        if reserved is not None:
            if own > reserved:
                raise InvalidParameterValueException(
                    f"Requested Provisioned Concurrency should not be greater than the "
                    f"reservedConcurrentExecution for function: {reserved}"
                )
            return
        others = sum(
            a.requested
            for (n, _), a in self._allocations.items()
            if n != name and self.functions.reserved_concurrency(n) is None
        )
        if self.invoker.admission.unreserved_limit - others - own < MIN_UNRESERVED:
            raise InvalidParameterValueException(
                "Specified ConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
            )

    def get(self, name: str, qualifier: str | None) -> Allocation:
        allocation = self._find(name, qualifier)
        if allocation is None:
            raise ProvisionedConcurrencyConfigNotFound(
                "No Provisioned Concurrency Config found for this function"
            )
        return allocation

    def _find(self, name: str, qualifier: str | None) -> Allocation | None:
        """The allocation of an existing version or alias, if it has one."""
        if qualifier is None or qualifier == LATEST:
            self.functions.get(name)
            raise InvalidParameterValueException(
                "The function resource provided must be an alias or a published version."
            )
        if is_alias_name(qualifier):
            self.aliases.qualifying(name, qualifier)
        else:
            self.functions.get(name, qualifier)
        return self._allocations.get((name, qualifier))

    def total(self, name: str) -> int:
        """What every version and alias of the function is given, together (the figure
        `_count` hands admission)."""
        return self.invoker.admission.provisioned.get(name, 0)

    def for_function(self, name: str) -> list[Allocation]:
        self.functions.get(name)
        return [a for (n, _), a in sorted(self._allocations.items()) if n == name]

    async def delete(self, name: str, qualifier: str | None) -> None:
        """Idempotent, as Lambda's: a version or alias without one answers alike."""
        allocation = self._find(name, qualifier)
        if allocation is None:
            return
        await self._release(allocation)
        await asyncio.to_thread(self._unstore, name, allocation.qualifier)

    # --- allocation ------------------------------------------------------------------

    def _version_of(self, name: str, qualifier: str | None) -> str:
        if qualifier is None or qualifier == LATEST:
            raise _unpublished()
        if is_alias_name(qualifier):
            version = self.aliases.get(name, qualifier).function_version
            if version == LATEST:
                raise _unpublished()
            return version
        return self.functions.get(name, qualifier).version

    def _allocate(self, allocation: Allocation) -> None:
        key = (allocation.function_name, allocation.qualifier)
        self._allocations[key] = allocation
        self._count()
        try:
            allocation.version = self._version_of(allocation.function_name, allocation.qualifier)
        except Exception as exc:
            allocation.status, allocation.reason = "FAILED", str(exc)
            return
        self._allocate_more(allocation)

    def _count(self) -> None:
        """Tell admission what each function has provisioned: those slots are held."""
        totals: dict[str, int] = {}
        for (name, _), allocation in self._allocations.items():
            totals[name] = totals.get(name, 0) + allocation.requested
        self.invoker.admission.provisioned = totals

    def _allocate_more(self, allocation: Allocation) -> None:
        if allocation.task is None or allocation.task.done():
            allocation.task = asyncio.ensure_future(self._fill(allocation))

    async def _fill(self, allocation: Allocation) -> None:
        fn = self.functions.get(allocation.function_name, allocation.version)
        spec = self.invoker.spec(fn, initialization="provisioned-concurrency")
        allocation.status = "IN_PROGRESS"
        while len(allocation.instances) < allocation.requested:
            try:
                instance = await self.pool.acquire(spec)
            except InstanceInitError as exc:
                # Lambda's reason; the error itself is in the function's log.
                allocation.status, allocation.reason = "FAILED", "FUNCTION_ERROR_INIT_FAILURE"
                log.info("provisioning %s failed: %s", allocation.function_name, exc.error_type)
                return
            except Exception as exc:
                allocation.status, allocation.reason = "FAILED", str(exc)
                log.warning("provisioning %s failed: %s", allocation.function_name, exc)
                return
            allocation.instances.append(instance)
            allocation.idle.append(instance)
            self._owner[instance] = allocation
        allocation.status, allocation.reason = "READY", None

    async def _release(self, allocation: Allocation) -> None:
        if allocation.task is not None and not allocation.task.done():
            allocation.task.cancel()
        key = (allocation.function_name, allocation.qualifier)
        if self._allocations.get(key) is allocation:  # (a later one may have replaced it)
            del self._allocations[key]
            self._count()
        for instance in allocation.instances:
            self._owner.pop(instance, None)
            if instance in allocation.idle:
                await instance.close()
                self.pool.release(instance)
        allocation.instances.clear()
        allocation.idle.clear()

    def _store(self, allocation: Allocation) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(provisioned_concurrency)
                .where(provisioned_concurrency.c.function_name == allocation.function_name)
                .where(provisioned_concurrency.c.qualifier == allocation.qualifier)
            )
            conn.execute(
                insert(provisioned_concurrency).values(
                    function_name=allocation.function_name,
                    qualifier=allocation.qualifier,
                    requested=allocation.requested,
                    last_modified=allocation.last_modified,
                )
            )

    def _unstore(self, name: str, qualifier: str | None) -> None:
        with self.engine.begin() as conn:
            query = delete(provisioned_concurrency).where(
                provisioned_concurrency.c.function_name == name
            )
            if qualifier is not None:
                query = query.where(provisioned_concurrency.c.qualifier == qualifier)
            conn.execute(query)

    def forget_qualifier(self, name: str, qualifier: str) -> None:
        """A deleted version or alias takes its allocation with it: its instances end
        and a later one of the same name starts without (called from a thread)."""
        self._unstore(name, qualifier)
        allocation = self._allocations.get((name, qualifier))
        loop = self.invoker.loop
        if allocation is None or loop is None:
            return
        loop.call_soon_threadsafe(lambda: self.invoker.spawn(self._release(allocation)))

    def _check_alias_update(self, current: Alias, updated: Alias) -> None:
        """An alias with provisioned concurrency may not move onto a version that has
        its own (called from a thread, before the update is stored)."""
        key = (current.function_name, current.name)
        if key not in self._allocations or updated.function_version == current.function_version:
            return
        if updated.function_version == LATEST:
            raise _unpublished()
        if (current.function_name, updated.function_version) in self._allocations:
            raise ResourceConflictException(
                "Alias can't be used for Provisioned Concurrency configuration on an "
                "already Provisioned version"
            )

    def _alias_updated(self, alias: Alias) -> None:
        """An alias moved to another version takes its allocation along (called from a
        thread, after the update is stored)."""
        loop = self.invoker.loop
        allocation = self._allocations.get((alias.function_name, alias.name))
        if loop is None or allocation is None or allocation.version == alias.function_version:
            return
        loop.call_soon_threadsafe(lambda: self.invoker.spawn(self._move(allocation)))

    async def _move(self, old: Allocation) -> None:
        """Calls through the alias now run its new version: start that version's
        instances and end the old version's."""
        if self._allocations.get((old.function_name, old.qualifier)) is not old:
            return  # deleted, replaced or already moved meanwhile
        self._allocate(
            Allocation(old.function_name, old.qualifier, old.requested, old.last_modified)
        )
        await self._release(old)

    def _function_changed(self, name: str) -> None:
        """A deleted function takes its allocations with it (called from a thread)."""
        if self.functions.exists(name):
            return
        loop = self.invoker.loop
        if loop is None:
            return

        async def drop() -> None:
            for allocation in [a for (n, _), a in self._allocations.items() if n == name]:
                await self._release(allocation)
            await asyncio.to_thread(self._unstore, name, None)

        loop.call_soon_threadsafe(lambda: self.invoker.spawn(drop()))


def _unpublished() -> InvalidParameterValueException:
    return InvalidParameterValueException(
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
    )
