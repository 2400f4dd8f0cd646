"""Standard executions on a store, without a server: starting one name twice at once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from stratus.errors import ExecutionAlreadyExists
from stratus.states.asl.clock import ManualClock
from stratus.states.machines import STANDARD, MachineService
from stratus.states.standard import ExecutionRecord, StandardExecutions
from stratus.store import open_database

from .asl.machines import PythonTasks

pytestmark = pytest.mark.timeout(30)

ROLE = "arn:aws:iam::000000000000:role/test"
WAITS = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}


def test_two_starts_of_one_name_at_once_start_one_execution(tmp_path: Path) -> None:
    async def go() -> None:
        engine = open_database(tmp_path / "store.db")
        tasks = PythonTasks()
        machines = MachineService(engine, tasks, "us-east-1", "000000000000")
        standard = StandardExecutions(engine, machines, tasks, ManualClock(auto_advance=False))
        await standard.start()
        machine = machines.create("waits", json.dumps(WAITS), ROLE, STANDARD)
        arn = machine.record.arn
        try:
            first, again = await asyncio.gather(
                standard.start_execution(arn, "once", '{"a": 1}'),
                standard.start_execution(arn, "once", '{"a": 1}'),
            )
            assert (again.arn, again.started) == (first.arn, first.started)

            started, refused = await asyncio.gather(
                standard.start_execution(arn, "twice", '{"a": 1}'),
                standard.start_execution(arn, "twice", '{"a": 2}'),
                return_exceptions=True,
            )
            assert isinstance(started, ExecutionRecord) and started.input == '{"a": 1}'
            assert isinstance(refused, ExecutionAlreadyExists)

            listed, _ = await standard.listing(arn, None, None, None)
            assert sorted(record.name for record in listed) == ["once", "twice"]
            assert {record.status for record in listed} == {"RUNNING"}
        finally:
            await standard.close()
            engine.dispose()

    asyncio.run(go())
