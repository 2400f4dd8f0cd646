"""The runtime's SDK directory and the choice of what a zygote imports ahead."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest

from stratus.runtimes import sdk
from stratus.sandbox.rootfs import sdk_inside

pytestmark = pytest.mark.timeout(120)


def test_the_directory_holds_the_sdk_and_nothing_else_of_the_environment(
    tmp_path: Path,
) -> None:
    prepared = sdk.prepare(tmp_path)
    assert prepared is not None
    assert prepared.version == boto3.__version__
    # (Besides its own marks, dot files no import can name.)
    names = {path.name for path in prepared.directory.iterdir() if not path.name.startswith(".")}
    assert names == {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"}
    assert (prepared.directory / "botocore" / "data" / "dynamodb").is_dir()
    assert not list(prepared.directory.rglob("__pycache__"))  # each runtime compiles its own
    # Built once: a second server finds it.
    assert sdk.prepare(tmp_path) == prepared
    assert [path.name for path in tmp_path.iterdir()] == [prepared.directory.name]


def test_compiling_writes_the_interpreters_bytecode_once(tmp_path: Path) -> None:
    prepared = sdk.prepare(tmp_path)
    assert prepared is not None
    prepared.compile(sys.executable)
    tag = sys.implementation.cache_tag
    assert (prepared.directory / "boto3" / "__pycache__" / f"__init__.{tag}.pyc").is_file()
    markers = list(prepared.directory.glob(".compiled-*"))
    assert len(markers) == 1
    prepared.compile("/nonexistent/python")  # logged, not raised
    assert list(prepared.directory.glob(".compiled-*")) == markers


def _code(tmp_path: Path, files: dict[str, str]) -> Path:
    code = tmp_path / "code"
    for name, text in files.items():
        (code / name).parent.mkdir(parents=True, exist_ok=True)
        (code / name).write_text(text)
    return code


@pytest.mark.parametrize(
    ("files", "layer", "environment", "preloaded"),
    [
        ({"app.py": "import boto3\n"}, {}, {}, True),
        ({"app.py": "import json\n", "lib/db.py": "from botocore import config\n"}, {}, {}, True),
        ({"app.py": "import json\n"}, {}, {}, False),
        ({"app.py": "import boto3\n", "urllib3/__init__.py": ""}, {}, {}, False),
        ({"app.py": "import boto3\n", "six.py": ""}, {}, {}, False),
        ({"app.py": "import boto3\n"}, {"python/dateutil/__init__.py": ""}, {}, False),
        (
            {"app.py": "import boto3\n"},
            {"python/lib/python3.12/site-packages/jmespath/__init__.py": ""},
            {},
            False,
        ),
        ({"app.py": "import boto3\n"}, {"python/other.py": ""}, {}, True),
        ({"app.py": "import boto3\n"}, {}, {"PYTHONPATH": "/somewhere"}, False),
    ],
)
def test_what_a_zygote_imports_ahead(
    tmp_path: Path,
    files: dict[str, str],
    layer: dict[str, str],
    environment: dict[str, str],
    preloaded: bool,
) -> None:
    prepared = sdk.RuntimeSdk(tmp_path / "sdk", "1")
    layers = None
    if layer:
        layers = tmp_path / "layers"
        for name, text in layer.items():
            (layers / name).parent.mkdir(parents=True, exist_ok=True)
            (layers / name).write_text(text)
    chosen = prepared.preload(_code(tmp_path, files), layers, "python3.12", environment)
    assert chosen == (sdk.PRELOAD if preloaded else ())


@pytest.mark.parametrize(
    ("directory", "inside"),
    [
        ("/root/.cache/stratus/sdk-1", "/root/.cache/stratus/sdk-1"),
        ("/var/cache/stratus/sdk-1", "/var/cache/stratus/sdk-1"),
        ("/tmp/home/.cache/stratus/sdk-1", "/var/runtime/sdk"),
        ("/opt/stratus/sdk-1", "/var/runtime/sdk"),
        ("/tmpfoo/sdk-1", "/tmpfoo/sdk-1"),
    ],
)
def test_where_isolated_instances_see_the_sdk(directory: str, inside: str) -> None:
    assert sdk_inside(sdk.RuntimeSdk(Path(directory), "1")) == inside


def _age(path: Path, seconds: float) -> None:
    """Make `path` look last changed `seconds` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_directories_no_server_used_for_a_week_are_removed(tmp_path: Path) -> None:
    week = sdk.STALE_AFTER
    stale = tmp_path / "sdk-old"  # an older boto3's, unused for more than a week
    (stale / "boto3").mkdir(parents=True)
    (stale / ".in-use").touch()
    _age(stale / ".in-use", week + 60)
    in_use = tmp_path / "sdk-running"  # a server with another boto3 still marks it
    (in_use / "boto3").mkdir(parents=True)
    (in_use / ".in-use").touch()
    _age(in_use, week + 60)
    unmarked = tmp_path / "sdk-before-marks"  # made before marks existed: its own age
    unmarked.mkdir()
    _age(unmarked, week + 60)
    recent = tmp_path / "sdk-recent"
    recent.mkdir()
    unfinished = tmp_path / ".building-abc"  # a crash during a build
    unfinished.mkdir()
    _age(unfinished, week + 60)

    prepared = sdk.prepare(tmp_path)

    assert prepared is not None
    assert (prepared.directory / ".in-use").exists()
    left = sorted(path.name for path in tmp_path.iterdir())
    assert left == sorted([prepared.directory.name, "sdk-running", "sdk-recent"])


def test_a_running_server_keeps_its_directory_marked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = sdk.prepare(tmp_path)
    assert prepared is not None
    marker = prepared.directory / ".in-use"
    _age(marker, sdk.STALE_AFTER + 60)
    monkeypatch.setattr(sdk, "MARK_EVERY", 0.01)
    stop = threading.Event()
    marking = threading.Thread(target=prepared.keep_marked, args=(stop,))
    marking.start()
    try:
        while time.time() - marker.stat().st_mtime > 60:
            time.sleep(0.01)
    finally:
        stop.set()
        marking.join()
    assert sdk.prune(tmp_path, keep=tmp_path / "another", now=time.time()) == []
