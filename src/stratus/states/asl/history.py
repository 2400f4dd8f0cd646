"""An execution's history as AWS shows it: numbered events with their details.

`EventLog` keeps events in memory (Express runs that someone watches, and tests); the
durable histories of Standard executions (states/durable.py) store the same details.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stratus.states.asl.paths import json_text


def details_key(event_type: str) -> str:
    """The member of a history event that holds its details, e.g.
    ``taskScheduledEventDetails``; every ``…StateEntered`` shares
    ``stateEnteredEventDetails`` (and ``…StateExited`` likewise)."""
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


def state_details(event_type: str, name: str, text: str) -> dict[str, Any]:
    """The details of a …StateEntered event (`text` is the state's input as JSON) or of a
    …StateExited event (its output)."""
    if event_type.endswith("StateEntered"):
        return {"name": name, "input": text, "inputDetails": {"truncated": False}}
    return {"name": name, "output": text, "outputDetails": {"truncated": False}}


@dataclass(frozen=True)
class HistoryEvent:
    """One event of an execution's history."""

    id: int
    type: str
    timestamp: dt.datetime
    previous_event_id: int
    details: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """GetExecutionHistory's shape of the event."""
        out: dict[str, Any] = {
            "timestamp": self.timestamp.timestamp(),
            "type": self.type,
            "id": self.id,
            "previousEventId": self.previous_event_id,
        }
        if self.details:
            out[details_key(self.type)] = dict(self.details)
        return out


class EventLog:
    """A history kept in memory, with every event's details."""

    detailed = True
    durable = False

    def __init__(self, now: Callable[[], dt.datetime] | None = None) -> None:
        self.events: list[HistoryEvent] = []
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    def record(self, event_type: str, details: Mapping[str, Any] | None = None) -> int:
        event_id = len(self.events) + 1
        self.events.append(
            HistoryEvent(event_id, event_type, self._now(), event_id - 1, details or {})
        )
        return event_id

    def record_state(self, event_type: str, name: str, data: Any) -> int:
        return self.record(event_type, state_details(event_type, name, json_text(data)))

    async def commit(self) -> None:
        return None

    def replayed(self) -> HistoryEvent | None:
        return None

    def time_of(self, event_id: int) -> dt.datetime | None:
        return None

    def types(self) -> list[str]:
        """The event types in order (what tests and watchers compare)."""
        return [event.type for event in self.events]
