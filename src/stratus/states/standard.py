"""Standard executions: durable, resumable, readable back event by event.

`StartExecution` commits the execution's row (with a copy of the definition it runs)
before it answers, so an acknowledged execution survives a crash. Each one then runs as
an asyncio task recording into a `DurableHistory`; on start-up every execution still
RUNNING is started again from its committed events (see durable.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, and_, func, select

from stratus.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    StateMachineTypeNotSupported,
)
from stratus.states.asl.clock import Clock, SystemClock
from stratus.states.asl.execution import ExecutionIdentity, ExecutionResult, execute
from stratus.states.asl.history import HistoryEvent
from stratus.states.asl.machine import StateMachine
from stratus.states.asl.runtime import TaskRunner
from stratus.states.durable import DurableHistory, HistoryWriter, events_from_rows
from stratus.states.execution_record import ExecutionRecord, _row
from stratus.states.express import parse_input
from stratus.states.machines import (
    STANDARD,
    Machine,
    MachineService,
    check_arn,
    check_name,
    compile_definition,
)
from stratus.states.paging import page_token, token_index
from stratus.store.states_schema import execution_history, executions

log = logging.getLogger(__name__)


@dataclass
class _Running:
    task: asyncio.Task[None]
    history: DurableHistory
    record: ExecutionRecord


class StandardExecutions:
    """Starts, runs, stops, resumes and describes Standard executions."""

    def __init__(
        self,
        engine: Engine,
        machines: MachineService,
        runner: TaskRunner,
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        self.machines = machines
        self.runner = runner
        self.clock = clock or SystemClock()
        self.writer = HistoryWriter(engine)
        self._running: dict[str, _Running] = {}
        #: Row ids are handed out here (one node owns its store), so a start needs no
        #: transaction of its own.
        self._next_id = 0
        self._compiled: dict[str, StateMachine] = {}

    # --- life -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the writer and resume every execution a crash or stop interrupted."""
        self._next_id = await asyncio.to_thread(self._max_id)
        self.writer.start()
        records, pasts = await asyncio.to_thread(self._interrupted)
        for record in records:
            self._launch(record, pasts.get(record.arn, []))
        if records:
            log.info("resumed %d running executions", len(records))

    async def close(self) -> None:
        """Stop running executions where they are: they resume at the next start."""
        tasks = [running.task for running in self._running.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.writer.close()

    def _interrupted(
        self,
    ) -> tuple[list[ExecutionRecord], dict[str, list[tuple[str, HistoryEvent]]]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(executions).where(executions.c.status == "RUNNING"))
            records = [ExecutionRecord.from_row(row) for row in rows]
        return records, {record.arn: self._past(record.row_id) for record in records}

    def _past(self, row_id: int) -> list[tuple[str, HistoryEvent]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(execution_history.c.first_id, execution_history.c.events)
                .where(execution_history.c.execution_id == row_id)
                .order_by(execution_history.c.first_id)
            )
            return events_from_rows(rows)

    # --- the API ----------------------------------------------------------------------

    async def start_execution(
        self, machine_arn: str, name: str | None, text: str | None
    ) -> ExecutionRecord:
        """Start (or, for the same name and input while running, find) an execution."""
        machine = self.machines.get(machine_arn)
        if machine.record.type != STANDARD:
            raise StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine"
            )
        name = name or _new_name()
        check_name(name)
        text, _ = parse_input(text)
        arn = machine.record.arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
        existing = self._running_record(arn)
        if existing is None:
            started = await self._insert(machine, arn, name, text)
            if started is not None:
                return started
            # The name is taken: by an execution that ended, or one started just now.
            existing = await asyncio.to_thread(self._get, arn)
        if existing is not None and existing.status == "RUNNING" and existing.input == text:
            return existing  # the same request again: the same answer, as on AWS
        raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")

    async def _insert(
        self, machine: Machine, arn: str, name: str, text: str
    ) -> ExecutionRecord | None:
        """Commit and launch a new execution; None if its name is taken.

        The writer finds a taken name when it inserts the row, in the group commit: a
        look-up before it, in a thread of its own, cost a start more than its share of
        the transaction."""
        self._next_id += 1
        record = ExecutionRecord(
            arn,
            machine.record.arn,
            name,
            "RUNNING",
            time.time(),
            None,
            text,
            None,
            None,
            None,
            machine.definition,
            machine.record.role_arn,
            row_id=self._next_id,
        )
        # Committed with whatever else the writer has (group commit) before the answer.
        if not await self.writer.insert_execution(_row(record)):
            return None
        if machine.compiled is not None:
            self._compiled[machine.definition] = machine.compiled
        self._launch(record, [])
        return record

    async def describe(self, arn: str) -> ExecutionRecord:
        check_arn(arn, "execution", 8)
        record = await asyncio.to_thread(self._get, arn)
        if record is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
        return record

    async def wait_for_end(self, arn: str) -> ExecutionRecord:
        """The execution once it has ended (a nested `.sync` task waits on this)."""
        while True:
            running = self._running.get(arn)
            if running is not None:
                await asyncio.shield(running.task)
            record = await self.describe(arn)
            if record.status != "RUNNING":
                return record
            if arn not in self._running:
                await asyncio.sleep(0.1)  # started elsewhere or resuming: look again

    async def redrive(self, arn: str) -> float:
        """Run a failed, timed-out or aborted execution again from where it failed: what
        succeeded is not run again (see durable.replayable). Its redrive date."""
        record = await self.describe(arn)
        status, reason = record.redrive_status()
        if status != "REDRIVABLE" or arn in self._running:
            raise ExecutionNotRedrivable(
                f"Execution is not redrivable: {reason or 'it is still stopping'}"
            )
        redriven = time.time()
        count = record.redrive_count + 1
        past = await asyncio.to_thread(self._past, record.row_id)
        history = DurableHistory(record.row_id, self.writer, past, record.arn)
        history.redriven(count)
        self.writer.set_status(
            arn,
            {
                "status": "RUNNING",
                "stopped": None,
                "output": None,
                "error": None,
                "cause": None,
                "redrive_count": count,
                "redriven": redriven,
            },
        )
        await self.writer.flush()
        record = replace(
            record,
            status="RUNNING",
            stopped=None,
            output=None,
            error=None,
            cause=None,
            redrive_count=count,
            redriven=redriven,
        )
        # The redriven event retires the failed segments: load the history again.
        self._launch(record, await asyncio.to_thread(self._past, record.row_id))
        return redriven

    async def stop(self, arn: str, error: str | None, cause: str | None) -> float:
        """Abort a running execution; its stop date."""
        record = await self.describe(arn)
        running = self._running.get(arn)
        if record.status != "RUNNING" or running is None:
            return record.stopped or time.time()
        running.task.cancel()
        await asyncio.gather(running.task, return_exceptions=True)
        details: dict[str, Any] = {}
        if error is not None:
            details["error"] = error
        if cause is not None:
            details["cause"] = cause
        running.history.record("ExecutionAborted", details)
        stopped = time.time()
        self.writer.set_status(
            arn, {"status": "ABORTED", "stopped": stopped, "error": error, "cause": cause}
        )
        await self.writer.flush()
        return stopped

    async def listing(
        self,
        machine_arn: str,
        status: str | None,
        max_results: int | None,
        token: str | None,
    ) -> tuple[list[ExecutionRecord], str | None]:
        self.machines.get(machine_arn)
        await self.writer.flush()
        records = await asyncio.to_thread(self._list, machine_arn, status)
        start = token_index(token)
        size = max_results or 100
        page = records[start : start + size]
        return page, page_token(start + size) if start + size < len(records) else None

    async def history(
        self,
        arn: str,
        max_results: int | None,
        reverse: bool,
        token: str | None,
        include_data: bool,
    ) -> tuple[list[dict[str, Any]], str | None]:
        record = await self.describe(arn)
        await self.writer.flush()
        events = [event for _, event in await asyncio.to_thread(self._past, record.row_id)]
        if reverse:
            events.reverse()
        start = token_index(token)
        size = max_results or 100
        page = [_shown(event, include_data) for event in events[start : start + size]]
        return page, page_token(start + size) if start + size < len(events) else None

    # --- running ----------------------------------------------------------------------

    def _launch(self, record: ExecutionRecord, past: list[tuple[str, HistoryEvent]]) -> None:
        history = DurableHistory(record.row_id, self.writer, past, record.arn)
        task = asyncio.get_running_loop().create_task(self._run(record, history))
        self._running[record.arn] = _Running(task, history, record)
        task.add_done_callback(lambda _: self._running.pop(record.arn, None))

    async def _run(self, record: ExecutionRecord, history: DurableHistory) -> None:
        try:
            machine = self._compile(record.definition)
        except Exception as e:
            result = ExecutionResult("FAILED", error="States.Runtime", cause=str(e))
        else:
            started = dt.datetime.fromtimestamp(record.started, dt.UTC)
            limit = None
            if machine.timeout_seconds is not None:
                # A resumed execution keeps its deadline; a redriven one gets a new one.
                began = record.redriven or record.started
                limit = max(0.001, machine.timeout_seconds - (time.time() - began))
            identity = ExecutionIdentity(
                record.arn,
                record.name,
                record.machine_arn,
                record.machine_arn.rsplit(":", 1)[-1],
                record.role_arn,
                started,
                record.redrive_count,
            )
            result = await execute(
                machine,
                json.loads(record.input),
                identity,
                runner=self.runner,
                clock=self.clock,
                history=history,
                timeout_seconds=limit,
                new_token=history.next_token,
            )
        self.writer.set_status(
            record.arn,
            {
                "status": result.status,
                "stopped": time.time(),
                "output": result.output,
                "error": result.error,
                "cause": result.cause,
            },
        )
        await self.writer.flush()

    def _compile(self, definition: str) -> StateMachine:
        compiled = self._compiled.get(definition)
        if compiled is None:
            compiled = compile_definition(definition, self.runner)
            self._compiled[definition] = compiled
        return compiled

    # --- the store --------------------------------------------------------------------

    def _max_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(executions.c.id))).scalar() or 0)

    def _running_record(self, arn: str) -> ExecutionRecord | None:
        running = self._running.get(arn)
        return running.record if running is not None else None

    def _get(self, arn: str) -> ExecutionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(executions).where(executions.c.arn == arn)).first()
        return ExecutionRecord.from_row(row) if row is not None else None

    def _list(self, machine_arn: str, status: str | None) -> list[ExecutionRecord]:
        condition = executions.c.machine_arn == machine_arn
        if status is not None:
            condition = and_(condition, executions.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(executions).where(condition).order_by(executions.c.started.desc())
            )
            return [ExecutionRecord.from_row(row) for row in rows]


def _shown(event: HistoryEvent, include_data: bool) -> dict[str, Any]:
    shown = event.describe()
    if not include_data:
        for value in shown.values():
            if isinstance(value, dict):
                value.pop("input", None)
                value.pop("output", None)
    return shown


def _new_name() -> str:
    return str(uuid.uuid4())
