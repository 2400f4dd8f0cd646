"""What the benchmarks share: a real server to measure, a raw floor, percentiles."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ACCESS_KEY = "AKIASTRATUSBENCH0001"
SECRET_KEY = "stratus-bench-secret-000000000000000000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def stratus_server(**env: str) -> Iterator[str]:
    """A `stratus serve` subprocess in a throw-away data directory; yields its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stratus.cli.main",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                data,
            ],
            env={
                **os.environ,
                "STRATUS_ACCESS_KEY_ID": ACCESS_KEY,
                "STRATUS_SECRET_ACCESS_KEY": SECRET_KEY,
                **env,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/_stratus/health")
            yield f"http://127.0.0.1:{port}"
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


RAW_SERVER = textwrap.dedent(
    """
    import asyncio, sys
    import uvloop

    BODY = sys.argv[2].encode()
    RESPONSE = (b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\n"
                b"Content-Length: " + str(len(BODY)).encode() + b"\\r\\n\\r\\n" + BODY)

    class Raw(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport, self.buffer = transport, b""
        def data_received(self, data):
            self.buffer += data
            while True:
                head, sep, rest = self.buffer.partition(b"\\r\\n\\r\\n")
                if not sep:
                    return
                length = 0
                for line in head.split(b"\\r\\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if len(rest) < length:
                    return
                self.buffer = rest[length:]
                self.transport.write(RESPONSE)

    async def main():
        server = await asyncio.get_running_loop().create_server(Raw, "127.0.0.1", int(sys.argv[1]))
        await server.serve_forever()

    uvloop.run(main())
    """
)


BARE_ASGI_APP = textwrap.dedent(
    """
    import sys
    import uvicorn, uvloop
    from stratus.cli.serve import uvicorn_config

    BODY = sys.argv[2].encode()
    HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": BODY})

    uvloop.run(uvicorn.Server(uvicorn_config(app, "127.0.0.1", int(sys.argv[1]))).serve())
    """
)


@contextmanager
def raw_server(body: bytes) -> Iterator[str]:
    """The floor: a minimal asyncio (uvloop) HTTP server answering fixed JSON."""
    with _floor_process(RAW_SERVER, body) as url:
        yield url


@contextmanager
def bare_asgi_app(body: bytes) -> Iterator[str]:
    """An empty ASGI app answering fixed JSON under uvicorn set up as `stratus serve` sets
    it up: the most Stratus's HTTP layer allows before Stratus does any work."""
    with _floor_process(BARE_ASGI_APP, body) as url:
        yield url


@contextmanager
def _floor_process(script: str, body: bytes) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(port), body.decode()], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def signed(method: str, url: str, body: bytes, service: str = "lambda") -> dict[str, str]:
    """Headers of a SigV4-signed request (valid for replay within 15 minutes)."""
    request = AWSRequest(method=method, url=url, data=body)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, "us-east-1").add_auth(request)
    return dict(request.headers.items())


def timed_requests(
    url: str, path: str, body: bytes, headers: dict[str, str], count: int, warmup: int
) -> list[float]:
    """Sequential requests on one keep-alive connection; latencies in ms."""
    host = url.removeprefix("http://")
    conn = http.client.HTTPConnection(host, timeout=30)
    samples: list[float] = []
    for i in range(warmup + count):
        start = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200:
            raise RuntimeError(f"status {response.status}")
        if i >= warmup:
            samples.append(elapsed)
    conn.close()
    return samples


def lambda_client(url: str) -> Any:
    """A boto3 Lambda client for a benchmark server (no retries: errors must show)."""
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}, read_timeout=900),
    )


