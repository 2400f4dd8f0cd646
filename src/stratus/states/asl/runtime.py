"""What a running workflow is made of: the run, frames, state visits, and the state loop.

An execution is one `Run` (what every state of it shares: ids, the clock, the task
runner, the history) and a tree of `Frame`s: the top-level machine runs in one, and
every Parallel branch and Map iteration runs in a child frame, whose variables see the
parent's but cannot change them. Each time a state is entered it gets a `Visit`: the
context object ``$$`` for that visit, built only if something asks for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import ChainMap
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from stratus.states.asl.clock import Clock
from stratus.states.asl.errors import (
    INTRINSIC_FAILURE,
    PARAMETER_PATH_FAILURE,
    RESULT_PATH_MATCH_FAILURE,
    RUNTIME,
    StatesError,
)
from stratus.states.asl.scope import Scope

if TYPE_CHECKING:
    from stratus.states.asl.machine import Branch

#: Errors the interpreter raises about a state's own data handling: their cause names
#: the state and the event that entered it, as AWS's does.
_LOCATED = frozenset(
    {RUNTIME, RESULT_PATH_MATCH_FAILURE, PARAMETER_PATH_FAILURE, INTRINSIC_FAILURE}
)


#: The frame the running code belongs to ("" for the top level, "/3.0" for the first
#: branch of the state entered third, ...): deterministic, unlike the order in which
#: concurrent branches record their events, so a durable history keys events by it.
FRAME_PATH: ContextVar[str] = ContextVar("stratus_frame_path", default="")


class ReplayedEvent(Protocol):
    """An event a durable history already holds, met again while replaying."""

    @property
    def type(self) -> str: ...

    @property
    def details(self) -> Mapping[str, Any]: ...


class History(Protocol):
    """Where an execution's events go; `record` returns the new event's id."""

    #: False when nobody will read the details: the interpreter then skips building them.
    detailed: bool
    #: True for a history that must be committed before the next step acts, and that
    #: may be replaying events committed before a restart.
    durable: bool

    def record(self, event_type: str, details: Mapping[str, Any] | None = None) -> int:
        """Append one event (AWS's type name, e.g. "TaskStateEntered"). A history may
        keep `details` as given: the caller does not change them afterwards."""
        ...

    def record_state(self, event_type: str, name: str, data: Any) -> int:
        """Append a state's …StateEntered event (`data` is its input) or …StateExited
        event (its output), with the details `history.state_details` gives them.

        Two of these are most of an execution's events, so a history may keep `data`
        and make its JSON text only when someone reads the event: values are never
        changed in place (see paths.py)."""
        ...

    async def commit(self) -> None:
        """Return once every event recorded so far is durable."""
        ...

    def replayed(self) -> ReplayedEvent | None:
        """While replaying: the event the next `record` in this frame will meet again."""
        ...

    def time_of(self, event_id: int) -> dt.datetime | None:
        """When a replayed event happened (None for events recorded now)."""
        ...


class CountingHistory:
    """A history that only counts: for runs nobody reads the events of."""

    detailed = False
    durable = False

    def __init__(self) -> None:
        self.count = 0

    def record(self, event_type: str, details: Mapping[str, Any] | None = None) -> int:
        self.count += 1
        return self.count

    def record_state(self, event_type: str, name: str, data: Any) -> int:
        self.count += 1
        return self.count

    async def commit(self) -> None:
        return None

    def replayed(self) -> ReplayedEvent | None:
        return None

    def time_of(self, event_id: int) -> dt.datetime | None:
        return None


@dataclass(frozen=True)
class TaskCall:
    """One attempt at a Task state's work, as the task runner receives it."""

    resource: str
    #: The effective parameters (JSONPath) or arguments (JSONata): the task's input.
    parameters: Any
    state_name: str
    timeout_seconds: float | None
    heartbeat_seconds: float | None
    #: Set for `.waitForTaskToken` resources: the token ``$$.Task.Token`` showed.
    task_token: str | None
    execution_arn: str


class TaskRunner(Protocol):
    """Does the work of Task states (calls functions, other services, activities)."""

    def supports(self, resource: str) -> bool:
        """Whether `resource` is something this runner can run (checked at create time)."""
        ...

    async def run(self, call: TaskCall) -> Any:
        """The task's result as a JSON value; a failure is a StatesError."""
        ...

    def settled(self, call: TaskCall) -> None:
        """The outcome of `call` is recorded (and committed, in a durable history)."""
        ...


@dataclass
class Run:
    """What every state of one execution shares."""

    execution_arn: str
    execution_name: str
    role_arn: str
    start_time: dt.datetime
    state_machine_arn: str
    state_machine_name: str
    input: Any
    clock: Clock
    runner: TaskRunner
    history: History
    redrive_count: int = 0
    new_token: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
    _execution_context: dict[str, Any] | None = None

    def execution_context(self) -> dict[str, Any]:
        """``$$.Execution``, built once."""
        if self._execution_context is None:
            self._execution_context = {
                "Id": self.execution_arn,
                "Input": self.input,
                "Name": self.execution_name,
                "RoleArn": self.role_arn,
                "StartTime": timestamp(self.start_time),
                "RedriveCount": self.redrive_count,
            }
        return self._execution_context


class Frame:
    """One thread of control: the top level, a Parallel branch or a Map iteration."""

    __slots__ = ("map_item", "path", "run", "variables")

    def __init__(
        self,
        run: Run,
        variables: MutableMapping[str, Any],
        map_item: Mapping[str, Any] | None = None,
        path: str = "",
    ) -> None:
        self.run = run
        self.variables = variables
        self.map_item = map_item
        self.path = path

    def child(self, label: str, map_item: Mapping[str, Any] | None = None) -> Frame:
        """A nested scope: reads this frame's variables, assigns only its own.

        `label` names the child among its siblings the same way in every run (the step
        of the state that started it and the branch or item index)."""
        parent = self.variables
        maps = parent.maps if isinstance(parent, ChainMap) else [parent]
        return Frame(self.run, ChainMap({}, *maps), map_item, f"{self.path}/{label}")

    def assign(self, values: Mapping[str, Any]) -> None:
        """Set variables in this frame's own scope."""
        if isinstance(self.variables, ChainMap):
            self.variables.maps[0].update(values)
        else:
            self.variables.update(values)


class Visit:
    """One entry into a state: its context object and what it assigns."""

    __slots__ = (
        "entered",
        "entered_event",
        "frame",
        "retry_count",
        "state_name",
        "step",
        "token",
    )

    def __init__(
        self, frame: Frame, state_name: str, entered: dt.datetime, event: int, step: int = 0
    ) -> None:
        self.step = step
        self.frame = frame
        self.state_name = state_name
        self.entered = entered
        self.entered_event = event
        self.retry_count = 0
        self.token: str | None = None

    @property
    def run(self) -> Run:
        return self.frame.run

    def context(self) -> dict[str, Any]:
        """``$$`` as this state sees it now."""
        run = self.frame.run
        context: dict[str, Any] = {
            "Execution": run.execution_context(),
            "State": {
                "EnteredTime": timestamp(self.entered),
                "Name": self.state_name,
                "RetryCount": self.retry_count,
            },
            "StateMachine": {"Id": run.state_machine_arn, "Name": run.state_machine_name},
            "Task": {"Token": self.token} if self.token else {},
        }
        if self.frame.map_item is not None:
            context["Map"] = {"Item": self.frame.map_item}
        return context

    def scope(self) -> Scope:
        """What JSONPath expressions see besides their input."""
        return Scope(None, self.frame.variables, build=self.context)

    def states(self, state_input: Any, **more: Any) -> dict[str, Any]:
        """``$states`` for JSONata expressions."""
        return {"input": state_input, "context": self.context(), **more}

    def locate(self, error: StatesError) -> StatesError:
        """The error with AWS's prefix naming this state, where AWS adds one."""
        if error.error in _LOCATED and not getattr(error, "located", False):
            located = StatesError(
                error.error,
                f"An error occurred while executing the state '{self.state_name}' "
                f"(entered at the event id #{self.entered_event}). {error.cause}",
            )
            located.located = True  # type: ignore[attr-defined]
            return located
        return error


class State(Protocol):
    """One state of a machine, compiled."""

    name: str
    #: History event names, e.g. "PassStateEntered".
    entered_event: str
    exited_event: str

    async def execute(self, state_input: Any, visit: Visit) -> tuple[str | None, Any]:
        """Do the state's work: the next state's name (None when this one ends its
        branch) and the state's output."""
        ...


async def run_branch(branch: Branch, state_input: Any, frame: Frame) -> Any:
    """Run states from the branch's StartAt until one ends it; its output."""
    run = frame.run
    history, clock = run.history, run.clock
    durable = history.durable
    FRAME_PATH.set(frame.path)
    name: str | None = branch.start_at
    data = state_input
    step = 0
    while name is not None:
        state = branch.states[name]
        step += 1
        event = history.record_state(state.entered_event, name, data)
        entered = (history.time_of(event) if durable else None) or clock.now()
        visit = Visit(frame, name, entered, event, step)
        try:
            name, data = await state.execute(data, visit)
        except StatesError as e:
            raise visit.locate(e) from None
        history.record_state(state.exited_event, state.name, data)
        # No commit here: a state that only moves data can be worked out again from the
        # committed events before it. States with effects commit before they act (a
        # Task before it runs, a Wait before its timer starts) and an execution commits
        # before it reports its end, so what a restart finds is always enough.
    return data


async def first_failure(jobs: list[Awaitable[Any]]) -> list[Any]:
    """Run `jobs` concurrently; their results in order, or the first error (the rest
    are cancelled), as a Parallel state or a Map stops at its first failed branch."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        pending: set[asyncio.Future[Any]] = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        return [task.result() for task in tasks]
    finally:
        leftover = [task for task in tasks if not task.done()]
        for task in leftover:
            task.cancel()
        if leftover:
            await asyncio.gather(*leftover, return_exceptions=True)


def timestamp(moment: dt.datetime) -> str:
    """AWS's context-object time format: ISO 8601 with milliseconds and a Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )
