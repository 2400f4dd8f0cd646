"""Durable histories: which committed events a run meets again (before and after a
redrive), and what is committed reads back as the interpreter showed it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select

from stratus.states import durable
from stratus.states.asl.clock import ManualClock
from stratus.states.asl.execution import ExecutionIdentity, execute
from stratus.states.asl.history import EventLog, HistoryEvent
from stratus.states.asl.machine import build
from stratus.states.asl.validate import load
from stratus.states.durable import DurableHistory, HistoryWriter, events_from_rows, replayable
from stratus.store import open_database
from stratus.store.states_schema import execution_history

from .asl.machines import EXECUTION_ARN, MACHINE_ARN, PythonTasks, fail, fn

pytestmark = pytest.mark.timeout(30)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ROLE = "arn:aws:iam::000000000000:role/test"


def history(*events: tuple[str, str]) -> list[tuple[str, HistoryEvent]]:
    return [
        (key, HistoryEvent(index + 1, kind, T0, index)) for index, (key, kind) in enumerate(events)
    ]


def test_without_a_redrive_every_event_is_met_again() -> None:
    past = history(("#0", "ExecutionStarted"), ("#1", "PassStateEntered"))
    assert set(replayable(past)) == {"#0", "#1"}


def test_a_redrive_retires_what_followed_the_last_completed_state_of_each_frame() -> None:
    past = history(
        ("#0", "ExecutionStarted"),
        ("#1", "TaskStateEntered"),
        ("#2", "TaskStateExited"),
        ("#3", "MapStateEntered"),
        ("#4", "MapStateStarted"),
        ("/2.0#0", "MapIterationStarted"),
        ("/2.0#1", "PassStateEntered"),
        ("/2.0#2", "PassStateExited"),
        ("/2.0#3", "MapIterationSucceeded"),
        ("/2.1#0", "MapIterationStarted"),
        ("/2.1#1", "TaskStateEntered"),
        ("/2.1#2", "TaskFailed"),
        ("/2.1#3", "MapIterationFailed"),
        ("#5", "MapStateFailed"),
        ("#6", "ExecutionFailed"),
        ("redrive#1", "ExecutionRedriven"),
    )
    kept = replayable(past)
    assert set(kept) == {
        "#0",
        "#1",
        "#2",
        "/2.0#0",
        "/2.0#1",
        "/2.0#2",
        "/2.0#3",
    }  # the failed iteration starts again from its beginning


def test_events_after_a_redrive_replace_the_retired_ones() -> None:
    past = history(
        ("#0", "ExecutionStarted"),
        ("#1", "TaskStateEntered"),
        ("#2", "ExecutionFailed"),
        ("redrive#1", "ExecutionRedriven"),
        ("#1", "TaskStateEntered"),
        ("#2", "TaskStateExited"),
    )
    kept = replayable(past)
    assert kept["#1"].id == 5 and kept["#2"].id == 6


# --- what is stored reads back as the interpreter showed it ---------------------------

#: Data whose JSON text is easy to get wrong: escapes, non-ASCII, a lone surrogate,
#: numbers at the edges of their types.
AWKWARD = {
    "text": 'quote " backslash \\ newline \n é \u2028 \ud800',
    "numbers": [0.1, 1e-7, -0.0, 2**70, 1.5e300],
    "nested": {"empty": {}, "list": [], "null": None, "flag": True},
}

DEFINITION = {
    "StartAt": "Shape",
    "States": {
        "Shape": {"Type": "Pass", "Parameters": {"data.$": "$", "n": 1}, "Next": "Call"},
        "Call": {"Type": "Task", "Resource": fn("echo"), "ResultPath": "$.echo", "Next": "Both"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "B",
                    "States": {
                        "B": {
                            "Type": "Task",
                            "Resource": fn("boom"),
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
                            "End": True,
                        },
                        "C": {"Type": "Pass", "End": True},
                    },
                },
            ],
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$[0].data.numbers",
            "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
            "End": True,
        },
    },
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(tmp_path / "store.db")
    yield engine
    engine.dispose()


def _shown(events: list[HistoryEvent]) -> list[dict[str, Any]]:
    """GetExecutionHistory's events without their times."""
    shown = [event.describe() for event in events]
    for event in shown:
        del event["timestamp"]
    return shown


def test_a_committed_history_reads_back_exactly_as_the_interpreter_showed_it(
    engine: Engine,
) -> None:
    machine = build(load(json.dumps(DEFINITION)))
    tasks = PythonTasks(echo=lambda value: value, boom=fail("Boom", "cause é"))
    durable = DurableHistory(1, HistoryWriter(engine))
    in_memory = EventLog()

    async def go(history: Any) -> None:
        identity = ExecutionIdentity(EXECUTION_ARN, "run-1", MACHINE_ARN, "test", ROLE, T0)
        result = await execute(
            machine, AWKWARD, identity, runner=tasks, clock=ManualClock(), history=history
        )
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        await history.commit()

    asyncio.run(go(in_memory))
    asyncio.run(go(durable))
    stored = events_from_rows(_rows(engine, 1))
    assert _shown([event for _, event in stored]) == _shown(in_memory.events)


