"""Function templates (sandbox/templates.py): a function that keeps needing new instances
gets them as copies of a template that initialised it. Each copy must be an instance of
its own, as closed as a fresh one, and what the initialisation left behind must not
reach into it.

Copies are made the way a user gets them: the first call after a deployment, and calls
that each find every instance busy (another call holds it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from stratus.sandbox.templates import MAX_TEMPLATES
from tests.conftest import StratusServer, free_port, make_zip
from tests.security.conftest import call, deploy

pytestmark = pytest.mark.timeout(180)

INSPECT = """
import ctypes, os, random, socket, sys, time
import email.mime.text, http.client, xml.dom.minidom  # an initialisation worth copying
INIT_PID = os.getpid()
STAMP = time.time()
try:
    PROC_AT_INIT = sorted(os.listdir("/proc"))
except OSError as e:
    PROC_AT_INIT = e.errno

def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as e:
        return e.errno

def clone_namespaces():
    libc = ctypes.CDLL(None, use_errno=True)
    # CLONE_NEWUSER|NEWNS|NEWPID|NEWIPC|NEWUTS|SIGCHLD: what the template may do
    flags = 0x10000000 | 0x20000 | 0x20000000 | 0x8000000 | 0x4000000 | 17
    pid = libc.syscall(56, flags, 0, 0, 0, 0)
    if pid == 0:
        os._exit(0)
    if pid < 0:
        raise OSError(ctypes.get_errno(), "clone")

def handler(event, context):
    if event.get("exit") is not None:
        sys.exit(event["exit"])
    if event.get("allocate"):
        memory = bytearray(event["allocate"] << 20)
        for i in range(0, len(memory), 4096):
            memory[i] = 1
    time.sleep(event.get("hold", 0))
    tmp = os.listdir("/tmp")
    open("/tmp/mine", "w").close()
    return {
        "copy": os.getpid() != INIT_PID,
        "pid": os.getpid(),
        "ids": [os.getuid(), os.getgid()],
        "stamp": STAMP,
        "proc_at_init": PROC_AT_INIT,
        "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "tmp": tmp,
        "random": random.random(),
        "stream": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"],
        "hostname": socket.gethostname(),
        "private": attempt(lambda: os.listdir("/var/lib/private")),
        "unshare": attempt(lambda: os.unshare(os.CLONE_NEWUSER)),
        "clone": attempt(clone_namespaces),
        "mount": attempt(mount_tmpfs),
    }

def mount_tmpfs():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) != 0:
        raise OSError(ctypes.get_errno(), "mount")
"""


def scale_out(client: Any, name: str, copies: int, rounds: int = 12) -> list[dict[str, Any]]:
    """Payloads of calls that each found every instance busy (another call holds the
    idle one), until `copies` of them came from copies of a template (or `rounds`).
    The function must have a timeout above 0.6 s per round."""
    hold = 0.6 * rounds + 1  # outlasts every round
    served: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=rounds) as pool:
        holders = []
        payload, error, _ = call(client, name, {})
        assert error is None, payload
        while sum(p["copy"] for p in served) < copies and len(served) < rounds:
            holders.append(pool.submit(call, client, name, {"hold": hold}))
            time.sleep(0.4)  # until it holds the idle instance
            payload, error, _ = call(client, name, {})
            assert error is None, payload
            served.append(payload)
        for holder in holders:
            assert holder.result()[1] is None
    return served


def copies(client: Any, name: str, count: int) -> list[dict[str, Any]]:
    """`count` payloads from new copies of `name`'s template."""
    found = [payload for payload in scale_out(client, name, count) if payload["copy"]]
    assert len(found) == count, "no copies of a template were made"
    return found


def test_each_copy_is_an_instance_of_its_own(lam: Any, bystander: str) -> None:
    name = deploy(lam, INSPECT, Timeout=30)
    first, second = copies(lam, name, 2)
    for copy in (first, second):
        assert copy["ids"] == [993, 990]  # sbx_user1051, as in any instance
        assert copy["procs"] == sorted({1, copy["pid"]})  # its own PID namespace
        assert copy["tmp"] == []  # a /tmp of its own: the others wrote theirs
        assert copy["hostname"] == "localhost"
    assert first["stamp"] == second["stamp"]  # initialised once, in the template
    assert first["random"] != second["random"]  # `random` reseeded in each
    assert first["stream"] != second["stream"]  # each has its own log stream
    assert call(lam, bystander, {"n": 1})[0] == {"echo": 1}


def test_a_copy_is_as_closed_as_any_instance(lam: Any) -> None:
    name = deploy(lam, INSPECT, Timeout=30)
    (copy,) = copies(lam, name, 1)
    assert copy["private"] == 13  # EACCES: where the template's /proc is kept
    assert copy["unshare"] == 1  # EPERM
    assert copy["clone"] == 1  # the template may clone its copies; a copy's runtime not
    assert copy["mount"] == 1
    # The template initialised the function with no /proc to look into its copies by.
    assert copy["proc_at_init"] == []


