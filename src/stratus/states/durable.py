"""Durable histories: events committed before the next step acts, replayed after a crash.

Every Standard execution records into a `DurableHistory`, which keeps its events in a
list until the node's one `HistoryWriter` takes them. The writer commits what every
execution has recorded since its last transaction in one transaction (group commit),
each execution's new events as one row: an execution waits for the commit of its own
events, but two hundred executions share one fsync, and a chain of fifty Pass states
is one row, not a hundred.

After a restart an execution runs again from its start with its committed events
loaded. Each event has a key that the interpreter reproduces exactly (its frame path
and its place in that frame), so re-running meets the same keys: `record` answers the
committed event instead of writing a new one, a Task whose end was committed returns
that result instead of running again, and Wait states wait only for what is left.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from stratus.states.asl.errors import RUNTIME, StatesError
from stratus.states.asl.history import HistoryEvent, state_details
from stratus.states.asl.paths import json_text
from stratus.states.asl.runtime import FRAME_PATH
from stratus.states.callbacks import make_token
from stratus.store.database import driver_mark
from stratus.store.states_schema import execution_history, executions

log = logging.getLogger(__name__)

#: Step Functions' limit on one execution's history.
MAX_EVENTS = 25_000

#: One event as a history keeps it until it is written, and as `execution_history`
#: stores it: key, type, time (microseconds since the epoch: an integer is exact, and
#: cheaper to encode than a float), then its details, or for a state's entered or exited
#: event the state's name and data. Both are encoded only then, in the writer's thread
#: (the History contract says neither changes after it is given), the data as JSON
#: within the row's JSON: its JSON text, made on the event loop for each event and
#: escaped again inside a details object, was with that object a third of what a
#: durable transition cost. Reading makes the text (`state_details`).
Event = tuple[str, str, int, Mapping[str, Any] | None] | tuple[str, str, int, str, Any]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Built once: json.dumps() with options constructs a new encoder on every call. ASCII
# output, so a lone surrogate in some input is escaped rather than refused by SQLite.
# Details are built by the interpreter and never hold themselves: checking every list
# and object for cycles cost a fifth of the encoding.
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


@dataclass
class _Batch:
    """What one transaction of the writer commits."""

    executions: list[dict[str, Any]] = field(default_factory=list)
    #: Histories that recorded events since the transaction before.
    histories: list[DurableHistory] = field(default_factory=list)
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    #: ARNs of new executions whose name was taken already (set by the write).
    refused: set[str] = field(default_factory=set)

    def size(self) -> int:
        """How many things there are to write (0: nothing)."""
        return len(self.executions) + len(self.histories) + len(self.updates)


class HistoryWriter:
    """Commits the events and status changes of all executions, in batches."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._batch = _Batch()
        #: The batch being written, if any.
        self._writing: _Batch | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        # The writes go through the driver itself (see _write), so in its own syntax.
        self._mark = driver_mark(engine)
        self._insert_events = (
            f"INSERT INTO {execution_history.name} (execution_id, first_id, events) "
            f"VALUES ({self._mark}, {self._mark}, {self._mark})"
        )

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def add(self, history: DurableHistory) -> None:
        """`history` has events to write (called at its first since the last take)."""
        self._batch.histories.append(history)

    async def insert_execution(self, row: dict[str, Any]) -> bool:
        """Commit a new `executions` row (before any event of its batch); False, and
        nothing written, if an execution with its ARN exists already."""
        batch = self._batch
        batch.executions.append(row)
        await self.flush()
        return row["arn"] not in batch.refused

    def set_status(self, arn: str, values: dict[str, Any]) -> None:
        self._batch.updates.append((arn, values))

    async def flush(self) -> None:
        """Return once everything added so far is committed."""
        batch = self._batch
        if not batch.size():
            # Nothing new: what the batch being written holds may still be on its way.
            if self._writing is None:
                return
            batch = self._writing
        elif self._task is None or self._wake is None:
            # Not running (start-up, tests): commit inline.
            self._batch = _Batch()
            await asyncio.to_thread(self._write, batch, [h.take() for h in batch.histories])
            return
        else:
            self._wake.set()
        waiter = asyncio.get_running_loop().create_future()
        batch.waiters.append(waiter)
        await waiter

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            # Let every execution that is ready to record do so first: one bigger
            # transaction costs about what a small one does.
            size = -1
            while size != self._batch.size() + len(self._batch.waiters):
                size = self._batch.size() + len(self._batch.waiters)
                await asyncio.sleep(0)
            batch, self._batch = self._batch, _Batch()
            self._writing = batch
            try:
                await self._commit(batch)
            finally:
                self._writing = None

    async def _commit(self, batch: _Batch) -> None:
        # Taken here, on the event loop: a history records on it too.
        chunks = [history.take() for history in batch.histories]
        failure: Exception | None = None
        if batch.size():
            try:
                await asyncio.to_thread(self._write, batch, chunks)
            except Exception as e:
                log.exception("committing execution history failed")
                failure = e
        for waiter in batch.waiters:
            if waiter.done():
                continue
            if failure is not None:
                waiter.set_exception(failure)
            else:
                waiter.set_result(None)

    def _write(self, batch: _Batch, chunks: list[tuple[int, int, list[Event]]]) -> None:
        with self.engine.begin() as conn:
            # The driver's own calls: SQLAlchemy's per-statement and per-row handling
            # cost several times the statements themselves, on a thread sharing the GIL.
            cursor = conn.connection.cursor()
            try:
                for row in batch.executions:
                    cursor.execute(_insert_execution(tuple(row), self._mark), tuple(row.values()))
                    if cursor.rowcount != 1:
                        batch.refused.add(row["arn"])
                if chunks:
                    cursor.executemany(
                        self._insert_events,
                        [
                            (execution, first, _encode(events))
                            for execution, first, events in chunks
                        ],
                    )
                for arn, values in batch.updates:
                    cursor.execute(
                        _update_execution(tuple(values), self._mark), (*values.values(), arn)
                    )
            finally:
                cursor.close()


