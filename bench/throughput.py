"""Warm invocations per second with 32 concurrent clients, beside a raw HTTP server.

The servers are up side by side: Stratus with a warm function, a minimal raw HTTP server
(uvloop) answering the same JSON, and, for context, an empty ASGI app answering it under
uvicorn set up exactly as `stratus serve` sets it up (the most Stratus's HTTP layer
allows before Stratus does any work). The same load processes drive all three in each
round, in an order that rotates from round to round, so drift in the machine's load hits
them alike; the figures are medians over the rounds, and each ratio is the median of the
per-round ratios. The last line compares Stratus with the raw server.

By default the 32 clients are 32 keep-alive connections over raw sockets, 8 per load
process, each sending a prebuilt signed Invoke request as soon as its previous answer is
in and reading answers by Content-Length: the client side then costs little, and the
figures measure the servers. `--http-client` runs 32 processes with one http.client
connection each instead, as this benchmark did at first: http.client's parsing makes the
clients the raw server's bottleneck, so its figure there says more about the client than
about the server.

    python bench/throughput.py [--clients 32] [--rounds 10] [--seconds 1] [--http-client]
"""

from __future__ import annotations

import argparse
import statistics

from harness import (
    ConnectionLoad,
    bare_asgi_app,
    deploy,
    load_target,
    raw_server,
    signed,
    stratus_server,
)

HANDLER = "def handler(event, context):\n    return {'ok': True}\n"
BODY = b'{"hello": "world"}'
PER_PROCESS = 8


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=1.0, help="per server and round")
    parser.add_argument(
        "--http-client", action="store_true", help="one http.client process per client"
    )
    args = parser.parse_args()
    if args.http_client:
        processes, connections = args.clients, 1
        client = f"{args.clients} http.client processes"
    else:
        processes = max(1, args.clients // PER_PROCESS)
        connections = args.clients // processes
        client = f"{processes * connections} raw-socket connections"

    json_headers = {"Content-Type": "application/json"}
    with (
        stratus_server() as url,
        raw_server(b'{"ok": true}') as raw_url,
        bare_asgi_app(b'{"ok": true}') as asgi_url,
    ):
        path = deploy(url, "bench", HANDLER)
        targets = [
            load_target(url, path, BODY, signed("POST", url + path, BODY)),
            load_target(raw_url, "/", BODY, json_headers),
            load_target(asgi_url, "/", BODY, json_headers),
        ]
        load = ConnectionLoad(targets, processes, connections, http=args.http_client)
        try:
            load.rate(0, 1.0)  # warm up: start the instances
            rates: tuple[list[float], ...] = ([], [], [])
            errors = 0
            order = list(range(len(targets)))
            for round_ in range(args.rounds):
                shift = round_ % len(order)
                for target in order[shift:] + order[:shift]:
                    rate, failed = load.rate(target, args.seconds)
                    rates[target].append(rate)
                    errors += failed if target == 0 else 0
        finally:
            load.close()

    stratus, raw, asgi = rates
    ratios = [s / r for s, r in zip(stratus, raw, strict=True)]
    asgi_ratios = [a / r for a, r in zip(asgi, raw, strict=True)]
    print(f"raw HTTP server (floor)      {statistics.median(raw):9.0f} requests/s")
    print(
        f"empty ASGI app under uvicorn {statistics.median(asgi):9.0f} requests/s"
        f"  (ratio {statistics.median(asgi_ratios):.3f} of the raw server)"
    )
    print(
        f"Stratus warm Invoke          {statistics.median(stratus):9.0f} invocations/s"
        f"  ({errors} errors)"
    )
    print("ratio per round: " + " ".join(f"{r:.3f}" for r in ratios))
    print(
        f"throughput {statistics.median(stratus):.0f}/s with {client} vs raw "
        f"{statistics.median(raw):.0f}/s: ratio {statistics.median(ratios):.3f} "
        f"(median of {args.rounds} rounds of {args.seconds:g} s; goals: >= 3000/s, "
        "ratio >= 0.3)"
    )


if __name__ == "__main__":
    main()
