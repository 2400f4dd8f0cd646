"""Settings in one typed object, from flags, then environment variables, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 7070
DEFAULT_HOST = "127.0.0.1"


def default_data_dir() -> Path:
    """`$STRATUS_DATA_DIR`, else `~/.stratus`."""
    env = os.environ.get("STRATUS_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".stratus"


def default_cache_dir() -> Path:
    """`$STRATUS_CACHE_DIR`, else `$XDG_CACHE_HOME/stratus`, else `~/.cache/stratus`: what
    every data directory on this machine may share (the runtimes' SDK)."""
    env = os.environ.get("STRATUS_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "stratus"


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    """Everything a Stratus server is configured with."""

    data_dir: Path = field(default_factory=default_data_dir)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    region: str = field(default_factory=lambda: os.environ.get("STRATUS_REGION", "us-east-1"))
    account_id: str = field(
        default_factory=lambda: os.environ.get("STRATUS_ACCOUNT_ID", "000000000000")
    )
    #: Seconds an idle warm instance is kept before it is reaped.
    idle_timeout: float = field(default_factory=lambda: _env_float("STRATUS_IDLE_TIMEOUT", 600.0))
    #: Most function instances alive at once on this node.
    max_instances: int = field(default_factory=lambda: _env_int("STRATUS_MAX_INSTANCES", 1000))
    #: Instances kept forked ahead per zygote (one per runtime, start-up environment and
    #: SDK preload), each waiting for its function (namespaces, cgroups and root ready):
    #: cold starts up to this many at once only finish one. About 1 MB each; the
    #: isolated sandbox only.
    spares: int = field(default_factory=lambda: _env_int("STRATUS_SPARES", 2))
    #: Concurrent executions allowed in the account (Lambda's default is 1,000).
    concurrency_limit: int = field(
        default_factory=lambda: _env_int("STRATUS_CONCURRENCY_LIMIT", 1000)
    )
    #: Seconds before the first retry of a failed asynchronous event (doubling after).
    #: Lambda waits about a minute; tests set it low.
    async_retry_delay: float = field(
        default_factory=lambda: _env_float("STRATUS_ASYNC_RETRY_DELAY", 60.0)
    )
    #: "auto" (isolate where the host allows), "isolated" (or fail), or "process".
    sandbox: str = field(default_factory=lambda: os.environ.get("STRATUS_SANDBOX", "auto"))
    #: Initialise a function as soon as it is deployed (created, updated or published),
    #: in a template its first instances are copied from (sandbox/templates.py), so the
    #: first call does not pay its imports; only where the sandbox has templates.
    init_on_deploy: bool = field(
        default_factory=lambda: os.environ.get("STRATUS_INIT_ON_DEPLOY", "1") != "0"
    )
    #: Deploy the demo function at start-up.
    demo: bool = False
    #: Files shared by every data directory (see `default_cache_dir`).
    cache_dir: Path = field(default_factory=default_cache_dir)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "stratus.db"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def code_dir(self) -> Path:
        """Unpacked code, one directory per CodeSha256 (hex)."""
        return self.data_dir / "code"

    @property
    def sandbox_dir(self) -> Path:
        """The isolated sandbox's working files (its skeleton root)."""
        return self.data_dir / "sandbox"

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / "credentials.json"

    @property
    def endpoint_path(self) -> Path:
        """Where a running server writes its endpoint so the CLI can find it."""
        return self.data_dir / "endpoint"

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"