def deploy(url: str, name: str, source: str, **config: Any) -> str:
    """Create a function from handler source, wait until it is Active, and return the
    path of its Invoke operation."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", source)
    lam = lambda_client(url)
    lam.create_function(
        FunctionName=name,
        Runtime=config.pop("Runtime", "python3.12"),
        Role="arn:aws:iam::000000000000:role/bench",
        Handler="lambda_function.handler",
        Code={"ZipFile": buffer.getvalue()},
        **config,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return f"/2015-03-31/functions/{name}/invocations"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(label: str, samples: list[float]) -> str:
    return (
        f"{label:<28} p50 {statistics.median(samples):7.3f} ms   "
        f"p99 {percentile(samples, 99):7.3f} ms   (n={len(samples)})"
    )


#: A load process: `conns` keep-alive connections to each target, all kept busy at once
#: (each sends its next request as soon as its answer is in), then "run <target>
#: <seconds>" commands on stdin, each answered "<responses> <elapsed seconds> <errors>".
#: With "raw", requests are prebuilt bytes and answers are read by Content-Length, so
#: the client costs a small fraction of what http.client does and leaves the cores to
#: the servers; with "http", each connection is an http.client connection, driven one
#: request at a time (so give such a process one connection).
MULTI_LOAD_CLIENT = textwrap.dedent(
    """
    import http.client, json, selectors, socket, sys, time

    targets, conns, mode = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    selector = selectors.DefaultSelector()

    def raw_text(host, port, path, headers, body):
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
        lines.append(f"Content-Length: {len(body)}")
        return ("\\r\\n".join(lines) + "\\r\\n\\r\\n" + body).encode("latin-1")

    pools = []
    for host, port, path, headers, body in targets:
        pool = []
        for _ in range(conns):
            if mode == "http":
                pool.append(http.client.HTTPConnection(host, port, timeout=60))
            else:
                sock = socket.create_connection((host, port))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                pool.append(sock)
        pools.append((pool, raw_text(host, port, path, headers, body), (path, body, headers)))

    def complete(data):
        # None while the answer is incomplete, else (ok, bytes past its end).
        end = data.find(b"\\r\\n\\r\\n")
        if end < 0:
            return None
        length = 0
        for line in data[:end].split(b"\\r\\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if len(data) < end + 4 + length:
            return None
        return data.startswith(b"HTTP/1.1 200 "), data[end + 4 + length:]

    def run_http(pool, request, seconds):
        path, body, headers = request
        done = errors = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            for conn in pool:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                done += response.status == 200
                errors += response.status != 200
        return done, time.perf_counter() - start, errors

    def run(index, seconds):
        pool, request, parts = pools[index]
        if mode == "http":
            return run_http(pool, parts, seconds)
        buffers = {}
        for sock in pool:
            selector.register(sock, selectors.EVENT_READ)
            buffers[sock] = b""
            sock.sendall(request)
        done = errors = 0
        start = time.perf_counter()
        deadline = start + seconds
        busy = len(pool)
        while busy:
            for key, _ in selector.select():
                sock = key.fileobj
                chunk = sock.recv(65536)
                if not chunk:
                    raise SystemExit("connection closed")
                data = buffers[sock] + chunk
                result = complete(data)
                if result is None:
                    buffers[sock] = data
                    continue
                ok, buffers[sock] = result
                done += ok
                errors += not ok
                if time.perf_counter() < deadline:
                    sock.sendall(request)
                else:
                    selector.unregister(sock)
                    busy -= 1
        return done, time.perf_counter() - start, errors

    for index in range(len(pools)):
        run(index, 0.3)
    print("ready", flush=True)
    for command in sys.stdin:
        _, index, seconds = command.split()
        print(*run(int(index), float(seconds)), flush=True)
    """
)


def load_target(url: str, path: str, body: bytes, headers: dict[str, str]) -> list[Any]:
    """A target for `ConnectionLoad`: POST `body` with `headers` to `url` + `path`."""
    address, port = url.removeprefix("http://").rsplit(":", 1)
    kept = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
    return [address, int(port), path, kept, body.decode("latin-1")]


class ConnectionLoad:
    """`processes` load processes, each with `connections` keep-alive connections to every
    target (raw sockets, or http.client with `http=True`), all driven at once:
    `processes * connections` concurrent clients per target."""

    def __init__(
        self, targets: list[list[Any]], processes: int, connections: int, http: bool = False
    ) -> None:
        self.clients = processes * connections
        mode = "http" if http else "raw"
        self._procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    MULTI_LOAD_CLIENT,
                    json.dumps(targets),
                    str(connections),
                    mode,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        for proc in self._procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                self.close()
                raise RuntimeError("a load process failed to start")

    def rate(self, target: int, seconds: float) -> tuple[float, int]:
        """(responses/s, errors) of target `target` while every connection loads it."""
        for proc in self._procs:
            assert proc.stdin is not None
            proc.stdin.write(f"run {target} {seconds}\n")
            proc.stdin.flush()
        total, errors = 0.0, 0
        for proc in self._procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().split()
            if len(line) != 3:
                raise RuntimeError("a load process failed (see its error above)")
            total += int(line[0]) / float(line[1])
            errors += int(line[2])
        return total, errors

    def close(self) -> None:
        for proc in self._procs:
            proc.kill()
            proc.wait()