def test_event_times_read_back_to_the_microsecond(engine: Engine) -> None:
    history = DurableHistory(1, HistoryWriter(engine))
    before = dt.datetime.now(dt.UTC)
    history.record("ExecutionStarted", {"input": "{}"})
    asyncio.run(history.commit())
    ((_, event),) = events_from_rows(_rows(engine, 1))
    assert before - dt.timedelta(milliseconds=1) <= event.timestamp <= dt.datetime.now(dt.UTC)
    assert event.timestamp.timestamp() == round(event.timestamp.timestamp(), 6)


def test_a_run_after_a_restart_meets_its_committed_events_instead_of_writing_them(
    engine: Engine,
) -> None:
    first = DurableHistory(1, HistoryWriter(engine))
    first.record("ExecutionStarted", {"input": "{}"})
    first.record_state("PassStateEntered", "P", {"a": [1]})
    asyncio.run(first.commit())  # the crash comes before the next event

    again = DurableHistory(1, HistoryWriter(engine), events_from_rows(_rows(engine, 1)))
    assert again.record("ExecutionStarted", {"input": "{}"}) == 1
    assert again.record_state("PassStateEntered", "P", {"a": [1]}) == 2
    assert again.record_state("PassStateExited", "P", {"a": [1]}) == 3  # new
    asyncio.run(again.commit())
    events = [event for _, event in events_from_rows(_rows(engine, 1))]
    assert [(e.id, e.type) for e in events] == [
        (1, "ExecutionStarted"),
        (2, "PassStateEntered"),
        (3, "PassStateExited"),
    ]
    assert events[2].details == {
        "name": "P",
        "output": '{"a":[1]}',
        "outputDetails": {"truncated": False},
    }


def _rows(engine: Engine, execution_id: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(execution_history.c.first_id, execution_history.c.events)
                .where(execution_history.c.execution_id == execution_id)
                .order_by(execution_history.c.first_id)
            )
        )


def test_histories_of_an_older_data_directory_are_moved_not_lost(tmp_path: Path) -> None:
    # The table of one row per event that data directories made before held.
    old = sqlite3.connect(tmp_path / "store.db")
    old.execute(
        "CREATE TABLE execution_events (execution_id INTEGER NOT NULL, id INTEGER NOT NULL,"
        " key VARCHAR(512) NOT NULL, type VARCHAR(64) NOT NULL, timestamp FLOAT NOT NULL,"
        " details TEXT NOT NULL, PRIMARY KEY (execution_id, id))"
    )
    entered = {"name": "P", "input": '{"a":1}', "inputDetails": {"truncated": False}}
    old.executemany(
        "INSERT INTO execution_events VALUES (?, ?, ?, ?, ?, ?)",
        [
            (7, 1, "x", "ExecutionStarted", 1700000000.25, json.dumps({"input": "{}"})),
            (7, 2, "0.0", "PassStateEntered", 1700000000.5, json.dumps(entered)),
        ],
    )
    old.commit()
    old.close()
    engine = open_database(tmp_path / "store.db")
    try:
        events = [event for _, event in events_from_rows(_rows(engine, 7))]
        assert [(e.id, e.type, e.previous_event_id) for e in events] == [
            (1, "ExecutionStarted", 0),
            (2, "PassStateEntered", 1),
        ]
        assert events[1].details == entered
        assert events[0].timestamp == dt.datetime(2023, 11, 14, 22, 13, 20, 250000, dt.UTC)
        assert "execution_events" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_an_execution_that_reaches_the_event_limit_fails_and_says_so(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(durable, "MAX_EVENTS", 20)
    chain = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(30)}
    chain["P30"] = {"Type": "Succeed"}
    machine = build(load(json.dumps({"StartAt": "P0", "States": chain})))
    history = DurableHistory(1, HistoryWriter(engine))

    async def go() -> Any:
        identity = ExecutionIdentity(EXECUTION_ARN, "run-1", MACHINE_ARN, "test", ROLE, T0)
        result = await execute(
            machine, {}, identity, runner=PythonTasks(), clock=ManualClock(), history=history
        )
        await history.commit()
        return result

    result = asyncio.run(go())
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "maximum number of history events" in (result.cause or "")
    events = [event for _, event in events_from_rows(_rows(engine, 1))]
    assert len(events) == 21
    assert events[-1].type == "ExecutionFailed"
    assert events[-1].details["error"] == "States.Runtime"
