"""`stratus serve`: run a node under uvicorn and say how to use it."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from typing import Any

import uvicorn
import uvloop

from stratus.config import Settings
from stratus.server import Node, banner


def run(settings: Settings) -> None:
    """Serve until interrupted."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    node = Node(settings)
    server = uvicorn.Server(uvicorn_config(node, settings.host, settings.port))
    # uvicorn's own loop choice only applies when uvicorn runs the loop; this one is ours.
    uvloop.run(_serve(server, node, settings))


def uvicorn_config(app: Any, host: str, port: int) -> uvicorn.Config:
    """How a node's HTTP server runs (`bench/throughput.py` measures an empty app under
    the same settings, as the floor of what this HTTP layer allows)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        # Connections from SDKs stay open between calls; keep them longer than
        # botocore's idle pool does, so a client never races a closing socket.
        timeout_keep_alive=75,
    )


async def _serve(server: uvicorn.Server, node: Node, settings: Settings) -> None:
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise SystemExit(1)
        await asyncio.sleep(0.02)
    endpoint = f"http://{settings.host}:{settings.port}"
    settings.endpoint_path.write_text(endpoint + "\n")
    print(banner(node, endpoint), flush=True)
    # What start-up built (botocore's models, the route tables, compiled validators:
    # some 130,000 objects) lives as long as the node, so the collector stops walking
    # it: a full collection during a burst of 1,000 calls took 170 ms of the loop.
    gc.collect()
    gc.freeze()
    try:
        await task
    finally:
        if (
            settings.endpoint_path.exists()
            and settings.endpoint_path.read_text().strip() == endpoint
        ):
            settings.endpoint_path.unlink(missing_ok=True)
        print("Stratus stopped.", file=sys.stderr, flush=True)
