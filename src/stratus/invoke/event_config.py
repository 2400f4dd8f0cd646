"""Asynchronous invocation settings per function and qualifier: retries, age, destinations."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select, update

from stratus.errors import (
    InvalidParameterValueException,
    NotImplementedException,
    ResourceNotFoundException,
)
from stratus.functions.model import LATEST, Home
from stratus.store.schema import event_invoke_configs

DEFAULT_RETRIES = 2
DEFAULT_MAX_AGE = 21600

_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:(?P<name>[a-zA-Z0-9_-]+)"
    r"(?::(?:\$LATEST|[a-zA-Z0-9_-]+))?$"
)
_OTHER_TARGETS = {"sqs": "queue", "sns": "topic", "events": "event bus", "s3": "bucket"}


@dataclass(frozen=True)
class EventInvokeConfig:
    """How Lambda treats asynchronous events for one function qualifier."""

    function_name: str
    qualifier: str = LATEST
    #: As set (None: not set, and Lambda's answers leave it out); `retries` and
    #: `max_age` are what applies.
    max_retry_attempts: int | None = None
    max_event_age: int | None = None
    on_success: str | None = None
    on_failure: str | None = None
    last_modified: float = dataclasses.field(default_factory=time.time)

    @property
    def retries(self) -> int:
        """How many times a failed event is retried."""
        return DEFAULT_RETRIES if self.max_retry_attempts is None else self.max_retry_attempts

    @property
    def max_age(self) -> int:
        """How long, in seconds, an event may wait to run."""
        return DEFAULT_MAX_AGE if self.max_event_age is None else self.max_event_age


def check_destinations(
    on_success: str | None,
    on_failure: str | None,
    own_name: str,
    exists: Callable[[str], bool],
    home: Home,
) -> None:
    """Lambda's checks on a configuration's destinations: a function other than this one
    that exists (so of this region and account); queues, topics, buses and buckets come
    later."""
    for arn in (on_success, on_failure):
        if arn is None:
            continue
        if not home.holds(arn):
            # A function of another region or account cannot exist here, so it is
            # refused as a missing destination function is.
            raise InvalidParameterValueException(f"The destination ARN {arn} is invalid.")
        match = _FUNCTION_ARN.match(arn)
        if match is not None:
            if match["name"] == own_name:
                raise InvalidParameterValueException(
                    "You can't specify the function as a destination for itself."
                )
            if not exists(match["name"]):
                raise InvalidParameterValueException(f"The destination ARN {arn} is invalid.")
            continue
        service = arn.split(":")[2] if arn.count(":") >= 2 else ""
        if service in _OTHER_TARGETS:
            raise NotImplementedException(
                f"Stratus does not support {_OTHER_TARGETS[service]} destinations yet "
                f"({arn}); a function ARN works."
            )
        success = f"OnSuccess(destination={on_success})" if on_success else "null"
        failure = f"OnFailure(destination={on_failure})" if on_failure else "null"
        raise InvalidParameterValueException(
            f"The provided destination config DestinationConfig(onSuccess={success}, "
            f"onFailure={failure}) is invalid."
        )


class EventInvokeConfigs:
    """Stored event-invoke configurations, cached in memory for the async path."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._configs: dict[tuple[str, str], EventInvokeConfig] = {}
        with engine.connect() as conn:
            for row in conn.execute(select(event_invoke_configs)):
                config = EventInvokeConfig(**json.loads(row.config))
                self._configs[(row.function_name, row.qualifier)] = config

    def effective(self, name: str, qualifier: str | None) -> EventInvokeConfig:
        """What applies to an event for this qualifier (the defaults if nothing is set)."""
        found = self._configs.get((name, qualifier or LATEST))
        return found or EventInvokeConfig(name, qualifier or LATEST)

    def get(self, name: str, qualifier: str | None, arn: str) -> EventInvokeConfig:
        found = self._configs.get((name, qualifier or LATEST))
        if found is None:
            raise ResourceNotFoundException(f"The function {arn} doesn't have an EventInvokeConfig")
        return found

    def for_function(self, name: str) -> list[EventInvokeConfig]:
        return sorted(
            (c for (n, _), c in self._configs.items() if n == name), key=lambda c: c.qualifier
        )

    def put(self, config: EventInvokeConfig) -> EventInvokeConfig:
        key = (config.function_name, config.qualifier)
        row = {"config": json.dumps(dataclasses.asdict(config))}
        with self._lock, self.engine.begin() as conn:
            if key in self._configs:
                conn.execute(
                    update(event_invoke_configs)
                    .where(event_invoke_configs.c.function_name == key[0])
                    .where(event_invoke_configs.c.qualifier == key[1])
                    .values(**row)
                )
            else:
                conn.execute(
                    insert(event_invoke_configs).values(
                        function_name=key[0], qualifier=key[1], **row
                    )
                )
            self._configs[key] = config
        return config

    def delete(self, name: str, qualifier: str | None, arn: str) -> None:
        self.get(name, qualifier, arn)
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                delete(event_invoke_configs)
                .where(event_invoke_configs.c.function_name == name)
                .where(event_invoke_configs.c.qualifier == (qualifier or LATEST))
            )
            del self._configs[(name, qualifier or LATEST)]

    def forget_qualifier(self, name: str, qualifier: str) -> None:
        """Drop the configuration of a deleted version or alias."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                delete(event_invoke_configs)
                .where(event_invoke_configs.c.function_name == name)
                .where(event_invoke_configs.c.qualifier == qualifier)
            )
            self._configs.pop((name, qualifier), None)

    def forget_function(self, name: str) -> None:
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                delete(event_invoke_configs).where(event_invoke_configs.c.function_name == name)
            )
            for key in [k for k in self._configs if k[0] == name]:
                del self._configs[key]
