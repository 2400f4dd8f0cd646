"""API Gateway overhead: an HTTP API in front of a warm function, and a mock integration
through routing and throttling, each beside its baseline measured in the same run.

1. Gateway vs direct Invoke: the same warm function, called through an HTTP API
   (`$default` stage, Lambda proxy, payload 2.0) and by a signed Invoke. The figure is
   the p50 the gateway adds (goal <= 0.3 ms).
   Requests are sequential on one keep-alive connection.
2. Mock vs bare app: a REST API method with a MOCK integration behind stage throttling,
   against a bare ASGI app answering the same JSON under the same uvicorn settings
   (uvloop, httptools), both servers up side by side. The figure is the mock path's
   requests/s as a share of the bare app's (goal >= 0.7).

   A sequential http.client connection mostly measures the client and the round trip
   (the bare server's own work is about a third of a request's time there), so part 2
   loads each server with several keep-alive connections, one per client process, each
   sending prebuilt requests over a raw socket. The same processes drive both servers
   in alternating rounds (mock first in one round, bare first in the next), so drift in
   the machine's load hits both alike; the figures are medians over the rounds. Both
   servers' latency on one sequential connection is printed too, for reference.

    python bench/gateway.py [--count N] [--clients P] [--rounds R] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config

from harness import (
    ACCESS_KEY,
    SECRET_KEY,
    bare_asgi_app,
    deploy,
    signed,
    stratus_server,
    summary,
    timed_requests,
)

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
BODY = b'{"hello": "world"}'
MOCK_BODY = '{"ok": true}'

#: One load process: a keep-alive connection to each target, then "run <target>
#: <seconds>" commands on stdin, each answered "<responses> <elapsed seconds>".
LOAD_CLIENT = textwrap.dedent(
    """
    import json, socket, sys, time

    targets = json.loads(sys.argv[1])
    connections = []
    for host, port, request in targets:
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connections.append((sock, request.encode("latin-1")))

    def one(sock, request):
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise SystemExit("connection closed")
            data += chunk
            head, sep, rest = data.partition(b"\\r\\n\\r\\n")
            if sep:
                break
        if not head.startswith(b"HTTP/1.1 200 "):
            raise SystemExit(head.decode("latin-1"))
        length = 0
        for line in head.split(b"\\r\\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        while len(rest) < length:
            rest += sock.recv(65536)

    for sock, request in connections:
        for _ in range(200):
            one(sock, request)
    print("ready", flush=True)
    for command in sys.stdin:
        _, index, seconds = command.split()
        sock, request = connections[int(index)]
        count, start = 0, time.perf_counter()
        deadline = start + float(seconds)
        while time.perf_counter() < deadline:
            one(sock, request)
            count += 1
        print(count, time.perf_counter() - start, flush=True)
    """
)


def client(url: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}),
    )


def http_api(url: str, function_name: str) -> str:
    """An HTTP API whose `$default` stage sends everything to the function."""
    lam = client(url, "lambda")
    arn = lam.get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    return str(
        client(url, "apigatewayv2").create_api(Name="bench", ProtocolType="HTTP", Target=arn)[
            "ApiId"
        ]
    )


def mock_api(url: str) -> str:
    """A REST API: POST / answered by a MOCK integration, with stage throttling on."""
    v1 = client(url, "apigateway")
    api = v1.create_rest_api(name="bench-mock")
    api_id, root = api["id"], api["rootResourceId"]
    v1.put_method(restApiId=api_id, resourceId=root, httpMethod="POST", authorizationType="NONE")
    v1.put_integration(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    v1.put_integration_response(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        statusCode="200",
        responseTemplates={"application/json": MOCK_BODY},
    )
    v1.create_deployment(restApiId=api_id, stageName="bench")
    v1.update_stage(
        restApiId=api_id,
        stageName="bench",
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1000000"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "1000000"},
        ],
    )
    return str(api_id)


def rps(samples: list[float]) -> float:
    return 1000 / statistics.mean(samples)


def raw_request(url: str, path: str, host: str, body: bytes) -> list[Any]:
    """(host, port, request text) for a load process: a POST with a JSON body."""
    address, port = url.removeprefix("http://").rsplit(":", 1)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return [address, int(port), head + body.decode("latin-1")]


@contextmanager
def load_clients(targets: Sequence[list[Any]], count: int) -> Iterator[list[subprocess.Popen[str]]]:
    """`count` load processes, each connected to every target and warmed up."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD_CLIENT, json.dumps(targets)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a load process failed to start")
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def concurrent_rps(procs: list[subprocess.Popen[str]], target: int, seconds: float) -> float:
    """Requests/s the server of `target` answers while every process loads it at once."""
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"run {target} {seconds}\n")
        proc.stdin.flush()
    total = 0.0
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if len(line) != 2:
            raise RuntimeError("a load process failed (see its error above)")
        total += int(line[0]) / float(line[1])
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=3, help="load processes in part 2")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=0.5, help="per target and round")
    args = parser.parse_args()
    warmup = min(500, args.count // 4)
    json_headers = {"Content-Type": "application/json"}

    with stratus_server() as url, bare_asgi_app(MOCK_BODY.encode()) as bare_url:
        path = deploy(url, "bench", HANDLER)
        api_id = http_api(url, "bench")
        port = url.rsplit(":", 1)[1]
        gateway_headers = {**json_headers, "Host": f"{api_id}.execute-api.localhost:{port}"}
        invoke_headers = signed("POST", url + path, BODY)
        # Interleave halves so drift (warm-up, background work) hits both alike.
        direct = timed_requests(url, path, BODY, invoke_headers, args.count // 2, warmup)
        gateway = timed_requests(url, "/", BODY, gateway_headers, args.count // 2, warmup)
        direct += timed_requests(url, path, BODY, invoke_headers, args.count // 2, 50)
        gateway += timed_requests(url, "/", BODY, gateway_headers, args.count // 2, 50)

        mock_id = mock_api(url)
        mock_host = f"{mock_id}.execute-api.localhost:{port}"
        # One sequential connection, as in part 1: latency, for reference.
        mock_headers = {**json_headers, "Host": mock_host}
        mock_serial = timed_requests(url, "/bench/", BODY, mock_headers, args.count // 2, warmup)
        bare_serial = timed_requests(bare_url, "/", BODY, json_headers, args.count // 2, warmup)
        mock_serial += timed_requests(url, "/bench/", BODY, mock_headers, args.count // 2, 50)
        bare_serial += timed_requests(bare_url, "/", BODY, json_headers, args.count // 2, 50)

        targets = [
            raw_request(url, "/bench/", mock_host, BODY),
            raw_request(bare_url, "/", "localhost", BODY),
        ]
        mock: list[float] = []
        bare: list[float] = []
        with load_clients(targets, args.clients) as procs:
            for round_ in range(args.rounds):
                order = (0, 1) if round_ % 2 == 0 else (1, 0)
                for target in order:
                    (mock, bare)[target].append(concurrent_rps(procs, target, args.seconds))

    print(summary("direct Invoke (warm)", direct) + f"   {rps(direct):8.0f} req/s")
    print(summary("HTTP API -> same function", gateway) + f"   {rps(gateway):8.0f} req/s")
    print(summary("bare ASGI app (uvicorn)", bare_serial) + f"   {rps(bare_serial):8.0f} req/s")
    print(summary("REST MOCK + throttling", mock_serial) + f"   {rps(mock_serial):8.0f} req/s")
    ratios = [m / b for m, b in zip(mock, bare, strict=True)]
    print(
        f"{args.clients} connections: bare app {statistics.median(bare):.0f} req/s, mock path "
        f"{statistics.median(mock):.0f} req/s; ratio per round ({args.seconds:g} s each): "
        + " ".join(f"{r:.2f}" for r in ratios)
    )
    added = statistics.median(gateway) - statistics.median(direct)
    print(
        f"gateway adds {added:.3f} ms at p50 over direct Invoke "
        f"({statistics.median(gateway):.3f} vs {statistics.median(direct):.3f} ms: ratio "
        f"{statistics.median(gateway) / statistics.median(direct):.2f}, goal <= +0.3 ms)"
    )
    print(
        f"mock path {statistics.median(mock):.0f} req/s vs bare app "
        f"{statistics.median(bare):.0f} req/s: ratio {statistics.median(ratios):.2f} "
        f"({args.clients} connections, median of {args.rounds} rounds; goal >= 0.7)"
    )


if __name__ == "__main__":
    main()
