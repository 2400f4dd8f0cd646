"""What an update may change in a function's configuration, and the checks every
configuration passes, on create and on update alike, before it is stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stratus.functions.layers import LayerVersion
from stratus.functions.model import FunctionVersion
from stratus.functions.validation import (
    check_environment,
    check_memory,
    check_runtime,
    check_timeout,
)


@dataclass(frozen=True)
class ConfigChange:
    """The configuration members an update may change; None means unchanged."""

    runtime: str | None = None
    role: str | None = None
    handler: str | None = None
    description: str | None = None
    timeout: int | None = None
    memory_size: int | None = None
    environment: Mapping[str, str] | None = None
    ephemeral_storage: int | None = None
    log_format: str | None = None
    log_group: str | None = None
    tracing_mode: str | None = None
    layers: tuple[LayerVersion, ...] | None = None


def _check_config(fn: FunctionVersion) -> None:
    check_timeout(fn.timeout)
    check_memory(fn.memory_size)
    check_environment(fn.environment)
    check_runtime(fn.runtime)