@functools.cache
def _insert_execution(columns: tuple[str, ...], mark: str) -> str:
    """The INSERT of a new execution's row that skips it if its ARN is taken."""
    return (
        f"INSERT INTO {executions.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join(mark for _ in columns)}) ON CONFLICT (arn) DO NOTHING"
    )


@functools.cache
def _update_execution(columns: tuple[str, ...], mark: str) -> str:
    """The UPDATE of these columns of the execution with a given ARN."""
    assignments = ", ".join(f"{column} = {mark}" for column in columns)
    return f"UPDATE {executions.name} SET {assignments} WHERE arn = {mark}"


class DurableHistory:
    """One Standard execution's history: committed in batches, replayable."""

    detailed = True
    durable = True

    def __init__(
        self,
        execution_id: int,
        writer: HistoryWriter,
        past: list[tuple[str, HistoryEvent]] | None = None,
        execution_arn: str = "",
    ) -> None:
        self.execution_id = execution_id
        self.execution_arn = execution_arn
        self.writer = writer
        self._past = replayable(past or [])
        self._positions: dict[str, int] = {}
        self._times: dict[int, dt.datetime] = {}
        self.count = max((event.id for _, event in past or ()), default=0)
        #: Recorded since the writer last took them.
        self._unwritten: list[Event] = []

    def _next_key(self) -> str:
        """The key the next event of the current frame gets."""
        path = FRAME_PATH.get()
        return event_key(path, self._positions.get(path, 0))

    def record(self, event_type: str, details: Mapping[str, Any] | None = None) -> int:
        key = self._take_key()
        if self._past and key in self._past:
            return self._meet(key)
        # The execution's own end goes past the limit: it is how reaching it is told.
        limited = not event_type.startswith("Execution")
        return self._append((key, event_type, _now(), details or None), limited=limited)

    def record_state(self, event_type: str, name: str, data: Any) -> int:
        key = self._take_key()
        if self._past and key in self._past:
            return self._meet(key)
        return self._append((key, event_type, _now(), name, data))

    def _take_key(self) -> str:
        """The key of the next event of the current frame, which the caller records."""
        path = FRAME_PATH.get()
        position = self._positions.get(path, 0)
        self._positions[path] = position + 1
        return event_key(path, position)

    def _meet(self, key: str) -> int:
        """While replaying: the id of the committed event with `key` (nothing is written)."""
        past = self._past.pop(key)
        self._times[past.id] = past.timestamp
        return past.id

    def _append(self, event: Event, *, limited: bool = True) -> int:
        """Queue `event` for the writer; its id."""
        if limited and self.count >= MAX_EVENTS:
            raise StatesError(
                RUNTIME,
                f"The execution reached the maximum number of history events ({MAX_EVENTS}).",
            )
        self.count += 1
        if not self._unwritten:
            self.writer.add(self)
        self._unwritten.append(event)
        return self.count

    def take(self) -> tuple[int, int, list[Event]]:
        """For the writer: the events recorded since the last take, as the execution's
        row id, the id of the first of them, and the events."""
        events, self._unwritten = self._unwritten, []
        return self.execution_id, self.count - len(events) + 1, events

    async def commit(self) -> None:
        await self.writer.flush()

    def next_token(self) -> str:
        """A task token for the task whose events come next in the current frame: the
        same in every run, so a task run again after a restart waits for it again."""
        return make_token(self.execution_arn, self._next_key())

    def redriven(self, redrive_count: int) -> None:
        """Record that the execution was redriven (outside every frame: no run meets it)."""
        details = {"redriveCount": redrive_count}
        event = (f"redrive#{redrive_count}", "ExecutionRedriven", _now(), details)
        self._append(event, limited=False)  # the API's doing, not the run's

    def replayed(self) -> HistoryEvent | None:
        if not self._past:
            return None
        return self._past.get(self._next_key())

    def time_of(self, event_id: int) -> dt.datetime | None:
        return self._times.pop(event_id, None)


