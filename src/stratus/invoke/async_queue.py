"""Asynchronous invocation: a durable queue of accepted events, and the dispatcher.

`Invoke` with `InvocationType=Event` commits the event to the `async_events` table
before it answers 202, so an accepted event survives a crash of the server. The
dispatcher keeps every pending event in a heap ordered by when it may run next; at
start-up it reloads the table, so events that were running when the process died run
again (at least once, as on Lambda). An event leaves the table only once it is finished:
succeeded, or failed for good and handed to its failure destination.

Retries follow Lambda: a function error or timeout is retried up to
`MaximumRetryAttempts` times (default 2) with growing delays; a throttle is not an
attempt - the event waits for a concurrency slot instead. An event older than
`MaximumEventAgeInSeconds`, in the queue or waiting for a slot, goes to its failure
destination.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from stratus.store.schema import async_events

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AsyncEvent:
    """An accepted event waiting to run (or to run again)."""

    id: int
    request_id: str
    function_name: str
    qualifier: str | None
    payload: bytes
    accepted_at: int
    attempts: int
    not_before: int


def now_ms() -> int:
    return int(time.time() * 1000)


class EventQueue:
    """The `async_events` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, request_id: str, name: str, qualifier: str | None, payload: bytes) -> AsyncEvent:
        """Commit an event; once this returns, the event is durable."""
        accepted = now_ms()
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(async_events).values(
                    request_id=request_id,
                    function_name=name,
                    qualifier=qualifier,
                    payload=payload,
                    accepted_at=accepted,
                    attempts=0,
                    not_before=accepted,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
        return AsyncEvent(int(key[0]), request_id, name, qualifier, payload, accepted, 0, accepted)

    def pending(self) -> list[AsyncEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(async_events).order_by(async_events.c.id))
            return [
                AsyncEvent(
                    r.id,
                    r.request_id,
                    r.function_name,
                    r.qualifier,
                    bytes(r.payload),
                    r.accepted_at,
                    r.attempts,
                    r.not_before,
                )
                for r in rows
            ]

    def reschedule(self, event: AsyncEvent) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(async_events)
                .where(async_events.c.id == event.id)
                .values(attempts=event.attempts, not_before=event.not_before)
            )

    def remove(self, event: AsyncEvent) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(async_events).where(async_events.c.id == event.id))


class AsyncDispatcher:
    """Runs queued events when they are due, through a callback that does one attempt.

    `attempt(event)` returns "done" (finished, success or final failure handled),
    "retry" (a function error: count the attempt and back off), or "later" (not an
    attempt, e.g. the function is busy being updated)."""

    def __init__(
        self, queue: EventQueue, attempt: Any, retry_delay: float, max_in_flight: int = 100
    ) -> None:
        self.queue = queue
        self._attempt = attempt
        self.retry_delay = retry_delay
        #: Events of one function running (or waiting for a concurrency slot) at once.
        #: Admission still applies; this keeps a large backlog from starting an instance
        #: per event all at once. It is per function, so that a throttled function's
        #: waiting events never hold up another function's.
        self.max_in_flight = max_in_flight
        self._heap: list[tuple[int, int, AsyncEvent]] = []
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._in_flight: Counter[str] = Counter()
        #: Due events whose function had `max_in_flight` running, oldest first.
        self._held: dict[str, deque[AsyncEvent]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._closing = False

    async def start(self) -> None:
        for event in await asyncio.to_thread(self.queue.pending):
            heapq.heappush(self._heap, (event.not_before, event.id, event))
        self._loop_task = asyncio.create_task(self._loop(), name="async-dispatcher")

    async def close(self) -> None:
        self._closing = True
        if self._loop_task is not None:
            self._loop_task.cancel()
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(
            *self._running,
            *([self._loop_task] if self._loop_task else []),
            return_exceptions=True,
        )

    async def accept(
        self, request_id: str, name: str, qualifier: str | None, payload: bytes
    ) -> None:
        """Commit the event, then schedule it. Returns once the event is durable."""
        event = await asyncio.to_thread(self.queue.put, request_id, name, qualifier, payload)
        heapq.heappush(self._heap, (event.not_before, event.id, event))
        self._wake.set()

    @property
    def backlog(self) -> int:
        return len(self._heap) + len(self._running) + sum(map(len, self._held.values()))

    async def _loop(self) -> None:
        while True:
            now = now_ms()
            while self._heap and self._heap[0][0] <= now:
                _, _, event = heapq.heappop(self._heap)
                if self._in_flight[event.function_name] >= self.max_in_flight:
                    self._held.setdefault(event.function_name, deque()).append(event)
                else:
                    self._start(event)
            self._wake.clear()
            timeout = (self._heap[0][0] - now) / 1000 if self._heap else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _start(self, event: AsyncEvent) -> None:
        name = event.function_name
        self._in_flight[name] += 1
        task = asyncio.create_task(self._run(event))
        self._running.add(task)
        task.add_done_callback(lambda done: self._finished(done, name))

    def _finished(self, task: asyncio.Task[None], name: str) -> None:
        self._running.discard(task)
        self._in_flight[name] -= 1
        if self._in_flight[name] <= 0:
            del self._in_flight[name]
        held = self._held.get(name)
        if held and not self._closing:
            self._start(held.popleft())
            if not held:
                del self._held[name]

    async def _run(self, event: AsyncEvent) -> None:
        try:
            outcome = await self._attempt(event)
        except Exception:
            log.exception("async event %s failed to run; it will be retried", event.request_id)
            outcome = "later"
        if outcome == "done":
            await asyncio.to_thread(self.queue.remove, event)
            return
        attempts = event.attempts + (1 if outcome == "retry" else 0)
        delay = self.retry_delay * (2 ** max(0, attempts - 1)) if outcome == "retry" else 1.0
        again = replace(event, attempts=attempts, not_before=now_ms() + int(delay * 1000))
        await asyncio.to_thread(self.queue.reschedule, again)
        heapq.heappush(self._heap, (again.not_before, again.id, again))
        self._wake.set()


def destination_record(
    event: AsyncEvent,
    function_arn: str,
    condition: str,
    invoke_count: int,
    response: dict[str, Any] | None,
    response_payload: bytes | None,
) -> bytes:
    """The document Lambda sends to an on-success or on-failure destination."""
    try:
        request_payload: Any = json.loads(event.payload) if event.payload else {}
    except ValueError:
        request_payload = event.payload.decode(errors="replace")
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{now_ms() % 1000:03d}Z",
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": request_payload,
    }
    if response is not None:
        record["responseContext"] = response
    if response_payload is not None:
        try:
            record["responsePayload"] = json.loads(response_payload)
        except ValueError:
            record["responsePayload"] = response_payload.decode(errors="replace")
    return json.dumps(record).encode()
