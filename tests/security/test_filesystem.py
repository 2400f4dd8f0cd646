"""A function sees Lambda's file system and nothing else of the host or of Stratus."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.conftest import StratusServer, create_function, unique
from tests.security.conftest import call, deploy, still_serving

pytestmark = pytest.mark.timeout(120)

TRY_PATHS = """
import errno, os

def attempt(read=(), write=(), listing=()):
    result = {}
    for path in read:
        try:
            with open(path, "rb") as f:
                result[path] = f.read(200).decode(errors="replace")
        except OSError as e:
            result[path] = errno.errorcode[e.errno]
    for path in write:
        try:
            with open(path, "w") as f:
                f.write("owned")
            result[path] = "written"
        except OSError as e:
            result[path] = errno.errorcode[e.errno]
    for path in listing:
        try:
            result[path] = sorted(os.listdir(path))
        except OSError as e:
            result[path] = errno.errorcode[e.errno]
    return result

def handler(event, context):
    return attempt(event.get("read", ()), event.get("write", ()), event.get("list", ()))
"""

REFUSED = ("ENOENT", "EACCES", "EROFS", "EPERM")


def test_etc_shadow_cannot_be_read(lam: Any, bystander: str) -> None:
    name = deploy(lam, TRY_PATHS)
    paths = ["/etc/shadow", "/etc/gshadow", "/proc/1/root/etc/shadow", "/etc/sudoers"]
    got, error, _ = call(lam, name, {"read": paths})
    assert error is None
    for path in paths:
        assert got[path] in REFUSED, (path, got[path])
    still_serving(lam, bystander)


def test_the_data_directory_is_invisible(
    lam: Any, isolated_server: StratusServer, bystander: str
) -> None:
    data = isolated_server.data_dir
    name = deploy(lam, TRY_PATHS)
    event = {
        "read": [str(data / "credentials.json"), str(data / "stratus.db")],
        "list": [str(data), str(data / "code"), str(data.parent)],
    }
    got, error, _ = call(lam, name, event)
    assert error is None
    for path in event["read"] + event["list"]:
        assert got[path] in REFUSED, (path, got[path])
    still_serving(lam, bystander)


def test_another_functions_code_cannot_be_read(
    lam: Any, isolated_server: StratusServer, bystander: str
) -> None:
    secret = f"victim-secret-{unique()}"
    victim = create_function(
        lam, f"SECRET = {secret!r}\ndef handler(e, c):\n    return 1\n", name=unique("victim")
    )
    victim_code = isolated_server.data_dir / "code" / base64.b64decode(victim["CodeSha256"]).hex()
    name = deploy(
        lam,
        TRY_PATHS
        + """
def search(event, context):
    found = []
    for top in ("/var", "/opt", "/tmp", "/etc", "/root", "/home"):
        for directory, _, files in os.walk(top):
            for file in files:
                try:
                    with open(os.path.join(directory, file), "rb") as f:
                        if event["secret"].encode() in f.read(1 << 20):
                            found.append(os.path.join(directory, file))
                except OSError:
                    pass
    return {"found": found, "task": sorted(os.listdir("/var/task"))}
""",
        # Reading every file under those trees (the runtime's SDK among them) takes about
        # a second alone and can take several on a loaded machine: Lambda's 3 s default
        # would turn a slow search into a timeout, not a finding.
        Timeout=60,
    )
    got, error, _ = call(
        lam,
        name,
        {"read": [str(victim_code / "lambda_function.py")], "list": [str(victim_code)]},
    )
    assert error is None
    assert got[str(victim_code / "lambda_function.py")] in REFUSED
    assert got[str(victim_code)] in REFUSED
    lam.update_function_configuration(FunctionName=name, Handler="lambda_function.search")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    searched, error, _ = call(lam, name, {"secret": secret})
    assert error is None, searched
    assert searched == {"found": [], "task": ["lambda_function.py"]}
    still_serving(lam, bystander)


def test_nothing_outside_tmp_is_writable(lam: Any, bystander: str) -> None:
    name = deploy(lam, TRY_PATHS)
    paths = [
        "/var/task/lambda_function.py",
        "/var/task/new.py",
        "/opt/new",
        "/etc/passwd",
        "/usr/lib/evil.so",
        "/evil",
        "/var/runtime/bootstrap.py",
        "/dev/evil",
        "/proc/sys/kernel/hostname",
    ]
    got, error, _ = call(lam, name, {"write": [*paths, "/tmp/ok"]})
    assert error is None
    for path in paths:
        assert got[path] in REFUSED, (path, got[path])
    assert got["/tmp/ok"] == "written"
    still_serving(lam, bystander)


TMP_SIZE = """
import os

def handler(event, context):
    stat = os.statvfs("/tmp")
    return {"mb": stat.f_blocks * stat.f_frsize // (1 << 20), "inodes": stat.f_files}
"""


@pytest.mark.parametrize(("size", "inodes"), [(512, 32768), (1536, 98304), (10240, 655360)])
def test_tmp_has_the_functions_size(lam: Any, size: int, inodes: int) -> None:
    # Spare instances mount /tmp at the default size before they know their function.
    name = deploy(lam, TMP_SIZE, EphemeralStorage={"Size": size})
    got, error, _ = call(lam, name)
    assert error is None
    assert got == {"mb": size, "inodes": inodes}


def test_tmp_cannot_be_filled_past_its_size(lam: Any, bystander: str) -> None:
    name = deploy(
        lam,
        """
import errno

def handler(event, context):
    chunk = b"x" * (1 << 20)
    written = 0
    try:
        with open("/tmp/fill", "wb") as f:
            for _ in range(event["mb"]):
                f.write(chunk)
                f.flush()
                written += 1
    except OSError as e:
        return {"written": written, "error": errno.errorcode[e.errno]}
    return {"written": written, "error": None}
""",
        MemorySize=1024,
        EphemeralStorage={"Size": 512},
        Timeout=60,
    )
    got, error, _ = call(lam, name, {"mb": 700})
    assert error is None
    assert got["error"] == "ENOSPC"
    assert 500 <= got["written"] <= 512
    still_serving(lam, bystander)
