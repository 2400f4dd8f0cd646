"""1,000 concurrent invocations of a handler that sleeps 1 s, from zero warm instances.

Every call must succeed (no throttle, no error). The burst runs twice, each time on a
fresh server whose function has no instance: once with the default pool of spare
instances (two per runtime: nearly every call forks its instance), and once with a pool
of as many spares as there are calls (`STRATUS_SPARES`; forked, namespaced and
pre-faulted before the burst, but not one of them has loaded the function: every call
is still a cold start). Prints each wall time beside the ideal (1 s: all of them
sleeping at once) and beside a baseline measured in the same run: as many fresh
`python3 -c` processes of the same interpreter, started at once, each sleeping 1 s
(what a platform that starts an unsandboxed interpreter per instance pays at least);
and the memory the server and its instances added to the host's (memory in use before
the server started, subtracted): the ready pool's before the burst, and the peak.

    python bench/concurrency.py [--calls 1000] [--spares N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import urllib.request

from harness import deploy, signed, stratus_server
from stratus.runtimes.catalog import find_runtime

HANDLER = "import time\ndef handler(event, context):\n    time.sleep(1)\n    return 'slept'\n"


def memory_in_use_mb() -> float:
    """Memory in use on the host (MemTotal - MemAvailable), in MB.

    Read from /proc/meminfo, which costs the same however many processes there are:
    walking every instance's /proc/PID/smaps_rollup instead took a fifth of the two
    cores during the burst, slowing down what it measured."""
    fields = {}
    with open("/proc/meminfo") as meminfo:
        for row in meminfo:
            name, _, value = row.partition(":")
            fields[name] = int(value.split()[0])
    return (fields["MemTotal"] - fields["MemAvailable"]) / 1000


async def call(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
        f"{head}Connection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    status_line = await reader.readline()
    await reader.read()
    writer.close()
    return int(status_line.split()[1])


async def storm(
    url: str, path: str, headers: dict[str, str], calls: int
) -> tuple[float, list[int], float]:
    host, port = url.removeprefix("http://").split(":")
    peak = 0.0
    start = time.perf_counter()
    tasks = [asyncio.create_task(call(host, int(port), path, headers, b"{}")) for _ in range(calls)]
    while not all(t.done() for t in tasks):
        peak = max(peak, memory_in_use_mb())
        await asyncio.sleep(0.05)
    wall = time.perf_counter() - start
    return wall, [t.result() for t in tasks], peak


async def fresh_processes(interpreter: str, count: int) -> float:
    """Wall time of `count` fresh interpreters started at once, each sleeping 1 s."""
    start = time.perf_counter()
    processes = [
        await asyncio.create_subprocess_exec(
            interpreter, "-c", "import time; time.sleep(1)", env={"PATH": "/usr/bin:/bin"}
        )
        for _ in range(count)
    ]
    codes = await asyncio.gather(*(process.wait() for process in processes))
    if any(codes):
        raise RuntimeError(f"a fresh process failed: {sorted(set(codes))}")
    return time.perf_counter() - start


def burst(calls: int, spares: int | None) -> tuple[float, list[int], float, float]:
    """One burst on a fresh server (`spares` per zygote, or the default): its wall
    time, the statuses, and the memory added by the ready pool and at the peak (MB)."""
    env = {
        "STRATUS_MAX_INSTANCES": str(calls + 10),
        "STRATUS_CONCURRENCY_LIMIT": str(max(1000, calls)),
    }
    if spares is not None:
        env["STRATUS_SPARES"] = str(spares)
    before = memory_in_use_mb()
    with stratus_server(**env) as url:
        path = deploy(url, "sleeper", HANDLER, Timeout=60)
        if spares is not None:
            wait_for_spares(url, spares)
        ready = memory_in_use_mb() - before
        headers = signed("POST", url + path, b"{}")
        wall, statuses, peak = asyncio.run(storm(url, path, headers, calls))
    return wall, statuses, ready, peak - before


def wait_for_spares(url: str, count: int, timeout: float = 300) -> None:
    """Until the server's pool holds `count` spares (deploying forked its runtime's)."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(url + "/_stratus/info", timeout=10) as response:
            ready = json.load(response)["sparesReady"]
        if ready >= count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {ready} of {count} spares after {timeout:.0f} s")
        time.sleep(0.25)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument(
        "--spares", type=int, help="the pool of the second burst (default: as many as calls)"
    )
    args = parser.parse_args()
    pool = args.calls if args.spares is None else args.spares
    results = [("default pool (2 spares)", burst(args.calls, None))]
    results.append((f"a pool of {pool} spares", burst(args.calls, pool)))
    runtime = find_runtime("python3.12")
    fresh = asyncio.run(fresh_processes(runtime.interpreter, args.calls)) if runtime else None
    for label, (wall, statuses, ready, peak) in results:
        ok = statuses.count(200)
        print(
            f"{label}: {args.calls} concurrent calls, {ok} succeeded, {args.calls - ok} failed "
            f"(statuses {sorted(set(statuses))}) in {wall:.2f} s; memory {ready:.0f} MB "
            f"before the burst, {peak:.0f} MB at its peak"
        )
    if fresh is not None:
        print(f"{args.calls} fresh python3 processes sleeping 1 s, started at once: {fresh:.2f} s")
    wall = results[-1][1][0]
    baseline = f"; vs fresh processes {fresh:.2f} s: ratio {wall / fresh:.2f}" if fresh else ""
    print(
        f"wall time with {pool} spares {wall:.2f} s (default pool {results[0][1][0]:.2f} s) "
        f"vs ideal 1.00 s: ratio {wall:.2f}x{baseline} (goal: <= 3 s, no errors)"
    )


if __name__ == "__main__":
    main()
