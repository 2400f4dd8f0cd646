"""Durable state transitions per second (Standard executions on SQLite in WAL mode),
beside the in-memory (Express) figure for the same work in the same run.

Both run EXECUTIONS concurrent executions of a 50-state Pass chain in this process: the
durable ones through `StandardExecutions` (each start committed before it answers, every
transition's events committed before the execution's end is, commits shared by all
executions), the in-memory ones straight through the interpreter with a history that
only counts.

    python bench/durable_transitions.py [--executions N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from stratus.states.asl.clock import SystemClock
from stratus.states.asl.execution import ExecutionIdentity, execute
from stratus.states.asl.runtime import CountingHistory, TaskCall
from stratus.states.machines import MachineService
from stratus.states.standard import StandardExecutions
from stratus.store import open_database
from stratus.store.states_schema import execution_history

CHAIN = 50
ROLE = "arn:aws:iam::000000000000:role/bench"


class NoTasks:
    def supports(self, resource: str) -> bool:
        return False

    async def run(self, call: TaskCall) -> Any:
        raise AssertionError("no tasks in this benchmark")

    def settled(self, call: TaskCall) -> None:
        return None


def definition() -> str:
    states: dict[str, Any] = {}
    for i in range(CHAIN):
        state: dict[str, Any] = {"Type": "Pass", "Parameters": {"step": i, "value.$": "$.value"}}
        state.update({"Next": f"S{i + 1}"} if i + 1 < CHAIN else {"End": True})
        states[f"S{i}"] = state
    return json.dumps({"StartAt": "S0", "States": states})


async def durable(executions: int, data: Path) -> float:
    engine = open_database(data / "bench.db")
    machines = MachineService(engine, NoTasks(), "us-east-1", "000000000000")
    standard = StandardExecutions(engine, machines, NoTasks())
    await standard.start()
    name = f"chain-{time.monotonic_ns()}"
    machine = await asyncio.to_thread(machines.create, name, definition(), ROLE, "STANDARD")
    began = time.perf_counter()
    records = await asyncio.gather(
        *(
            standard.start_execution(machine.record.arn, None, '{"value": 1}')
            for _ in range(executions)
        )
    )
    # Wait for the executions themselves, as the in-memory side does: each one's task
    # ends once its end is committed. (Polling DescribeExecution every 10 ms, checked
    # afterwards instead, added 10-25 ms of reads and detection delay to ~110 ms.)
    while standard._running:
        await asyncio.gather(*(running.task for running in list(standard._running.values())))
    elapsed = time.perf_counter() - began
    statuses = {(await standard.describe(r.arn)).status for r in records}
    assert statuses == {"SUCCEEDED"}, statuses
    await standard.close()
    with engine.connect() as conn:
        rows = conn.execute(select(execution_history.c.events)).scalars()
        events = sum(len(json.loads(row)) for row in rows)
    engine.dispose()
    assert events >= executions * (2 * CHAIN + 2), events
    return executions * CHAIN / elapsed


async def in_memory(executions: int) -> float:
    from stratus.states.asl.machine import build
    from stratus.states.asl.validate import load

    machine = build(load(definition()))

    async def one(n: int) -> None:
        identity = ExecutionIdentity(
            f"arn:aws:states:us-east-1:000000000000:express:bench:{n}:x",
            str(n),
            "arn:aws:states:us-east-1:000000000000:stateMachine:bench",
            "bench",
            ROLE,
            dt.datetime.now(dt.UTC),
        )
        result = await execute(
            machine,
            {"value": 1},
            identity,
            runner=NoTasks(),
            clock=SystemClock(),
            history=CountingHistory(),
        )
        assert result.status == "SUCCEEDED"

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(executions)))
    return executions * CHAIN / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    durable_rates, memory_rates = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as data:
            durable_rates.append(asyncio.run(durable(args.executions, Path(data))))
        memory_rates.append(asyncio.run(in_memory(args.executions)))
    stored, memory = statistics.median(durable_rates), statistics.median(memory_rates)
    print(f"{args.executions} Standard executions x {CHAIN} states: {stored:,.0f} transitions/s")
    print(f"the same in memory (Express):       {memory:,.0f} transitions/s")
    print(
        f"durable transitions/s {stored:,.0f} (goal >= 5,000) vs in-memory {memory:,.0f}: "
        f"ratio {stored / memory:.2f} (goal >= 0.25)"
    )


if __name__ == "__main__":
    main()
