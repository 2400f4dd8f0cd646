"""Density: 1,000 idle warm isolated instances at once.

Starts them all together through the isolated sandbox (the engine the server uses),
invokes each once so it is warm, then measures, while all of them sit idle:

- private memory per instance: the pages only that instance holds (Private_Clean +
  Private_Dirty of its processes, init and runtime, from /proc/<pid>/smaps_rollup);
- the host's cost per instance: the drop in MemAvailable divided by the count, which
  adds what the kernel spends (page tables, namespaces, mounts, tmpfs, sockets);
- the time from zero to all of them ready.

The same-run baseline is the process sandbox: a fresh interpreter per instance, no
isolation (fewer of them; its time is scaled to the same count).

    python bench/density.py [--count 1000] [--baseline 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from stratus.runtimes.catalog import find_runtime
from stratus.sandbox import Instance, InstanceSpec, InvokeRequest, ProcessSandbox, Sandbox
from stratus.sandbox.host import detect
from stratus.sandbox.isolated import IsolatedSandbox
from stratus.sandbox.process import ProcessInstance

RUNTIME = "python3.12"
HANDLER = "def handler(event, context):\n    return {'ok': True}\n"


def private_kb(pid: int) -> int:
    """Pages only this process holds, in KiB."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except OSError:
        return 0
    return total


def instance_pids(instances: list[Instance]) -> list[list[int]]:
    """Each instance's processes as the host numbers them: every process in its init's
    PID namespace (init and runtime, the runtime being the zygote's child), or the
    only process of an instance without one."""
    by_namespace: dict[str, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                by_namespace.setdefault(os.readlink(f"/proc/{entry}/ns/pid"), []).append(int(entry))
    own = os.readlink("/proc/self/ns/pid")
    found = []
    for instance in instances:
        assert isinstance(instance, ProcessInstance)
        try:
            namespace = os.readlink(f"/proc/{instance.pid}/ns/pid")
        except OSError:
            namespace = own
        found.append([instance.pid] if namespace == own else by_namespace.get(namespace, []))
    return found


def mem_available_kb() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    raise RuntimeError("no MemAvailable")


async def fill(sandbox: Sandbox, spec: InstanceSpec, count: int) -> dict[str, Any]:
    """Start `count` instances at once, warm them, measure them idle, close them."""
    warmup = await sandbox.start(spec)  # the zygote starts here, outside the figures
    await warmup.close()
    await asyncio.sleep(1)
    available = mem_available_kb()
    started = time.perf_counter()
    instances = await asyncio.gather(*(sandbox.start(spec) for _ in range(count)))
    ready = time.perf_counter() - started
    request = InvokeRequest("density", b"{}", time.time() + 60, "arn:aws:lambda:::function:d")
    outcomes = await asyncio.gather(*(instance.invoke(request) for instance in instances))
    if any(outcome.payload != b'{"ok": true}' for outcome in outcomes):
        raise RuntimeError("an instance did not answer")
    await asyncio.sleep(2)
    private = [sum(map(private_kb, pids)) / 1024 for pids in instance_pids(instances)]
    host = (available - mem_available_kb()) / 1024 / count
    await asyncio.gather(*(instance.close() for instance in instances))
    return {"ready_s": ready, "private_mb": private, "host_mb": host}


def environment() -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_FUNCTION_NAME": "density",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    }


async def run(count: int, baseline_count: int) -> None:
    runtime = find_runtime(RUNTIME)
    if runtime is None:
        sys.exit(f"{RUNTIME} is not installed")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as work:
        code = Path(work) / "code"
        code.mkdir()
        (code / "lambda_function.py").write_text(HANDLER)
        os.chmod(code, 0o755)
        spec = InstanceSpec(
            runtime=RUNTIME,
            interpreter=runtime.interpreter,
            code_dir=code,
            handler="lambda_function.handler",
            environment=environment(),
        )
        features = detect()
        if not features.can_isolate:
            sys.exit("this host cannot isolate: " + "; ".join(features.missing))
        isolated = IsolatedSandbox.create(features, Path(work) / "sandbox")
        try:
            found = await fill(isolated, spec, count)
        finally:
            await isolated.close()
        base = await fill(ProcessSandbox(), spec, baseline_count)

    private = statistics.median(found["private_mb"])
    base_private = statistics.median(base["private_mb"])
    base_ready = base["ready_s"] * count / baseline_count
    print(
        json.dumps(
            {
                "isolated": {**found, "private_mb": private},
                "process": {**base, "private_mb": base_private},
            }
        )
    )
    print(
        f"isolated, {count} instances:  ready in {found['ready_s']:.2f} s; private memory "
        f"per idle instance p50 {private:.2f} MB; host MemAvailable drop per instance "
        f"{found['host_mb']:.2f} MB"
    )
    print(
        f"fresh processes, {baseline_count} instances: ready in {base['ready_s']:.2f} s "
        f"({base_ready:.2f} s scaled to {count}); private memory p50 {base_private:.2f} MB; "
        f"host drop per instance {base['host_mb']:.2f} MB"
    )
    print(
        f"{count} idle isolated instances: {private:.2f} MB private each (goal <= 3) vs "
        f"{base_private:.2f} MB for a fresh process: ratio {private / base_private:.2f}; "
        f"0 to {count} ready in {found['ready_s']:.2f} s (goal <= 10) vs {base_ready:.2f} s: "
        f"ratio {found['ready_s'] / base_ready:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args.count, args.baseline))


if __name__ == "__main__":
    main()