def test_a_copy_that_exits_is_reported_as_any_instance(lam: Any, bystander: str) -> None:
    name = deploy(lam, INSPECT, Timeout=30)
    copies(lam, name, 1)
    # The copy just made is the idle one: it takes the next call and exits.
    payload, error, _ = call(lam, name, {"exit": 3})
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in payload["errorMessage"]
    assert call(lam, bystander, {"n": 2})[0] == {"echo": 2}


def test_a_copy_has_its_own_memory_limit(lam: Any, bystander: str) -> None:
    name = deploy(lam, INSPECT, Timeout=30, MemorySize=128)
    copies(lam, name, 1)
    # The copy just made is the idle one: it takes the next call.
    payload, error, _ = call(lam, name, {"allocate": 256})
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.OutOfMemory"
    # The template lived through it: the next new instance is a copy again.
    assert copies(lam, name, 1)[0]["copy"]
    assert call(lam, bystander, {"n": 3})[0] == {"echo": 3}


# As long to initialise as INSPECT, which gets copies: only the thread keeps this one from
# getting them.
UNFIT = """
import os, threading, time
import email.mime.text, http.client, xml.dom.minidom
INIT_PID = os.getpid()
threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()

def handler(event, context):
    time.sleep(event.get("hold", 0))
    return {"copy": os.getpid() != INIT_PID}
"""


def test_an_initialisation_that_leaves_a_thread_gets_fresh_instances(lam: Any) -> None:
    name = deploy(lam, UNFIT, Timeout=30)
    served = scale_out(lam, name, 1, rounds=6)
    assert len(served) == 6
    assert not any(payload["copy"] for payload in served)


# An initialisation a copy is worth it for (over 20 ms of CPU), that says so in its log.
SLOW_INIT = """
import os, time
VERSION = "%s"
INIT_PID = os.getpid()
STAMP = time.time()
began = time.process_time()
while time.process_time() - began < 0.06:
    pass
print("initialised", VERSION)

def handler(event, context):
    return {"copy": os.getpid() != INIT_PID, "version": VERSION, "stamp": STAMP}
"""


@pytest.fixture(scope="module")
def deployments(
    isolated_server: StratusServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A Lambda client of a server of this module's own: whether a deployment gets a
    template must not depend on what the session's server is doing for other tests
    (templates being made count against the cap of 16). It asks for `isolated_server`
    only to be skipped, or to fail, where the session's server does not isolate."""
    server = StratusServer(tmp_path_factory.mktemp("templates-data"), free_port()).start()
    try:
        yield server.client("lambda", read_timeout=300)
    finally:
        server.stop()


def test_a_deployed_function_is_initialised_before_its_first_call(deployments: Any) -> None:
    name = deploy(deployments, SLOW_INIT % "a", Timeout=30)
    payload, error, tail = call(deployments, name)
    assert error is None, payload
    assert payload["copy"] and payload["version"] == "a"
    # The initialisation's output is the copy's, as a fresh instance's would be.
    assert "initialised a" in tail
    assert "Init Duration" in tail


def test_an_updated_function_is_initialised_anew(deployments: Any) -> None:
    name = deploy(deployments, SLOW_INIT % "a", Timeout=30)
    first, _, _ = call(deployments, name)
    code = make_zip({"lambda_function.py": SLOW_INIT % "b"})
    deployments.update_function_code(FunctionName=name, ZipFile=code)
    deployments.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )
    payload, error, tail = call(deployments, name)
    assert error is None, payload
    assert payload["copy"] and payload["version"] == "b"
    assert payload["stamp"] != first["stamp"]
    assert "initialised b" in tail


def test_a_published_version_is_initialised_when_published(deployments: Any) -> None:
    name = deploy(deployments, SLOW_INIT % "v", Timeout=30)
    version = deployments.publish_version(FunctionName=name)["Version"]
    response = deployments.invoke(FunctionName=name, Qualifier=version, Payload=b"{}")
    payload = json.loads(response["Payload"].read())
    assert response["ExecutedVersion"] == version
    assert payload["copy"] and payload["version"] == "v"


def test_templates_whose_copies_are_alive_leave_room_for_more(deployments: Any) -> None:
    # Each first call leaves a warm copy alive, which pins its template; more functions
    # than the cap of idle templates (16), deployed and called one after another, must
    # still each get one.
    for i in range(MAX_TEMPLATES + 2):
        name = deploy(deployments, SLOW_INIT % i, Timeout=30)
        payload, error, _ = call(deployments, name)
        assert error is None, payload
        assert payload["copy"] and payload["version"] == str(i), f"function {i} was no copy"


def test_a_quick_initialisation_starts_afresh(deployments: Any) -> None:
    quick = "import os\nINIT_PID = os.getpid()\n" + (
        "def handler(event, context):\n    return {'copy': os.getpid() != INIT_PID}\n"
    )
    name = deploy(deployments, quick)
    assert call(deployments, name)[0] == {"copy": False}


def test_initialising_on_deploy_can_be_turned_off(new_server: Any) -> None:
    client = new_server(STRATUS_INIT_ON_DEPLOY="0").client("lambda", read_timeout=300)
    name = deploy(client, SLOW_INIT % "a", Timeout=30)
    payload, error, tail = call(client, name)
    assert error is None, payload
    assert not payload["copy"]
    assert "initialised a" in tail
