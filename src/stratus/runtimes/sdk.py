"""The AWS SDK for Python in every Python runtime, as on Lambda.

Lambda's Python runtimes come with boto3 (and botocore and their dependencies), so a
function may `import boto3` without packaging it. Stratus gives its functions the boto3
it runs with itself: `prepare` links those packages, and nothing else of Stratus's
environment, into one directory of a cache shared by every data directory
(`sdk-<versions>`, built once per set of versions), and `compile` writes each runtime's
bytecode there once. Instances find it last on their import path, after the code and the
layers, so a function or layer that packages its own boto3 (or urllib3, or dateutil...)
imports that one, as on Lambda. An isolated instance sees the directory read-only at its
own path, so that module paths are the same inside and out.

A new set of versions (boto3 upgraded) makes a new directory; the old ones go once no
server has used them for `STALE_AFTER`: every server marks its own directory in use when
it starts and every `MARK_EVERY` while it runs, and removes the others it finds stale
(`prune`), so a directory a running server's instances mount stays.

Importing boto3 takes about 300 ms, most of a cold start. A function whose code mentions
boto3 or botocore, and packages none of these modules itself, starts from a zygote that
imported boto3 already (`preload`): its `import boto3` is a dictionary lookup.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

log = logging.getLogger(__name__)

#: Top-level modules of the SDK and its dependencies, with their distributions.
PACKAGES = {
    "boto3": "boto3",
    "botocore": "botocore",
    "s3transfer": "s3transfer",
    "jmespath": "jmespath",
    "dateutil": "python-dateutil",
    "urllib3": "urllib3",
    "six": "six",
}
#: What a preloading zygote imports (`import boto3` loads botocore's client machinery
#: too; the S3 injections come with the first S3 client).
PRELOAD = ("boto3", "boto3.s3.inject")
#: How much of a function's code is read to find out whether it uses the SDK.
SCAN_BYTES = 8 << 20
SCAN_FILES = 2000
_MENTION = re.compile(rb"\b(?:boto3|botocore)\b")
#: An SDK directory of other versions that no server has marked in use for this long
#: is removed, and so is a build a crash left unfinished.
STALE_AFTER = 7 * 24 * 3600
#: How often a running server marks its SDK directory in use.
MARK_EVERY = 6 * 3600
#: The file whose modification time says when a server last used a directory.
_IN_USE = ".in-use"


@dataclass(frozen=True)
class RuntimeSdk:
    """The SDK directory instances import from, and what it holds."""

    directory: Path
    #: boto3's version, for the banner.
    version: str

    def compile(self, interpreter: str) -> None:
        """Write `interpreter`'s bytecode into the directory, once (a marker file says
        it is done). Without it every import compiles from source: 1.1 s for boto3
        instead of 0.3 s."""
        marker = self.directory / f".compiled-{_interpreter_tag(interpreter)}"
        if marker.exists():
            return
        try:
            subprocess.run(
                [interpreter, "-m", "compileall", "-q", str(self.directory)],
                check=True,
                capture_output=True,
                timeout=600,
                env={"PATH": "/usr/bin:/bin"},
            )
            marker.touch()
        except (OSError, subprocess.SubprocessError) as e:
            log.warning("could not compile the runtime SDK with %s: %s", interpreter, e)

    def compile_all(self, interpreters: Iterable[str]) -> None:
        for interpreter in interpreters:
            self.compile(interpreter)

    def mark_in_use(self) -> None:
        """Say that a server uses this directory now (see `prune`)."""
        try:
            (self.directory / _IN_USE).touch()
        except OSError as e:
            log.warning("cannot mark %s in use: %s", self.directory, e)

    def keep_marked(self, stop: threading.Event) -> None:
        """Mark the directory in use every `MARK_EVERY` until `stop` is set."""
        while not stop.wait(MARK_EVERY):
            self.mark_in_use()

    def preload(
        self, code_dir: Path, layers_dir: Path | None, runtime: str, environment: Mapping[str, str]
    ) -> tuple[str, ...]:
        """The modules a zygote should import ahead for a function: `PRELOAD` when its code
        mentions boto3 or botocore and nothing it ships could stand in for an SDK module,
        else none. Either way the function sees the same modules; only the time its
        imports take differs."""
        if environment.get("PYTHONPATH"):
            return ()  # directories of its own, which this cannot look into
        places = [code_dir]
        if layers_dir is not None:
            places += [layers_dir / "python", layers_dir / "python/lib" / runtime / "site-packages"]
        if any(_ships_sdk_module(place) for place in places):
            return ()
        return PRELOAD if _mentions_sdk(code_dir) else ()


def prepare(cache_dir: Path) -> RuntimeSdk | None:
    """The SDK directory for the SDK installed beside Stratus, built if it is not there
    yet; None (and a warning) if it cannot be."""
    try:
        versions = {name: metadata.version(dist) for name, dist in PACKAGES.items()}
        sources = {name: _source(name) for name in PACKAGES}
    except (metadata.PackageNotFoundError, LookupError) as e:
        log.warning("functions get no boto3: %s", e)
        return None
    key = hashlib.sha256(repr(sorted(versions.items())).encode()).hexdigest()[:16]
    directory = cache_dir / f"sdk-{key}"
    if not directory.is_dir():
        try:
            _build(directory, sources)
        except OSError as e:
            log.warning("functions get no boto3: cannot build %s: %s", directory, e)
            return None
    prepared = RuntimeSdk(directory, versions["boto3"])
    prepared.mark_in_use()
    prune(cache_dir, keep=directory)
    return prepared


def prune(cache_dir: Path, keep: Path, now: float | None = None) -> list[Path]:
    """Remove the SDK directories (and unfinished builds) other than `keep` that no
    server has marked in use for `STALE_AFTER`; return what was removed. A directory
    never marked (made before marks existed) counts from its own last change."""
    now = time.time() if now is None else now
    removed = []
    for path in sorted(cache_dir.glob("sdk-*")) + sorted(cache_dir.glob(".building-*")):
        if path == keep or not path.is_dir():
            continue
        try:
            marker = path / _IN_USE
            used = (marker if marker.exists() else path).stat().st_mtime
        except OSError:
            continue  # another server removed it just now
        if now - used > STALE_AFTER:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
            log.info("removed %s: no server has used it for %d days", path, STALE_AFTER // 86400)
    return removed


def _source(name: str) -> Path:
    spec = find_spec(name)
    if spec is None or spec.origin is None:
        raise LookupError(f"{name} is not installed")
    origin = Path(spec.origin)
    # (Not submodule_search_locations: six, once imported, gives itself a __path__.)
    return origin.parent if origin.name == "__init__.py" else origin


def _build(directory: Path, sources: Mapping[str, Path]) -> None:
    """Link (or copy, across file systems) the packages into `directory`, atomically:
    servers starting at once each build their own and the first rename wins."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=directory.parent))
    try:
        for source in sources.values():
            target = staging / source.name
            if source.is_dir():
                shutil.copytree(
                    source,
                    target,
                    copy_function=_link_or_copy,
                    ignore=shutil.ignore_patterns("__pycache__"),
                )
            else:
                _link_or_copy(str(source), str(target))
        for path in (staging, *staging.rglob("*")):
            if path.is_dir():
                os.chmod(path, 0o755)
        try:
            os.rename(staging, directory)
        except OSError:
            if not directory.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _interpreter_tag(interpreter: str) -> str:
    return hashlib.sha256(os.path.realpath(interpreter).encode()).hexdigest()[:12]


def _ships_sdk_module(place: Path) -> bool:
    try:
        names = os.listdir(place)
    except OSError:
        return False
    return any(name.removesuffix(".py") in PACKAGES for name in names)


def _mentions_sdk(code_dir: Path) -> bool:
    budget, files = SCAN_BYTES, 0
    for root, _dirs, names in os.walk(code_dir):
        for name in names:
            if not name.endswith(".py"):
                continue
            files += 1
            if files > SCAN_FILES or budget <= 0:
                return False
            try:
                with open(os.path.join(root, name), "rb") as source:
                    text = source.read(budget)
            except OSError:
                continue
            budget -= len(text)
            if _MENTION.search(text):
                return True
    return False
