"""1,000 concurrent invocations of a handler that sleeps 1 s, from zero warm instances.

Every call must succeed (no throttle, no error). Prints the wall time beside the ideal
(1 s: all of them sleeping at once) and beside a baseline measured in the same run: as
many fresh `python3 -c` processes of the same interpreter, started at once, each
sleeping 1 s (what a platform that starts an unsandboxed interpreter per instance
pays at least); and the peak memory the server and its instances added to the host's
(memory in use before the server started, subtracted).

    python bench/concurrency.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    env = {
        "STRATUS_MAX_INSTANCES": str(args.calls + 10),
        "STRATUS_CONCURRENCY_LIMIT": str(max(1000, args.calls)),
    }
    before = memory_in_use_mb()
    with stratus_server(**env) as url:
        path = deploy(url, "sleeper", HANDLER, Timeout=60)
        headers = signed("POST", url + path, b"{}")
        wall, statuses, peak = asyncio.run(storm(url, path, headers, args.calls))
    peak -= before
    runtime = find_runtime("python3.12")
    fresh = asyncio.run(fresh_processes(runtime.interpreter, args.calls)) if runtime else None
    ok = statuses.count(200)
    print(
        f"{args.calls} concurrent calls: {ok} succeeded, {args.calls - ok} failed "
        f"(statuses {sorted(set(statuses))}); peak memory {peak:.0f} MB"
    )
    if fresh is not None:
        print(f"{args.calls} fresh python3 processes sleeping 1 s, started at once: {fresh:.2f} s")
        baseline = f"; vs fresh processes {fresh:.2f} s: ratio {wall / fresh:.2f}"
    else:
        baseline = ""
    print(
        f"wall time {wall:.2f} s vs ideal 1.00 s: ratio {wall:.2f}x{baseline} "
        "(goal: <= 3 s, no errors)"
    )


if __name__ == "__main__":
    main()
