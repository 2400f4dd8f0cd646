"""Builds one Stratus node: stores, engines, services, and the ASGI app in front.

Requests under `/_stratus/` are Stratus's own (health, runtime list, code downloads);
everything else is an AWS wire request. The wire path is a bare ASGI app on purpose: it
is the invoke hot path and needs no general-purpose router in front of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from stratus import __version__
from stratus.config import Settings
from stratus.errors import ResourceNotFoundException
from stratus.functions.aliases import AliasService
from stratus.functions.api import CodeLinks, FunctionsApi
from stratus.functions.code import CodeStore
from stratus.functions.layers import LayerService
from stratus.functions.layers_api import LayersApi
from stratus.functions.model import FunctionVersion
from stratus.functions.packaging import zip_directory
from stratus.functions.policy import PolicyService
from stratus.functions.policy_api import PolicyApi
from stratus.functions.service import FunctionService
from stratus.functions.versions_api import VersionsApi
from stratus.gateway import Gateway, GatewayApp, Workflows
from stratus.iam import KeyPair, RootCredentialStore, load_root_credentials
from stratus.invoke import Invoker, LambdaApi
from stratus.invoke.admission import Admission
from stratus.invoke.api import InvokeApi
from stratus.invoke.async_queue import AsyncDispatcher, EventQueue
from stratus.invoke.asynchronous import AsyncInvocations
from stratus.invoke.event_config import EventInvokeConfigs
from stratus.invoke.provisioned import ProvisionedConcurrency
from stratus.observe import LogsApi, LogStore
from stratus.runtimes import sdk as runtime_sdk
from stratus.runtimes.catalog import available_runtimes
from stratus.sandbox import InstancePool, choose_sandbox
from stratus.states.activities import Activities
from stratus.states.api import StepFunctionsApi
from stratus.states.callbacks import Callbacks
from stratus.states.express import ExpressExecutions
from stratus.states.machines import MachineService
from stratus.states.standard import StandardExecutions
from stratus.states.tasks import NodeTasks
from stratus.store import BlobStore, open_database
from stratus.wire.app import WireApp

log = logging.getLogger(__name__)

DEMO_FUNCTION = "hello"

ASGIScope = dict[str, Any]


@dataclass(frozen=True)
class Demo:
    """What the start-up banner says about the demo function."""

    name: str
    runtime: str


class Node:
    """One Stratus server process and everything it owns."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.credentials, self.created_credentials = load_root_credentials(
            settings.credentials_path
        )
        self.engine = open_database(settings.database_path)
        code = CodeStore(BlobStore(settings.blob_dir), settings.code_dir)
        self.functions = FunctionService(self.engine, code, settings.region, settings.account_id)
        self.aliases = AliasService(self.engine, self.functions)
        self.logs = LogStore(self.engine)
        #: Set once the node stops (ends the SDK directory's in-use marks).
        self._stopped = threading.Event()
        self.sdk = runtime_sdk.prepare(settings.cache_dir)
        if self.sdk is not None:
            threading.Thread(target=self._compile_sdk, name="sdk-compile", daemon=True).start()
        # More spares than the node may run instances would never be taken.
        spares = max(0, min(settings.spares, settings.max_instances))
        self.sandbox = choose_sandbox(
            settings.sandbox_dir, settings.sandbox, sdk=self.sdk, spares=spares
        )
        self.pool = InstancePool(self.sandbox, settings.max_instances, settings.idle_timeout)
        self.admission = Admission(settings.concurrency_limit, self.functions.all_reserved)
        self.layers = LayerService(self.engine, code, settings.region, settings.account_id)
        self.policies = PolicyService(
            self.engine, settings.region, settings.account_id, self.aliases
        )
        self.functions.subscribe(self._forget_deleted)
        self.invoker = Invoker(
            self.functions,
            self.aliases,
            self.pool,
            self.logs,
            self.admission,
            self.layers,
            settings.region,
            init_on_deploy=settings.init_on_deploy,
        )
        self.provisioned = ProvisionedConcurrency(
            self.engine, self.pool, self.invoker, self.aliases
        )
        self.invoker.provisioned = self.provisioned
        self.event_configs = EventInvokeConfigs(self.engine)
        for forget in (
            self.policies.delete_qualifier,
            self.event_configs.forget_qualifier,
            self.provisioned.forget_qualifier,
        ):
            self.functions.subscribe_deleted_qualifiers(forget)
        self.dispatcher = AsyncDispatcher(
            EventQueue(self.engine),
            AsyncInvocations(self.invoker, self.event_configs).attempt,
            settings.async_retry_delay,
        )
        self.invoker.accept_event = self.dispatcher.accept
        self.links = CodeLinks()
        lambda_api = LambdaApi(
            FunctionsApi(self.functions, self.aliases, self.links, self.layers),
            [
                VersionsApi(self.functions, self.aliases),
                InvokeApi(self.invoker, self.admission, self.provisioned, self.event_configs),
                LayersApi(self.layers, self._code_url),
                PolicyApi(self.policies),
            ],
        )
        logs_api = LogsApi(self.logs, settings.region, settings.account_id)
        self.callbacks = Callbacks()
        self.activities = Activities(self.engine, settings.region, settings.account_id)
        self.tasks = NodeTasks(self.invoker, self.callbacks, self.activities)
        self.machines = MachineService(
            self.engine, self.tasks, settings.region, settings.account_id
        )
        self.express = ExpressExecutions(self.machines, self.tasks)
        self.standard = StandardExecutions(self.engine, self.machines, self.tasks)
        self.tasks.standard = self.standard
        states_api = StepFunctionsApi(
            self.machines, self.express, self.standard, self.callbacks, self.activities
        )
        credentials = RootCredentialStore(self.credentials, settings.account_id)
        self.gateway = Gateway(
            self.engine,
            self.invoker,
            settings.account_id,
            lambda: self.settings.endpoint_url,
            Workflows(self.machines, self.express, self.standard),
            self.logs,
            credentials,
        )
        self.wire = WireApp(
            [lambda_api, logs_api, states_api, self.gateway.v1, self.gateway.v2],
            credentials,
            settings.region,
        )
        self.internal = Starlette(
            routes=[
                Route("/_stratus/health", self._health),
                Route("/_stratus/info", self._info),
                Route("/_stratus/code/{sha256}", self._code),
            ]
        )
        self.demo: Demo | None = None

    # --- ASGI ------------------------------------------------------------------------

    async def __call__(self, scope: ASGIScope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            if GatewayApp.claims(scope):
                await self.gateway.app(scope, receive, send)
            elif scope["path"].startswith("/_stratus/"):
                await self.internal(scope, receive, send)
            else:
                await self.wire(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        self.invoker.bind_loop(asyncio.get_running_loop())
        await self.pool.start()
        await self.provisioned.start()
        await self.dispatcher.start()
        await self.standard.start()
        if self.settings.demo:
            self.demo = await asyncio.to_thread(deploy_demo, self.functions, self.settings)

    async def stop(self) -> None:
        self._stopped.set()
        await self.express.close()
        await self.standard.close()
        await self.gateway.close()
        await self.dispatcher.close()
        await self.provisioned.close()
        await self.pool.close()
        await self.sandbox.close()
        await asyncio.to_thread(self.logs.close)
        await asyncio.to_thread(self.functions.close)
        self.engine.dispose()

    def _compile_sdk(self) -> None:
        """Compile the SDK for every runtime, then keep its directory marked in use."""
        assert self.sdk is not None
        self.sdk.compile_all(runtime.interpreter for runtime in available_runtimes())
        self.sdk.keep_marked(self._stopped)

    def _forget_deleted(self, name: str) -> None:
        """A deleted function's settings go with it (its logs stay, as on Lambda)."""
        if not self.functions.exists(name):
            self.event_configs.forget_function(name)
            self.policies.delete_function(name)

    def _code_url(self, sha256_hex: str) -> str:
        return self.links.url(self.settings.endpoint_url, sha256_hex)

    # --- Stratus's own endpoints -----------------------------------------------------

    async def _health(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def _info(self, request: Request) -> Response:
        return JSONResponse(
            {
                "version": __version__,
                "region": self.settings.region,
                "accountId": self.settings.account_id,
                "runtimes": [rt.name for rt in available_runtimes()],
                "sandbox": self.sandbox.describe(),
                "sparesReady": self.sandbox.spares_ready(),
            }
        )

    async def _code(self, request: Request) -> Response:
        sha = request.path_params["sha256"]
        ok = self.links.verify(
            sha, request.query_params.get("expires", ""), request.query_params.get("signature", "")
        )
        path = self.functions.code.zip_path(sha)
        if not ok or not path.exists():
            return PlainTextResponse("Access Denied: the link is invalid or expired", 403)
        return FileResponse(path, media_type="application/zip", filename=f"{sha}.zip")


def demo_source() -> Path:
    """The demo function's code directory, shipped inside the package."""
    return Path(str(resources.files("stratus") / "demo" / "hello"))


def deploy_demo(functions: FunctionService, settings: Settings) -> Demo | None:
    """Create (or refresh) the `hello` function from the packaged demo code."""
    runtimes = available_runtimes()
    if not runtimes:
        log.warning("no Python runtime found on this host; the demo is not deployed")
        return None
    runtime = runtimes[-1].name
    zip_bytes = zip_directory(demo_source())
    try:
        current = functions.get(DEMO_FUNCTION)
    except ResourceNotFoundException:
        functions.create(
            FunctionVersion(
                name=DEMO_FUNCTION,
                runtime=runtime,
                role=f"arn:aws:iam::{settings.account_id}:role/stratus-demo",
                handler="lambda_function.handler",
                code_sha256_hex="",
                code_size=0,
                description="The Stratus demo: says hello",
            ),
            zip_bytes,
            {"stratus:demo": "true"},
        )
        return Demo(DEMO_FUNCTION, runtime)
    if current.code_sha256_hex != hashlib.sha256(zip_bytes).hexdigest():
        functions.update_code(DEMO_FUNCTION, zip_bytes, None)
    return Demo(DEMO_FUNCTION, current.runtime)


def banner(node: Node, endpoint: str) -> str:
    """What `stratus serve` prints once it is ready."""
    keys: KeyPair = node.credentials
    region = node.settings.region
    lines = [
        f"Stratus {__version__} is serving on {endpoint}",
        f"  data directory: {node.settings.data_dir}",
        f"  sandbox:        {node.sandbox.describe()}",
        f"  runtimes:       {', '.join(rt.name for rt in available_runtimes()) or 'none found'}"
        + (f" (with boto3 {node.sdk.version})" if node.sdk else " (without boto3)"),
        "",
        "Credentials (root of account "
        f"{node.settings.account_id}{', created just now' if node.created_credentials else ''}):",
        f"  export AWS_ACCESS_KEY_ID={keys.access_key_id}",
        f"  export AWS_SECRET_ACCESS_KEY={keys.secret_access_key}",
        f"  export AWS_DEFAULT_REGION={region}",
        f"  export AWS_ENDPOINT_URL={endpoint}",
        "  ...or as an AWS CLI profile:",
        f"  aws configure set aws_access_key_id {keys.access_key_id} --profile stratus",
        f"  aws configure set aws_secret_access_key {keys.secret_access_key} --profile stratus",
        f"  aws configure set region {region} --profile stratus",
        '  The `stratus` CLI finds them itself (eval "$(stratus env)" prints the exports).',
    ]
    if node.demo:
        lines += [
            "",
            f"Demo function `{node.demo.name}` ({node.demo.runtime}) is deployed. Call it with:",
            f'  stratus invoke {node.demo.name} --payload \'{{"name": "Ada"}}\'',
            f"  aws lambda invoke --endpoint-url {endpoint} --function-name {node.demo.name} "
            '--payload \'{"name": "Ada"}\' --cli-binary-format raw-in-base64-out out.json',
            "  (that flag is for AWS CLI v2; v1, as installed in .venv, does without it)",
        ]
    return "\n".join(lines)
