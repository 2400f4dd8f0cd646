"""Log groups, streams and events (the CloudWatch Logs model) in the metadata store.

Writes are buffered and committed by one writer thread every `flush_interval`, so the
invoke path only appends finished rows to a list. Every read flushes first, so a caller
always reads what was appended before its call. Log lines are not "acknowledged" data in
the durability sense; a crash loses at most the last interval of them.

The writer shares the GIL with the event loop, so it inserts a batch with a few
multi-row INSERT statements rather than the driver's executemany: SQLite's sqlite3
module releases the GIL for each statement it steps, and one step per row meant one
GIL hand-over per row, each stalling the event loop. A statement of many rows binds in
C, then runs without the GIL. (Rejected: one statement over `json_each` of the batch as
JSON text; SQLite's JSON functions cut a message at its first NUL character.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

from sqlalchemy import Engine, and_, delete, insert, select

from stratus.errors import ResourceConflictException, ResourceNotFoundException
from stratus.store.database import driver_mark
from stratus.store.schema import log_events, log_groups, log_streams

log = logging.getLogger(__name__)

#: CloudWatch's largest event; longer messages are cut.
MAX_EVENT_BYTES = 256 * 1024
#: Characters that fit in MAX_EVENT_BYTES whatever they are (UTF-8 takes at most 4 each).
_SURELY_FITS = MAX_EVENT_BYTES // 4
#: Most rows in one INSERT (5 parameters each: under SQLite's oldest limit of 999).
_MAX_ROWS = 128


@dataclass(frozen=True)
class LogEvent:
    """One stored event."""

    id: int
    log_group: str
    log_stream: str
    timestamp: int
    ingestion_time: int
    message: str


@dataclass(frozen=True)
class LogStream:
    log_group: str
    name: str
    created_at: int
    first_event_at: int | None
    last_event_at: int | None
    last_ingestion_at: int | None


@dataclass(frozen=True)
class LogGroup:
    name: str
    created_at: int
    retention_days: int | None


def now_ms() -> int:
    return int(time.time() * 1000)


class LogStore:
    """Buffered writer and reader of log events."""

    def __init__(self, engine: Engine, flush_interval: float = 0.2) -> None:
        self.engine = engine
        self.flush_interval = flush_interval
        #: Rows waiting for the writer: (group, stream, timestamp, ingestion time, message).
        self._pending: list[tuple[str, str, int, int, str]] = []
        #: Per stream of the pending rows: (first timestamp, last timestamp, ingestion).
        self._spans: dict[tuple[str, str], tuple[int, int, int]] = {}
        self._pending_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._known_streams: set[tuple[str, str]] = set()
        self._known_groups: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._mark = driver_mark(engine)
        self._sql = {
            key: statement.replace("?", self._mark)
            for key, statement in (
                ("group", "INSERT INTO log_groups (name, created_at) VALUES (?, ?)"),
                (
                    "stream",
                    "INSERT INTO log_streams (log_group, name, created_at) VALUES (?, ?, ?)",
                ),
                (
                    "span",
                    "UPDATE log_streams SET first_event_at = COALESCE(first_event_at, ?),"
                    " last_event_at = CASE WHEN last_event_at IS NULL OR last_event_at < ?"
                    " THEN ? ELSE last_event_at END, last_ingestion_at = ?"
                    " WHERE log_group = ? AND name = ?",
                ),
            )
        }
        #: Multi-row INSERTs of log events by their number of rows (powers of two).
        self._inserts: dict[int, str] = {}
        with engine.connect() as conn:
            self._known_groups.update(r.name for r in conn.execute(select(log_groups.c.name)))
            self._known_streams.update(
                (r.log_group, r.name)
                for r in conn.execute(select(log_streams.c.log_group, log_streams.c.name))
            )
        self._thread.start()

    # --- writing ---------------------------------------------------------------------

    def append(self, group: str, stream: str, events: Iterable[tuple[int, str]]) -> None:
        """Queue events (timestamp ms, message) for a stream, creating it if needed."""
        ingested = now_ms()
        rows = [(group, stream, ts, ingested, _cut(message)) for ts, message in events]
        if rows:
            stamps = [row[2] for row in rows]
            self._queue((group, stream), rows, min(stamps), max(stamps), ingested)

    def append_lines(self, group: str, stream: str, timestamp: int, lines: Iterable[str]) -> None:
        """Queue lines that share one timestamp (an invocation's) for a stream."""
        rows = [(group, stream, timestamp, timestamp, _cut(line)) for line in lines]
        if rows:
            self._queue((group, stream), rows, timestamp, timestamp, timestamp)

    def _queue(
        self,
        key: tuple[str, str],
        rows: list[tuple[str, str, int, int, str]],
        first: int,
        last: int,
        ingested: int,
    ) -> None:
        with self._pending_lock:
            self._pending += rows
            span = self._spans.get(key)
            if span is not None:
                first, last = min(first, span[0]), max(last, span[1])
                ingested = max(ingested, span[2])
            self._spans[key] = (first, last, ingested)

    def flush(self) -> None:
        """Commit everything appended so far."""
        with self._write_lock:
            with self._pending_lock:
                rows, self._pending = self._pending, []
                spans, self._spans = self._spans, {}
            if rows:
                self._write(rows, spans)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            try:
                self.flush()
            except Exception:
                log.exception("writing log events failed; will retry")

    def _write(
        self,
        rows: Sequence[tuple[str, str, int, int, str]],
        spans: dict[tuple[str, str], tuple[int, int, int]],
    ) -> None:
        # The driver's own cursor throughout: SQLAlchemy's per-statement work cost more
        # than the statements themselves (a burst of new instances means as many new
        # streams), on a thread that shares the GIL with the event loop.
        created = now_ms()
        groups = sorted({g for g, _ in spans} - self._known_groups)
        streams = sorted(set(spans) - self._known_streams)
        with self.engine.begin() as conn:
            cursor = conn.connection.cursor()
            try:
                if groups:
                    cursor.executemany(self._sql["group"], [(g, created) for g in groups])
                if streams:
                    cursor.executemany(self._sql["stream"], [(g, s, created) for g, s in streams])
                start = 0
                while start < len(rows):
                    size = _chunk(len(rows) - start)
                    end = start + size
                    cursor.execute(self._insert(size), list(chain.from_iterable(rows[start:end])))
                    start = end
                cursor.executemany(
                    self._sql["span"],
                    [(lo, hi, hi, ing, g, s) for (g, s), (lo, hi, ing) in spans.items()],
                )
            finally:
                cursor.close()
        self._known_groups.update(groups)
        self._known_streams.update(streams)

    def _insert(self, size: int) -> str:
        statement = self._inserts.get(size)
        if statement is None:
            marks = ", ".join([self._mark] * 5)
            statement = self._inserts[size] = (
                "INSERT INTO log_events (log_group, log_stream, timestamp, ingestion_time,"
                " message) VALUES " + ", ".join([f"({marks})"] * size)
            )
        return statement

    # --- groups and streams ----------------------------------------------------------

    def create_group(self, name: str) -> None:
        self.flush()
        with self.engine.begin() as conn:
            if conn.execute(select(log_groups.c.name).where(log_groups.c.name == name)).first():
                raise ResourceConflictException("The specified log group already exists")
            conn.execute(insert(log_groups).values(name=name, created_at=now_ms()))
        self._known_groups.add(name)

    def create_stream(self, group: str, name: str) -> None:
        self.require_group(group)
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(log_streams.c.name).where(
                    and_(log_streams.c.log_group == group, log_streams.c.name == name)
                )
            ).first()
            if exists:
                raise ResourceConflictException("The specified log stream already exists")
            conn.execute(
                insert(log_streams).values(log_group=group, name=name, created_at=now_ms())
            )
        self._known_streams.add((group, name))

    def delete_group(self, name: str) -> None:
        self.require_group(name)
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(delete(log_events).where(log_events.c.log_group == name))
            conn.execute(delete(log_streams).where(log_streams.c.log_group == name))
            conn.execute(delete(log_groups).where(log_groups.c.name == name))
        self._known_groups.discard(name)
        self._known_streams = {k for k in self._known_streams if k[0] != name}

    def require_group(self, name: str) -> None:
        self.flush()
        if name not in self._known_groups:
            raise ResourceNotFoundException("The specified log group does not exist.")

    def groups(self, prefix: str | None) -> list[LogGroup]:
        self.flush()
        query = select(log_groups).order_by(log_groups.c.name)
        if prefix:
            query = query.where(log_groups.c.name.startswith(prefix, autoescape=True))
        with self.engine.connect() as conn:
            return [LogGroup(r.name, r.created_at, r.retention_days) for r in conn.execute(query)]

    def streams(self, group: str, prefix: str | None) -> list[LogStream]:
        self.require_group(group)
        query = select(log_streams).where(log_streams.c.log_group == group)
        if prefix:
            query = query.where(log_streams.c.name.startswith(prefix, autoescape=True))
        with self.engine.connect() as conn:
            return [
                LogStream(
                    r.log_group,
                    r.name,
                    r.created_at,
                    r.first_event_at,
                    r.last_event_at,
                    r.last_ingestion_at,
                )
                for r in conn.execute(query)
            ]

    # --- events ----------------------------------------------------------------------

    def events(
        self,
        group: str,
        streams: Sequence[str] | None = None,
        stream_prefix: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        after_id: int | None = None,
        before_id: int | None = None,
        limit: int = 10000,
        newest_first: bool = False,
    ) -> list[LogEvent]:
        """Events of a group in the order they were ingested (id order)."""
        self.require_group(group)
        query = select(log_events).where(log_events.c.log_group == group)
        if streams:
            query = query.where(log_events.c.log_stream.in_(list(streams)))
        if stream_prefix:
            query = query.where(log_events.c.log_stream.startswith(stream_prefix, autoescape=True))
        if start_time is not None:
            query = query.where(log_events.c.timestamp >= start_time)
        if end_time is not None:
            query = query.where(log_events.c.timestamp < end_time)
        if after_id is not None:
            query = query.where(log_events.c.id > after_id)
        if before_id is not None:
            query = query.where(log_events.c.id < before_id)
        order = log_events.c.id.desc() if newest_first else log_events.c.id
        query = query.order_by(order).limit(limit)
        with self.engine.connect() as conn:
            rows = [
                LogEvent(r.id, r.log_group, r.log_stream, r.timestamp, r.ingestion_time, r.message)
                for r in conn.execute(query)
            ]
        return rows


def _chunk(remaining: int) -> int:
    """Rows in the next INSERT: at most `_MAX_ROWS`, else the largest power of two that
    fits, so a handful of statements (each prepared once) covers any batch."""
    if remaining >= _MAX_ROWS:
        return _MAX_ROWS
    return 1 << (remaining.bit_length() - 1)


def _cut(message: str) -> str:
    if len(message) <= _SURELY_FITS:
        return message  # no encoding needed to know
    encoded = message.encode("utf-8", "replace")
    if len(encoded) <= MAX_EVENT_BYTES:
        return message
    return encoded[: MAX_EVENT_BYTES - 32].decode("utf-8", "ignore") + " [truncated by Stratus]"