_KEY_SEPARATOR = "#"


def event_key(path: str, position: int) -> str:
    """An event's replay key: its frame's path and its place in that frame."""
    return f"{path}{_KEY_SEPARATOR}{position}"


#: Events that end a piece of a frame's work for good: what comes after the last of them
#: in a frame is what a redrive runs again.
_COMPLETE = ("StateExited", "MapIterationSucceeded")
#: Events outside the interpreter's frames: never met again by a run.
_OUTSIDE = ("ExecutionStarted", "ExecutionRedriven")


def replayable(past: list[tuple[str, HistoryEvent]]) -> dict[str, HistoryEvent]:
    """The committed events a run meets again, by key, from the whole history in order.

    A redrive (an `ExecutionRedriven` event) retires, in every frame, what came after the
    frame's last completed state: the state that failed, its attempts and the failure
    events, and the execution's own end. A run after the redrive meets what succeeded
    and runs the rest again; its new events reuse the retired keys and, coming later,
    replace them here.
    """
    kept: dict[str, HistoryEvent] = {}
    for key, event in past:
        if event.type == "ExecutionRedriven":
            _retire_failed_segments(kept)
            continue
        kept[key] = event
    return kept


def _retire_failed_segments(kept: dict[str, HistoryEvent]) -> None:
    frames: dict[str, list[tuple[int, str, HistoryEvent]]] = {}
    for key, event in kept.items():
        path, _, position = key.rpartition(_KEY_SEPARATOR)
        frames.setdefault(path, []).append((int(position), key, event))
    for events in frames.values():
        events.sort()
        done = max(
            (i for i, (_, _, e) in enumerate(events) if e.type.endswith(_COMPLETE)), default=-1
        )
        for _, key, event in events[done + 1 :]:
            if event.type not in _OUTSIDE:
                del kept[key]


def events_from_rows(rows: Iterable[Any]) -> list[tuple[str, HistoryEvent]]:
    """(key, event) for every event in `execution_history` rows taken in order."""
    events = []
    for row in rows:
        event_id = row.first_id
        for key, event_type, micros, *rest in json.loads(row.events):
            if len(rest) == 2:  # a state's name and data
                details = state_details(event_type, rest[0], json_text(rest[1]))
            else:
                details = rest[0] or {}
            moment = _EPOCH + dt.timedelta(microseconds=micros)
            events.append((key, HistoryEvent(event_id, event_type, moment, event_id - 1, details)))
            event_id += 1
    return events


def _now() -> int:
    """An event's time: microseconds since the epoch."""
    return time.time_ns() // 1000
