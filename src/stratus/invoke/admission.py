"""Concurrency admission: the account limit, reserved concurrency, and throttling.

An invocation holds one slot while it runs. A function with reserved concurrency R has
R slots of its own; all other functions share the unreserved pool (the account limit
minus every reservation). Synchronous calls that find no slot are refused at once with
429 and the reason Lambda gives; asynchronous events wait for a slot instead, until
they expire (their MaximumEventAgeInSeconds).

Provisioned concurrency holds its slots for good, as Lambda counts it: a function's
provisioned instances take that many of its reserved slots, or of the unreserved pool,
and a call they serve takes no further slot. So a reservation that provisioned
concurrency fills leaves `$LATEST` none.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping

from stratus.errors import InvalidParameterValueException, TooManyRequestsException

#: The unreserved pool never goes below this many slots (Lambda's rule).
MIN_UNRESERVED = 100
#: Seconds a throttled caller is told to wait.
RETRY_AFTER_SECONDS = 1


class SlotWaitExpired(Exception):
    """An asynchronous event waited for a concurrency slot until it expired."""


class Admission:
    """Counts invocations in flight, per function and in the unreserved pool."""

    def __init__(self, limit: int, reserved: Callable[[], Mapping[str, int]]) -> None:
        self.limit = limit
        #: Current reservations by function name (read from the function service).
        self._reserved = reserved
        #: Provisioned concurrency configured, by function (set by the provisioned
        #: service, which replaces the mapping whenever a configuration changes).
        self.provisioned: Mapping[str, int] = {}
        self._running: Counter[str] = Counter()
        self._unreserved_running = 0
        #: Async events waiting for a slot, by function, oldest first.
        self._waiters: dict[str, deque[asyncio.Future[None]]] = {}

    @property
    def unreserved_limit(self) -> int:
        return self._unreserved_limit(self._reserved())

    def _unreserved_limit(self, reservations: Mapping[str, int]) -> int:
        return self.limit - sum(reservations.values())

    def in_flight(self, name: str | None = None) -> int:
        return self._running[name] if name else sum(self._running.values())

    def check_reservation(self, name: str, value: int) -> None:
        """Refuse a reservation that would shrink the unreserved pool below its floor."""
        others = sum(v for n, v in self._reserved().items() if n != name)
        if self.limit - others - value < MIN_UNRESERVED:
            raise InvalidParameterValueException(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
            )

    # --- slots -----------------------------------------------------------------------

    def _try_enter(self, name: str) -> tuple[str | None, bool]:
        """Take a slot: (None, whether it came from the unreserved pool), or the
        throttle reason. The pool is remembered per slot so that a reservation changing
        while calls run cannot skew the counts."""
        reservations = self._reserved()
        reserved = reservations.get(name)
        pooled = reserved is None
        provisioned = self.provisioned
        if reserved is not None:
            if self._running[name] >= reserved - provisioned.get(name, 0):
                return "ReservedFunctionConcurrentInvocationLimitExceeded", pooled
        else:
            limit = self._unreserved_limit(reservations)
            if provisioned:
                limit -= sum(v for n, v in provisioned.items() if n not in reservations)
            if self._unreserved_running >= limit:
                return "ConcurrentInvocationLimitExceeded", pooled
        if pooled:
            self._unreserved_running += 1
        self._running[name] += 1
        return None, pooled

    def leave(self, name: str, pooled: bool) -> None:
        """Give back a slot (taken with `enter`, or by `slot_when_free`)."""
        self._running[name] -= 1
        if self._running[name] <= 0:
            del self._running[name]
        if pooled:
            self._unreserved_running -= 1
        self._wake(name, pooled)

    def _wake(self, name: str, pooled: bool) -> None:
        """Wake one waiter that the freed slot can serve: one of the same function, or,
        for a slot of the unreserved pool, one of any function without a reservation."""
        if not self._waiters:
            return
        candidates = [name]
        if pooled:
            reserved = self._reserved()
            candidates += [n for n in self._waiters if n != name and n not in reserved]
        for candidate in candidates:
            queue = self._waiters.get(candidate)
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return

    def enter(self, name: str) -> bool:
        """Take a slot for a synchronous call, or raise 429 TooManyRequestsException.
        Returns whether the slot is the unreserved pool's, for `leave`.

        Plain calls rather than an async context manager: the invoke path takes a slot
        per call, and a generator-based context manager cost several times as much.
        """
        reason, pooled = self._try_enter(name)
        if reason is not None:
            raise TooManyRequestsException(
                "Rate Exceeded.",
                Reason=reason,
                Type="User",
                retryAfterSeconds=str(RETRY_AFTER_SECONDS),
            )
        return pooled

    async def slot_when_free(self, name: str, until: float) -> bool:
        """Take a slot for an asynchronous event, waiting for one rather than refusing,
        until the wall-clock time `until` (the event's expiry): then `SlotWaitExpired`.
        Returns whether the slot is the unreserved pool's, for `leave`."""
        while True:
            reason, pooled = self._try_enter(name)
            if reason is None:
                return pooled
            left = until - time.time()
            if left <= 0:
                raise SlotWaitExpired(reason)
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(name, deque()).append(waiter)
            # A reservation may change without any slot being freed: look again soon.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout=min(1.0, left))
            queue = self._waiters.get(name)
            if queue is not None and not queue:
                del self._waiters[name]
