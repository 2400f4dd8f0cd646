"""Cold starts: a fresh instance for every invocation, beside a fresh `python3 -c` spawn.

Two handlers: a trivial one, and one that imports a heavy package (boto3 and botocore,
vendored into the function's zip with their bytecode, as people ship them). Each is
deployed as many functions with the same code, and each function is invoked once (a
cold start: nothing warm to reuse) and then once more (warm), over HTTP, with a
request signed ahead of time. Beside them, in the same run, the same handler is run by
a fresh `python3 -c` of the same interpreter: the cost a platform that starts a new
interpreter per instance pays at least. For the trivial handler the spawns alternate
with the cold calls: 50 ms after the last call (the server's work after it is done), a
spawn, then the cold call. Its ratio is the median of each cold call's ratio to the
spawn before it, so that the machine's busy and quiet phases (this VM has both) weigh
on the two alike. (Cold calls that follow each other within a millisecond or two are
0.3-0.7 ms slower: the spare made after one competes with the next for the cores.)

Stratus initialises a function when it is deployed (sandbox/templates.py), so the heavy
handler's first call is measured twice: a second after its deployment (by then its
initialisation has run, and the call gets a copy of it), and on a second server started
with STRATUS_INIT_ON_DEPLOY=0, where the first call initialises the function itself.

The heavy handler a third time, as most Lambda functions are written: importing the
runtime's boto3 instead of packaging its own (Stratus's zygote for such functions has
imported it ahead: runtimes/sdk.py); the fresh spawn it is compared with imports the
same boto3 (the vendored copy above).

Then the heavy handler once more, as one function that keeps needing new instances
(scaling out): before each measured call, another call holds the instance that is
idle, so the measured one gets a new instance, copied from the function's template
(the first starts are not measured).

Figures: cold invoke latency p50/p99; the platform-added part (cold minus warm latency
of the same function, and the REPORT line's Init Duration minus the handler's own
import time); the ratio of the cold invoke to the fresh spawn.

    python bench/cold_start.py [--count 100] [--heavy-count 40]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

from harness import lambda_client, percentile, signed, stratus_server
from stratus.runtimes.catalog import find_runtime

RUNTIME = "python3.12"
TRIVIAL = "def handler(event, context):\n    return {'ok': True}\n"
HEAVY = (
    "import time\n"
    "import boto3\n"
    "def handler(event, context):\n"
    "    time.sleep(event.get('hold', 0))\n"
    "    return {'ok': True, 'boto3': boto3.__version__}\n"
)
#: Scaling out: starts before the measured ones (the template is made meanwhile).
SCALE_OUT_WARM_UP = 3
#: What the heavy handler vendors, from this environment's site-packages.
HEAVY_PACKAGES = ("boto3", "botocore", "jmespath", "dateutil", "s3transfer", "urllib3", "six.py")
INIT = re.compile(r"Init Duration: ([0-9.]+) ms")
#: Seconds between deploying a heavy function and its first call: its initialisation at
#: deployment takes about half of that here.
AFTER_DEPLOY = 1.0


def site_packages() -> Path:
    import botocore

    return Path(botocore.__file__).resolve().parent.parent


def build_code(handler: str, heavy: bool, interpreter: str) -> Path:
    """A code directory with the handler (and its packages), compiled for `interpreter`."""
    code = Path(tempfile.mkdtemp(prefix="stratus-bench-code-"))
    (code / "lambda_function.py").write_text(handler)
    if heavy:
        source = site_packages()
        for name in HEAVY_PACKAGES:
            if (source / name).is_dir():
                # botocore's service models (28 MB) load only when a client is made.
                ignore = shutil.ignore_patterns("__pycache__", "data")
                shutil.copytree(source / name, code / name, ignore=ignore)
            else:
                shutil.copy(source / name, code / name)
        data = source / "botocore" / "data"
        (code / "botocore" / "data").mkdir()
        for item in data.glob("*.json"):
            shutil.copy(item, code / "botocore" / "data" / item.name)
    # Unchecked-hash bytecode stays valid whatever mtimes unpacking the zip gives files.
    compile_all = [interpreter, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash"]
    subprocess.run([*compile_all, str(code)], check=True)
    return code


def zipped(code: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(code.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(code))
    return buffer.getvalue()


def fresh_spawn(interpreter: str, code: Path) -> float:
    """Wall time of one `python3 -c` importing and calling the handler, in ms."""
    script = (
        f"import sys; sys.path.insert(0, {str(code)!r}); import lambda_function; "
        "lambda_function.handler({}, None)"
    )
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    start = time.perf_counter()
    subprocess.run([interpreter, "-c", script], check=True, env=env)
    return (time.perf_counter() - start) * 1000


def fresh_spawns(interpreter: str, code: Path, count: int) -> list[float]:
    """`count` fresh spawns (`fresh_spawn`), one after another, in ms."""
    return [fresh_spawn(interpreter, code) for _ in range(count)]


def import_time(interpreter: str, code: Path, count: int = 15) -> float:
    """Median time the handler module takes to import in a running interpreter, in ms."""
    script = (
        f"import sys, time; sys.path.insert(0, {str(code)!r}); t = time.perf_counter(); "
        "import lambda_function; print((time.perf_counter() - t) * 1000)"
    )
    runs = [
        float(subprocess.run([interpreter, "-c", script], capture_output=True, check=True).stdout)
        for _ in range(count)
    ]
    return statistics.median(runs)


def invoke(url: str, name: str, body: bytes = b"{}") -> tuple[float, float | None]:
    """(latency ms, Init Duration ms or None) of one signed Invoke."""
    path = f"/2015-03-31/functions/{name}/invocations"
    headers = signed("POST", url + path, body)
    headers["X-Amz-Log-Type"] = "Tail"
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=120)
    connection.connect()
    start = time.perf_counter()
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    answer = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    connection.close()
    if response.status != 200 or response.getheader("X-Amz-Function-Error"):
        raise RuntimeError(f"{name}: status {response.status}: {answer[:500]!r}")
    tail = base64.b64decode(response.getheader("X-Amz-Log-Result") or "").decode()
    found = INIT.search(tail)
    return elapsed, float(found.group(1)) if found else None


def measure(
    url: str,
    lam: Any,
    label: str,
    code: Path,
    count: int,
    after_deploy: float | None = None,
    spawn_with: str | None = None,
) -> dict[str, list[float]]:
    """Cold and warm calls of `count` - 1 functions with the same code: all deployed
    first, or each `after_deploy` seconds before its first call. With `spawn_with` (an
    interpreter), a fresh spawn of the same handler right before each cold call."""
    data = zipped(code)
    names = [f"{label}-{i}" for i in range(count)]
    for name in names if after_deploy is None else names[:1]:
        create(lam, name, data)
    invoke(url, names[0])  # the runtime's zygote starts here: not part of any sample
    result: dict[str, list[float]] = {"cold": [], "warm": [], "init": [], "spawn": []}
    for name in names[1:]:
        if after_deploy is not None:
            create(lam, name, data)
            time.sleep(after_deploy)
        if spawn_with is not None:
            time.sleep(0.05)  # the server's own work after the last call is done
            result["spawn"].append(fresh_spawn(spawn_with, code))
        cold, init = invoke(url, name)
        warm, _ = invoke(url, name)
        result["cold"].append(cold)
        result["warm"].append(warm)
        if init is not None:
            result["init"].append(init)
    return result


def measure_scale_out(url: str, lam: Any, code: Path, count: int) -> dict[str, list[float]]:
    """Cold starts of one function that keeps needing new instances: each measured call
    finds its one idle instance held by another call (a new instance each time)."""
    name = "heavy-scale-out"
    create(lam, name, zipped(code))
    hold = 1.0 + 0.5 * (count + SCALE_OUT_WARM_UP)  # outlasts every measured call
    holders: list[threading.Thread] = []
    result: dict[str, list[float]] = {"cold": [], "init": []}
    invoke(url, name)  # the first instance: the one the next call holds
    for i in range(SCALE_OUT_WARM_UP + count):
        holder = threading.Thread(target=invoke, args=(url, name, b'{"hold": %f}' % hold))
        holder.start()
        holders.append(holder)
        time.sleep(0.3)  # until it has the idle instance
        cold, init = invoke(url, name)
        if i == SCALE_OUT_WARM_UP - 1:
            time.sleep(2.0)  # until its template has initialised
        if i >= SCALE_OUT_WARM_UP:
            result["cold"].append(cold)
            if init is not None:
                result["init"].append(init)
    for holder in holders:
        holder.join()
    return result


def create(lam: Any, name: str, data: bytes) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime=RUNTIME,
        Role="arn:aws:iam::000000000000:role/bench",
        Handler="lambda_function.handler",
        Code={"ZipFile": data},
        MemorySize=1769,
        Timeout=60,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def line(label: str, samples: list[float]) -> str:
    return (
        f"{label:<38} p50 {statistics.median(samples):8.2f} ms   "
        f"p99 {percentile(samples, 99):8.2f} ms   (n={len(samples)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--heavy-count", type=int, default=40)
    args = parser.parse_args()
    runtime = find_runtime(RUNTIME)
    if runtime is None:
        sys.exit(f"{RUNTIME} is not installed")
    trivial_code = build_code(TRIVIAL, False, runtime.interpreter)
    heavy_code = build_code(HEAVY, True, runtime.interpreter)
    sdk_code = build_code(HEAVY, False, runtime.interpreter)
    try:
        with stratus_server() as url:
            lam = lambda_client(url)
            trivial = measure(
                url, lam, "trivial", trivial_code, args.count + 1, spawn_with=runtime.interpreter
            )
            heavy = measure(url, lam, "heavy", heavy_code, args.heavy_count + 1, AFTER_DEPLOY)
            runtime_sdk = measure(url, lam, "sdk", sdk_code, args.heavy_count + 1)
            scaled = measure_scale_out(url, lam, heavy_code, args.heavy_count)
        with stratus_server(STRATUS_INIT_ON_DEPLOY="0") as url:
            at_call = measure(url, lambda_client(url), "heavy", heavy_code, args.heavy_count + 1)
        spawn_heavy = fresh_spawns(runtime.interpreter, heavy_code, args.heavy_count)
        heavy_import = import_time(runtime.interpreter, heavy_code)
    finally:
        shutil.rmtree(trivial_code, ignore_errors=True)
        shutil.rmtree(heavy_code, ignore_errors=True)
        shutil.rmtree(sdk_code, ignore_errors=True)

    spawn_trivial = trivial["spawn"]
    added = [c - w for c, w in zip(trivial["cold"], trivial["warm"], strict=True)]
    added_heavy = [
        c - w - heavy_import for c, w in zip(at_call["cold"], at_call["warm"], strict=True)
    ]
    print(line("fresh python3 -c, trivial handler", spawn_trivial))
    print(line("Stratus cold invoke, trivial", trivial["cold"]))
    print(line("  its Init Duration", trivial["init"]))
    print(line("  warm invoke of the same functions", trivial["warm"]))
    print(line("  platform-added (cold - warm)", added))
    print(line("fresh python3 -c, importing boto3", spawn_heavy))
    print(line(f"Stratus first call {AFTER_DEPLOY:g} s after deploy", heavy["cold"]))
    print(line("  its Init Duration (template copies)", heavy["init"]))
    print(line("Stratus first call, initialised by it", at_call["cold"]))
    print(line("  its Init Duration", at_call["init"]))
    print(f"{'  boto3 import in a running python':<38} p50 {heavy_import:8.2f} ms")
    print(line("  platform-added (cold - warm - import)", added_heavy))
    print(line("Stratus cold invoke, the runtime's boto3", runtime_sdk["cold"]))
    print(line("  its Init Duration", runtime_sdk["init"]))
    print(line("Stratus cold invoke, boto3, scaling out", scaled["cold"]))
    print(line("  its Init Duration (template copies)", scaled["init"]))
    heavy_spawn = statistics.median(spawn_heavy)
    # Each cold call beside the spawn just before it: the machine's slow and quick
    # phases then weigh on both alike.
    ratio = statistics.median([c / f for c, f in zip(trivial["cold"], spawn_trivial, strict=True)])
    ratio_deployed = statistics.median(heavy["cold"]) / heavy_spawn
    ratio_at_call = statistics.median(at_call["cold"]) / heavy_spawn
    ratio_scaled = statistics.median(scaled["cold"]) / heavy_spawn
    ratio_sdk = statistics.median(runtime_sdk["cold"]) / heavy_spawn
    print(
        f"cold start p50 {statistics.median(trivial['cold']):.2f} ms (platform-added "
        f"p50 {statistics.median(added):.2f} ms, p99 {percentile(added, 99):.2f} ms; goal "
        f"<= 10 / 50) vs fresh python3 spawn {statistics.median(spawn_trivial):.2f} ms: "
        f"ratio {ratio:.2f} (heavy: first call after deploy {ratio_deployed:.2f}, "
        f"initialised by the call {ratio_at_call:.2f}, with the runtime's boto3 "
        f"{ratio_sdk:.2f}, scaling out {ratio_scaled:.2f}; goal <= 0.3)"
    )


if __name__ == "__main__":
    main()
