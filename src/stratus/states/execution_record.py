"""The execution record: one Standard execution's row, as DescribeExecution shows it.

`ExecutionRecord` is read from the `executions` table (`from_row`) and written to it
when an execution starts (`_row`); it also answers whether a stopped execution may still
be redriven, within AWS's window of 14 days after its end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

#: How long after its end a failed execution can be redriven, as on AWS.
REDRIVE_WINDOW = 14 * 24 * 3600


@dataclass(frozen=True)
class ExecutionRecord:
    """One Standard execution as DescribeExecution shows it."""

    arn: str
    machine_arn: str
    name: str
    status: str
    started: float
    stopped: float | None
    input: str
    output: str | None
    error: str | None
    cause: str | None
    definition: str
    role_arn: str
    redrive_count: int = 0
    #: The row's integer key, which events point at.
    row_id: int = 0
    #: When it was last redriven.
    redriven: float | None = None

    def redrive_status(self) -> tuple[str, str | None]:
        """(redriveStatus, redriveStatusReason) as DescribeExecution shows them."""
        if self.status == "RUNNING":
            return "NOT_REDRIVABLE", "Execution is RUNNING and cannot be redriven"
        if self.status == "SUCCEEDED":
            return "NOT_REDRIVABLE", "Execution is SUCCEEDED and cannot be redriven"
        if self.stopped is not None and time.time() - self.stopped > REDRIVE_WINDOW:
            return "NOT_REDRIVABLE", "Execution stopped more than 14 days ago"
        return "REDRIVABLE", None

    @classmethod
    def from_row(cls, row: Any) -> ExecutionRecord:
        return cls(
            row.arn,
            row.machine_arn,
            row.name,
            row.status,
            row.started,
            row.stopped,
            row.input,
            row.output,
            row.error,
            row.cause,
            row.definition,
            row.role_arn,
            row.redrive_count or 0,
            row.id,
            row.redriven,
        )


def _row(record: ExecutionRecord) -> dict[str, Any]:
    """The `executions` row of a new execution."""
    return {
        "id": record.row_id,
        "arn": record.arn,
        "machine_arn": record.machine_arn,
        "name": record.name,
        "status": record.status,
        "started": record.started,
        "input": record.input,
        "definition": record.definition,
        "role_arn": record.role_arn,
        "redrive_count": 0,
    }
