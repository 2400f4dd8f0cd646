"""State transitions per second of the in-memory (Express) interpreter, beside a plain
Python loop doing the same JSON work in the same run.

Two workloads, as the issue asks: a chain of 50 Pass states, each building a small
object from its input with Parameters, and a Map over 1,000 items whose processor is one
such Pass state. A transition is one state entered. The baseline does the same
dictionary building in a loop, with no interpreter.

    python bench/transitions.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import time
from typing import Any

from stratus.states.asl.clock import SystemClock
from stratus.states.asl.execution import ExecutionIdentity, execute
from stratus.states.asl.machine import StateMachine, build
from stratus.states.asl.runtime import CountingHistory, TaskCall
from stratus.states.asl.validate import load

CHAIN = 50
ITEMS = 1000


class Transitions(CountingHistory):
    """A history that counts states entered (a transition each)."""

    def __init__(self) -> None:
        super().__init__()
        self.events = 0
        self.entered = 0

    def record(self, event_type: str, details: Any = None) -> int:
        self.events += 1
        if event_type.endswith("StateEntered"):
            self.entered += 1
        return self.events

    def record_state(self, event_type: str, name: str, data: Any) -> int:
        # The interpreter records states' entered and exited events through this one.
        return self.record(event_type)


class NoTasks:
    def supports(self, resource: str) -> bool:
        return False

    async def run(self, call: TaskCall) -> Any:
        raise AssertionError("no tasks in this benchmark")

    def settled(self, call: TaskCall) -> None:
        return None


def step(index: int) -> dict[str, Any]:
    return {
        "Type": "Pass",
        "Parameters": {"step": index, "value.$": "$.value", "tag.$": "$.tag"},
    }


def chain_machine() -> StateMachine:
    states: dict[str, Any] = {}
    for i in range(CHAIN):
        states[f"S{i}"] = {**step(i), **({"Next": f"S{i + 1}"} if i + 1 < CHAIN else {"End": True})}
    return build(load(json.dumps({"StartAt": "S0", "States": states})))


def map_machine() -> StateMachine:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {**step(0), "End": True}}},
                "End": True,
            }
        },
    }
    return build(load(json.dumps(definition)))


async def run_machine(machine: StateMachine, state_input: Any) -> int:
    history = Transitions()
    identity = ExecutionIdentity(
        "arn:aws:states:us-east-1:000000000000:express:bench:run:1",
        "run",
        "arn:aws:states:us-east-1:000000000000:stateMachine:bench",
        "bench",
        "arn:aws:iam::000000000000:role/bench",
        dt.datetime.now(dt.UTC),
    )
    result = await execute(
        machine, state_input, identity, runner=NoTasks(), clock=SystemClock(), history=history
    )
    assert result.status == "SUCCEEDED", result
    if not history.entered:  # (it once counted nothing after the History contract grew)
        raise RuntimeError("no state entered was recorded: has the History contract changed?")
    return history.entered


def interpreter_rate(machine: StateMachine, state_input: Any, rounds: int) -> list[float]:
    """Transitions per second, one figure per execution, all on one event loop."""

    async def measure() -> list[float]:
        rates = []
        for _ in range(rounds):
            began = time.perf_counter()
            transitions = await run_machine(machine, state_input)
            rates.append(transitions / (time.perf_counter() - began))
        return rates

    return asyncio.run(measure())


def loop_rate(states: int, items: list[Any], rounds: int) -> list[float]:
    """The same object building with no interpreter: a floor for the JSON work."""
    rates = []
    for _ in range(rounds):
        began = time.perf_counter()
        for item in items:
            data = item
            for index in range(states):
                data = {"step": index, "value": data["value"], "tag": data["tag"]}
        elapsed = time.perf_counter() - began
        rates.append(states * len(items) / elapsed)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    item = {"value": 1, "tag": "x"}

    chain = statistics.median(interpreter_rate(chain_machine(), item, args.rounds * 10))
    chain_floor = statistics.median(loop_rate(CHAIN, [item], args.rounds * 10))
    mapped = statistics.median(interpreter_rate(map_machine(), [item] * ITEMS, args.rounds))
    map_floor = statistics.median(loop_rate(1, [item] * ITEMS, args.rounds))

    print(
        f"{CHAIN}-state Pass chain      {chain:10,.0f} transitions/s   loop {chain_floor:12,.0f}/s"
    )
    print(
        f"Map over {ITEMS:,} items        {mapped:10,.0f} transitions/s   loop {map_floor:12,.0f}/s"
    )
    worst = min(chain, mapped)
    print(
        f"transitions/s (lower of the two) {worst:,.0f} (goal >= 20,000) vs plain loop "
        f"{min(chain_floor, map_floor):,.0f}/s: ratio {worst / min(chain_floor, map_floor):.3f}"
    )


if __name__ == "__main__":
    main()
