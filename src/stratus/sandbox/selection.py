"""Choosing the sandbox this host can give: isolated where it can, processes otherwise."""

from __future__ import annotations

import logging
from pathlib import Path

from stratus.runtimes.sdk import RuntimeSdk
from stratus.sandbox.host import detect
from stratus.sandbox.isolated import SPARES, IsolatedSandbox
from stratus.sandbox.process import ProcessSandbox
from stratus.sandbox.types import Sandbox

log = logging.getLogger(__name__)

#: The choices `choose_sandbox` takes.
KINDS = ("auto", "isolated", "process")


def choose_sandbox(
    work_dir: Path | None = None,
    kind: str = "auto",
    *,
    cpu_cap: bool = False,
    sdk: RuntimeSdk | None = None,
    spares: int = SPARES,
) -> Sandbox:
    """The best sandbox this host allows (`kind` "auto"), or the one asked for.

    "isolated" fails (RuntimeError) where the host cannot isolate; "process" never
    isolates. `work_dir` holds the isolated sandbox's skeleton root (a temporary
    directory when None); `cpu_cap` adds Lambda's hard CPU ceiling to the CPU share;
    instances may import the runtime's SDK `sdk`; the isolated sandbox keeps `spares`
    instances per zygote forked ahead. Takes about 50 ms (the host probe);
    call it before the event loop serves requests.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown sandbox kind {kind!r}; choose from {', '.join(KINDS)}")
    if kind == "process":
        return ProcessSandbox(why="chosen by configuration", sdk=sdk)
    features = detect()
    if features.can_isolate:
        sandbox = IsolatedSandbox.create(
            features, work_dir, cpu_cap=cpu_cap, sdk=sdk, spares=spares
        )
        log.info("sandbox: %s", sandbox.describe())
        return sandbox
    why = "; ".join(features.missing)
    if kind == "isolated":
        raise RuntimeError(f"this host cannot isolate function instances: {why}")
    log.warning("function instances are NOT isolated on this host: %s", why)
    return ProcessSandbox(why=f"this host cannot isolate: {why}", sdk=sdk)
