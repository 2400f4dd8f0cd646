"""Tables of Step Functions, on the shared `metadata` so `create_all` makes them too."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Column, Engine, Float, Integer, String, Table, Text, inspect, text

from stratus.store.schema import metadata

#: One row per state machine; `record` is the JSON of everything Describe answers
#: except the definition, which has its own column (it can be up to 1 MiB).
state_machines = Table(
    "state_machines",
    metadata,
    Column("arn", String(256), primary_key=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("definition", Text, nullable=False),
    Column("record", Text, nullable=False),
)

#: One row per Standard execution. The definition it runs is copied in: an update of
#: the machine does not change executions already started, even across a restart.
executions = Table(
    "executions",
    metadata,
    # A small integer key for events to point at: an index over the ARN (70-odd
    # characters) made each event insert several times slower.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("arn", String(512), nullable=False, unique=True),
    Column("machine_arn", String(256), nullable=False, index=True),
    Column("name", String(80), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("started", Float, nullable=False),
    Column("stopped", Float),
    Column("input", Text, nullable=False),
    Column("output", Text),
    Column("error", Text),
    Column("cause", Text),
    Column("definition", Text, nullable=False),
    Column("role_arn", String(256), nullable=False),
    Column("redrive_count", Integer, nullable=False, default=0),
    Column("redriven", Float),
)

#: Every event of every Standard execution, in order, one row per execution and commit:
#: `events` is the JSON list of what the execution recorded since its previous commit
#: (a chain of Pass states is one row; a Task's start is committed in a row of its own),
#: each event as [key, type, microseconds since the epoch, details], ids counting on
#: from `first_id`. `key` names an event the same way in every run of the interpreter
#: (its frame path and its place in that frame), so a restarted execution meets its own
#: past again instead of repeating it. A row per event cost more in SQLite's per-row
#: work than everything else a transition does; this table replaced `execution_events`,
#: whose rows `upgrade_history` moves here.
execution_history = Table(
    "execution_history",
    metadata,
    Column("execution_id", Integer, primary_key=True, autoincrement=False),
    Column("first_id", Integer, primary_key=True, autoincrement=False),
    Column("events", Text, nullable=False),
)

#: One row per activity (a queue of tasks that workers poll for).
activities = Table(
    "activities",
    metadata,
    Column("arn", String(256), primary_key=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("tags", Text, nullable=False),
)


def upgrade_history(engine: Engine) -> None:
    """Move the histories of a data directory written before `execution_history` into
    it, one row per execution, and drop the old table of one row per event; a running
    execution then resumes from its committed events as it would have before."""
    if not inspect(engine).has_table("execution_events"):
        return
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT execution_id, id, key, type, timestamp, details FROM execution_events"
                " ORDER BY execution_id, id"
            )
        )
        histories: dict[int, tuple[int, list[list[Any]]]] = {}
        for execution_id, event_id, key, event_type, seconds, details in rows:
            _, events = histories.setdefault(execution_id, (event_id, []))
            events.append([key, event_type, round(seconds * 1_000_000), json.loads(details)])
        if histories:
            conn.execute(
                execution_history.insert(),
                [
                    {"execution_id": execution, "first_id": first, "events": json.dumps(events)}
                    for execution, (first, events) in histories.items()
                ],
            )
        conn.execute(text("DROP TABLE execution_events"))
