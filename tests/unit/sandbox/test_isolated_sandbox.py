"""IsolatedSandbox: the engine's contract, kept inside namespaces, cgroups and seccomp.

The behaviours the process sandbox promises (environment, logs, timeouts, crashes,
limits) hold here too; then what only isolation gives: Lambda's file system layout and
user, nothing of the host, limits that end the instance, no inbound network, nothing
left running between invocations.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from sandbox_testing import (
    PYTHON_VERSIONS,
    aws_environment,
    has_memory_cgroup,
    interpreter_for,
    isolated_sandbox,
    make_request,
    make_spec,
    process_gone,
    run,
    wait_until,
    write_code,
)

from stratus.sandbox import (
    MAX_RESPONSE_BYTES,
    InstanceInitError,
    InstanceSpec,
    InvokeOutcome,
    InvokeRequest,
    OutcomeKind,
    ProcessSandbox,
    initprog,
    kernel,
    prefault,
)
from stratus.sandbox.process import ProcessInstance

pytestmark = pytest.mark.timeout(90)

BEHAVIOURS = """
    import ctypes
    import errno
    import json
    import os
    import signal
    import socket
    import subprocess
    import sys
    import threading
    import time

    def env(event, context):
        return {"env": dict(os.environ), "cwd": os.getcwd(), "path0": sys.path[0]}

    def whoami(event, context):
        with open("/etc/passwd") as f:
            passwd = f.read()
        return {
            "uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(), "ppid": os.getppid(),
            "root": sorted(os.listdir("/")), "hostname": socket.gethostname(),
            "executable": os.path.exists(sys.executable), "passwd": passwd,
            "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
            "tmp": os.statvfs("/tmp").f_blocks * os.statvfs("/tmp").f_frsize,
            "json_refs": sys.getrefcount(json.dumps),
        }

    def limits(event, context):
        import resource
        get = resource.getrlimit
        return [get(resource.RLIMIT_NOFILE), get(resource.RLIMIT_CORE), get(resource.RLIMIT_NPROC)]

    def try_paths(event, context):
        result = {}
        for path in event["read"]:
            try:
                with open(path, "rb") as f:
                    f.read(1)
                result[path] = "read"
            except OSError as e:
                result[path] = errno.errorcode[e.errno]
        for path in event["write"]:
            try:
                with open(path, "w") as f:
                    f.write("x")
                result[path] = "written"
            except OSError as e:
                result[path] = errno.errorcode[e.errno]
        return result

    def fill_tmp(event, context):
        chunk = b"x" * (1 << 20)
        written = 0
        try:
            with open("/tmp/fill", "wb") as f:
                while written < event["mb"]:
                    f.write(chunk)
                    f.flush()
                    written += 1
        except OSError as e:
            return {"written": written, "error": errno.errorcode[e.errno]}
        return {"written": written, "error": None}

    def leave_mark(event, context):
        with open("/tmp/mark", "w") as f:
            f.write(event["mark"])
        return sorted(os.listdir("/tmp"))

    def syscalls(event, context):
        result = {}
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        try:
            s.listen()
            result["listen"] = "allowed"
        except OSError as e:
            result["listen"] = errno.errorcode[e.errno]
        try:
            socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)
            result["netlink"] = "allowed"
        except OSError as e:
            result["netlink"] = errno.errorcode[e.errno]
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()
        libc = ctypes.CDLL(None, use_errno=True)
        for name, call in (
            ("ptrace", lambda: libc.ptrace(16, 1, 0, 0)),  # PTRACE_ATTACH to init
            ("unshare", lambda: libc.unshare(0x10000000)),  # CLONE_NEWUSER
            ("mount", lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
        ):
            result[name] = "allowed" if call() == 0 else errno.errorcode[ctypes.get_errno()]
        return result

    def connect(event, context):
        try:
            with socket.create_connection(("127.0.0.1", event["port"]), timeout=5) as s:
                return s.recv(100).decode()
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e))

    def hog(event, context):
        blocks = []
        while True:
            blocks.append(b"x" * (16 << 20))

    def grow(event, context):
        held = bytearray(event["mb"] << 20)  # zeroed, so every page is touched
        return len(held)

    def fork_many(event, context):
        children = []
        error = None
        while len(children) < event["limit"]:
            try:
                pid = os.fork()
            except OSError as e:
                error = errno.errorcode[e.errno]
                break
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            children.append(pid)
        return {"forked": len(children), "error": error}

    def background(event, context):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        return child.pid

    def alive(event, context):
        try:
            with open(f"/proc/{event['pid']}/stat") as f:
                return f.read().split(") ", 1)[1][0] not in "ZX"
        except OSError:
            return False

    def hang(event, context):
        child = subprocess.Popen(["sleep", "1000"])
        print("spawned", child.pid)
        while True:
            pass

    def exit3(event, context):
        print("about to exit")
        os._exit(3)

    def kill9(event, context):
        print("about to die")
        os.kill(os.getpid(), signal.SIGKILL)

    def slow(event, context):
        time.sleep(event["seconds"])
        return "slept"

    def big(event, context):
        return "x" * event["size"]

    def measure(event, context):
        return len(event["blob"])

    def echo(event, context):
        print("start", event["n"])
        sys.stdout.write("x" * event.get("bulk", 0))
        print("end", event["n"])
        return event["n"]

    def later(event, context):
        def speak():
            time.sleep(0.2)
            print("from the background")
        threading.Thread(target=speak).start()
        print("foreground")
        return "ok"

    def view(event, context):
        import __main__
        import gc
        return {
            "argv0": sys.argv[0],
            "argc": len(sys.argv),
            "handler_arg": sys.argv[2],
            "options": json.loads(sys.argv[3]),
            "modules": sorted(sys.modules),
            "main": sorted(n for n in vars(__main__) if not n.startswith("__")),
            "runtime_file": os.path.basename(__main__.bootstrap.__file__),
            "flags": list(sys.flags),
            "encoding": [sys.stdout.encoding, sys.getfilesystemencoding()],
            "signals": [
                str(signal.getsignal(number))
                for number in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD)
            ],
            "stdin": os.path.realpath("/proc/self/fd/0"),
            "gc": gc.isenabled(),
            "threads": threading.active_count(),
            "path_tail": sys.path[1:],
        }
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write_code(tmp_path / "code", {"app.py": BEHAVIOURS})


async def _invoke(
    spec: InstanceSpec, *requests: InvokeRequest, **options: Any
) -> list[InvokeOutcome]:
    async with isolated_sandbox(**options) as sandbox:
        instance = await sandbox.start(spec)
        try:
            return [await instance.invoke(request) for request in requests or [make_request()]]
        finally:
            await instance.close()


def invoke(spec: InstanceSpec, *requests: InvokeRequest, **options: Any) -> list[InvokeOutcome]:
    return run(_invoke(spec, *requests, **options))


def payload(event: dict[str, Any]) -> InvokeRequest:
    return make_request(json.dumps(event).encode())


def result(outcome: InvokeOutcome) -> Any:
    assert outcome.kind is OutcomeKind.OK, (outcome.kind, outcome.payload, outcome.logs)
    return json.loads(outcome.payload)


# --- the engine's contract -----------------------------------------------------------


def test_environment_is_the_spec_environment_with_the_task_root_inside(
    code: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRATUS_TEST_SERVER_SECRET", "must-not-leak")
    given = {"ONLY": "this", "LAMBDA_TASK_ROOT": str(code), "LANG": "C.UTF-8"}
    spec = dataclasses.replace(
        make_spec(code, "app.env", environment=given),
        instance_environment=lambda instance_id: {"STREAM": instance_id},
    )
    got = result(invoke(spec)[0])
    assert got["env"] == {**given, "LAMBDA_TASK_ROOT": "/var/task", "STREAM": got["env"]["STREAM"]}
    assert got["cwd"] == got["path0"] == "/var/task"


def test_rlimits_include_processes(code: Path) -> None:
    (nofile_soft, nofile_hard), core, nproc = result(invoke(make_spec(code, "app.limits"))[0])
    assert nofile_hard <= 1024 and nofile_soft <= nofile_hard
    assert core == [0, 0]
    assert nproc == [1024, 1024]


def test_logs_belong_to_their_invocation_and_idle_output_to_the_next(code: Path) -> None:
    async def scenario() -> list[bytes]:
        async with isolated_sandbox(log_limit=8 << 20) as sandbox:
            instance = await sandbox.start(make_spec(code, "app.echo"))
            try:
                first = await instance.invoke(payload({"n": 1, "bulk": 3 << 20}))
                talker = dataclasses.replace(instance.spec, handler="app.later")
                assert first.kind is OutcomeKind.OK
                later = await sandbox.start(talker)
                try:
                    foreground = await later.invoke(make_request())
                    await asyncio.sleep(0.5)
                    background = await later.invoke(make_request())
                finally:
                    await later.close()
                return [first.logs, foreground.logs, background.logs]
            finally:
                await instance.close()

    first, foreground, background = run(scenario())
    assert first == b"start 1\n" + b"x" * (3 << 20) + b"end 1\n"
    assert foreground == b"foreground\n"
    assert background.startswith(b"from the background\n")


def test_timeout_kills_the_instance_and_everything_in_it(code: Path) -> None:
    async def scenario() -> None:
        async with isolated_sandbox() as sandbox:
            instance = await sandbox.start(make_spec(code, "app.hang"))
            assert isinstance(instance, ProcessInstance)
            init = instance.pid
            namespace = os.readlink(f"/proc/{init}/ns/pid")
            try:
                outcome = await instance.invoke(make_request(timeout=1.0))
                assert outcome.kind is OutcomeKind.TIMEOUT
                assert b"spawned" in outcome.logs
                assert not instance.alive
            finally:
                await instance.close()
            await wait_until(lambda: process_gone(init))
            await wait_until(lambda: not _processes_in(namespace))

    run(scenario())


def _processes_in(namespace: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.readlink(f"/proc/{name}/ns/pid") == namespace:
                    found.append(int(name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize(
    ("handler", "status", "printed"),
    [
        ("app.exit3", "exit status 3", b"about to exit\n"),
        ("app.kill9", "signal: killed", b"about to die\n"),
    ],
)
def test_crash_reports_the_runtime_exit_status(
    code: Path, handler: str, status: str, printed: bytes
) -> None:
    first, again = invoke(make_spec(code, handler), make_request(), make_request())
    assert first.kind is OutcomeKind.CRASH
    assert first.exit_status == status
    assert first.logs == printed
    assert again.kind is OutcomeKind.CRASH


def test_each_invocation_gets_its_own_deadline(code: Path) -> None:
    quick, hung = invoke(
        make_spec(code, "app.slow"),
        payload({"seconds": 0}),
        make_request(b'{"seconds": 600}', timeout=0.5),
    )
    assert quick.kind is OutcomeKind.OK
    assert hung.kind is OutcomeKind.TIMEOUT


def test_large_events_and_oversized_responses(code: Path) -> None:
    blob = "y" * (6 * 1024 * 1024 - 100)
    (measured,) = invoke(make_spec(code, "app.measure"), payload({"blob": blob}))
    assert measured.payload == str(len(blob)).encode()
    too_big, fits = invoke(
        make_spec(code, "app.big"),
        payload({"size": MAX_RESPONSE_BYTES + 10}),
        payload({"size": 1000}),
    )
    assert too_big.error_type == "Function.ResponseSizeTooLarge"
    assert fits.kind is OutcomeKind.OK


def test_init_errors_crashes_and_timeouts(tmp_path: Path) -> None:
    broken = write_code(tmp_path / "broken", {"app.py": "import nothing_here\n"})
    crash = write_code(
        tmp_path / "crash", {"app.py": "import os\nprint('importing')\nos._exit(2)\n"}
    )
    stuck = write_code(tmp_path / "stuck", {"app.py": "import time\ntime.sleep(1000)\n"})

    async def scenario() -> list[InstanceInitError]:
        errors = []
        async with isolated_sandbox(init_timeout=1.0) as sandbox:
            for code in (broken, crash, stuck):
                with pytest.raises(InstanceInitError) as caught:
                    await sandbox.start(make_spec(code))
                errors.append(caught.value)
        return errors

    missing, crashed, timed_out = run(scenario())
    assert missing.error_type == "Runtime.ImportModuleError"
    assert crashed.error_type == "Runtime.ExitError"
    assert (
        json.loads(crashed.document)["errorMessage"] == "Runtime exited with error: exit status 2"
    )
    assert crashed.logs == b"importing\n"
    assert timed_out.error_type == "Sandbox.Timedout"
    assert all(error.init_duration_ms > 0 for error in (missing, crashed, timed_out))


def test_init_duration_and_logs_are_recorded(tmp_path: Path) -> None:
    code = write_code(
        tmp_path / "c", {"app.py": "print('cold')\ndef handler(e, c):\n    return 1\n"}
    )

    async def scenario() -> tuple[float, bytes, bytes]:
        async with isolated_sandbox() as sandbox:
            instance = await sandbox.start(make_spec(code))
            try:
                outcome = await instance.invoke(make_request())
            finally:
                await instance.close()
            return instance.init_duration_ms, instance.init_logs, outcome.logs

    duration, init_logs, logs = run(scenario())
    assert duration > 0
    assert init_logs == b"cold\n"
    assert logs == b""


def test_a_cancelled_invocation_retires_the_instance(code: Path) -> None:
    async def scenario() -> None:
        async with isolated_sandbox() as sandbox:
            instance = await sandbox.start(make_spec(code, "app.slow"))
            task = asyncio.create_task(instance.invoke(payload({"seconds": 600})))
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not instance.alive
            await instance.close()
            assert (await instance.invoke(make_request())).kind is OutcomeKind.CRASH

    run(scenario())


@pytest.mark.parametrize("runtime", PYTHON_VERSIONS)
def test_every_python_runs_isolated(code: Path, runtime: str) -> None:
    interpreter = interpreter_for(runtime)
    if interpreter is None:
        pytest.skip(f"{runtime} is not installed")
    spec = make_spec(code, "app.whoami", runtime=runtime, interpreter=interpreter)
    got = result(invoke(spec)[0])
    assert got["uid"] == 993 and got["pid"] == 2
    assert got["executable"]
    # What the zygote built is immortal where CPython allows it (3.12, 3.13), so using
    # it leaves the shared page alone; elsewhere counts are ordinary.
    immortal = runtime in ("python3.12", "python3.13")
    assert (got["json_refs"] >= 2**32 - 1) == immortal


# --- what isolation adds -------------------------------------------------------------


def test_instance_sees_lambdas_layout_and_user(code: Path) -> None:
    got = result(invoke(make_spec(code, "app.whoami", ephemeral_storage_mb=600))[0])
    assert (got["uid"], got["gid"]) == (993, 990)
    # PID 1 is init; the runtime's parent, the zygote, is outside the namespace (so
    # getppid() answers 0 there), which hears its exit first hand.
    assert (got["pid"], got["ppid"]) == (2, 0)
    assert got["processes"] == [1, 2]
    assert set(got["root"]) <= {
        "bin",
        "dev",
        "etc",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "opt",
        "proc",
        "root",
        "sbin",
        "tmp",
        "usr",
        "var",
        "home",
    }
    assert got["hostname"] == "localhost"
    assert "sbx_user1051:x:993:990" in got["passwd"]
    assert got["tmp"] == 600 << 20


def test_host_is_invisible_and_only_tmp_is_writable(code: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host data")
    probe = {
        "read": [
            str(secret),
            str(code / "app.py"),
            "/etc/shadow",
            "/root/.bashrc",
            "/var/task/app.py",
            "/proc/1/environ",
        ],
        "write": [
            "/var/task/new.py",
            "/etc/passwd",
            "/usr/evil",
            "/evil",
            "/opt/evil",
            "/var/runtime/evil",
            "/tmp/fine",
        ],
    }
    got = result(invoke(make_spec(code, "app.try_paths"), payload(probe))[0])
    assert got[str(secret)] == got[str(code / "app.py")] == "ENOENT"
    assert got["/etc/shadow"] == got["/root/.bashrc"] == "ENOENT"
    assert got["/var/task/app.py"] == "read"
    assert got["/proc/1/environ"] == "EACCES"
    for path in probe["write"][:-1]:
        assert got[path] in ("EROFS", "EACCES", "ENOENT"), path
    assert got["/tmp/fine"] == "written"


def test_tmp_is_private_and_bounded(code: Path) -> None:
    async def scenario() -> tuple[Any, Any, Any]:
        async with isolated_sandbox() as sandbox:
            small = make_spec(code, "app.fill_tmp", ephemeral_storage_mb=512, memory_mb=1024)
            filler = await sandbox.start(small)
            marker = await sandbox.start(make_spec(code, "app.leave_mark"))
            try:
                filled = result(await filler.invoke(payload({"mb": 700})))
                first = result(await marker.invoke(payload({"mark": "one"})))
                other = await sandbox.start(make_spec(code, "app.leave_mark"))
                try:
                    second = result(await other.invoke(payload({"mark": "two"})))
                finally:
                    await other.close()
                return filled, first, second
            finally:
                await filler.close()
                await marker.close()

    filled, first, second = run(scenario())
    assert filled["error"] == "ENOSPC"
    assert 500 <= filled["written"] <= 512
    assert first == second == ["mark"]


def test_seccomp_stops_listening_tracing_and_new_namespaces(code: Path) -> None:
    got = result(invoke(make_spec(code, "app.syscalls"))[0])
    assert got == {
        "listen": "EPERM",
        "netlink": "EAFNOSUPPORT",
        "ptrace": "EPERM",
        "unshare": "EPERM",
        "mount": "EPERM",
    }


def test_network_is_outbound_only_and_absent_when_disabled(code: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def answer() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.sendall(b"hello from the host")

        threading.Thread(target=answer, daemon=True).start()
        (online,) = invoke(make_spec(code, "app.connect"), payload({"port": port}))
        (offline,) = invoke(make_spec(code, "app.connect", network=False), payload({"port": port}))
    assert result(online) == "hello from the host"
    assert result(offline) in ("ENETUNREACH", "ECONNREFUSED", "EADDRNOTAVAIL")


def test_memory_limit_ends_the_instance_as_out_of_memory(code: Path) -> None:
    if not has_memory_cgroup():
        pytest.skip("no writable memory cgroup on this host")
    (outcome,) = invoke(make_spec(code, "app.hog", memory_mb=128))
    assert outcome.kind is OutcomeKind.OUT_OF_MEMORY
    assert outcome.max_memory_mb == 128
    assert outcome.exit_status == "signal: killed"


def test_peak_memory_follows_what_the_handler_uses(code: Path) -> None:
    # A forked instance reads its peak from getrusage alone (no exec carried a mark in).
    small, large = invoke(
        make_spec(code, "app.grow", memory_mb=512), payload({"mb": 1}), payload({"mb": 96})
    )
    assert small.max_memory_mb < 60
    assert 96 <= large.max_memory_mb < 160


def test_processes_and_threads_are_limited(code: Path) -> None:
    spec = make_spec(code, "app.fork_many", memory_mb=2048)
    (outcome,) = invoke(spec, payload({"limit": 5000}))
    got = result(outcome)
    assert got["error"] == "EAGAIN"
    assert 900 < got["forked"] < 1024


def test_processes_a_handler_leaves_behind_end_with_its_invocation(tmp_path: Path) -> None:
    code = write_code(
        tmp_path / "code",
        {
            "app.py": BEHAVIOURS,
            "keeper.py": """
                import subprocess, sys
                from app import alive
                helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
                def handler(event, context):
                    if event.get("spawn"):
                        return subprocess.Popen(["sleep", "600"]).pid
                    return {"helper": alive({"pid": helper.pid}, None),
                            "spawned": alive({"pid": event["pid"]}, None)}
            """,
        },
    )

    async def scenario() -> dict[str, bool]:
        async with isolated_sandbox() as sandbox:
            instance = await sandbox.start(make_spec(code, "keeper.handler"))
            try:
                spawned = result(await instance.invoke(payload({"spawn": True})))
                return result(await instance.invoke(payload({"pid": spawned})))
            finally:
                await instance.close()

    assert run(scenario()) == {"helper": True, "spawned": False}


@pytest.mark.parametrize("program", [True, False], ids=["init program", "python init"])
def test_init_reaps_orphans_and_holds_no_privilege(
    tmp_path: Path, program: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An orphan (a grandchild whose parent ended) is adopted by the instance's init,
    which reaps it when it ends: no zombie is left to use up the instance's processes.
    Init itself runs as nobody (as root) with no capability. Both inits: the program,
    and the zygote's copy that hosts which cannot run it get."""
    if not program:
        monkeypatch.setattr(initprog, "supported", lambda: False)
    code = write_code(
        tmp_path / "code",
        {
            "orphans.py": """
                import os, time
                def handler(event, context):
                    for _ in range(5):
                        child = os.fork()
                        if child == 0:
                            if os.fork() == 0:
                                time.sleep(0.05)
                            os._exit(0)
                        os.waitpid(child, 0)
                    time.sleep(0.5)
                    states = {}
                    for pid in os.listdir("/proc"):
                        if pid.isdigit():
                            with open(f"/proc/{pid}/stat") as f:
                                states[pid] = f.read().rsplit(")", 1)[1].split()[0]
                    return states
            """,
        },
    )

    async def scenario() -> tuple[Any, dict[str, str]]:
        async with isolated_sandbox() as sandbox:
            instance = await sandbox.start(make_spec(code, "orphans.handler"))
            try:
                states = result(await instance.invoke(make_request()))
                with open(f"/proc/{instance.pid}/status") as f:  # init, seen from the host
                    status = dict(line.split(":", 1) for line in f)
                return states, status
            finally:
                await instance.close()

    states, init = run(scenario())
    assert set(states) == {"1", "2"}, states
    assert (int(init["RssAnon"].split()[0]) < 100) == (program and initprog.supported())
    assert init["CapEff"].strip() == "0000000000000000"
    if os.geteuid() == 0:
        assert init["Uid"].split() == ["65534"] * 4


def test_the_bootstrap_sees_what_a_fresh_process_sees(code: Path) -> None:
    spec = make_spec(code, "app.view")

    async def fresh() -> dict[str, Any]:
        instance = await ProcessSandbox().start(spec)
        try:
            return result(await instance.invoke(make_request()))
        finally:
            await instance.close()

    isolated = result(invoke(spec)[0])
    plain = run(fresh())
    plain["options"]["rlimits"]["nproc"] = 1024  # the one limit isolation adds
    assert set(isolated["main"]) == {*plain["main"], "_stratus_on_idle"}
    for key in (
        "argv0",
        "argc",
        "handler_arg",
        "options",
        "flags",
        "encoding",
        "signals",
        "gc",
        "threads",
        "runtime_file",
        "stdin",
    ):
        assert isolated[key] == plain[key], key
    # The same modules, but for the site-packages of the host's user, which is not there.
    assert set(isolated["modules"]) == set(plain["modules"])


# --- zygotes -----------------------------------------------------------------------------


def test_start_up_variables_get_a_zygote_started_with_them(tmp_path: Path) -> None:
    code = write_code(
        tmp_path / "code",
        {
            "lib/helper.py": "VALUE = 'from PYTHONPATH'\n",
            "app.py": """
                import sys
                import helper
                def handler(event, context):
                    return {"value": helper.VALUE, "path": sys.path, "hash": hash("x")}
            """,
        },
    )
    plain = make_spec(code, "app.handler")
    pathed = make_spec(
        code, "app.handler", environment={"PYTHONPATH": "/var/task/lib", "PYTHONHASHSEED": "7"}
    )

    async def scenario() -> tuple[Any, int, InstanceInitError]:
        async with isolated_sandbox() as sandbox:
            instance = await sandbox.start(pathed)
            try:
                got = result(await instance.invoke(make_request()))
            finally:
                await instance.close()
            with pytest.raises(InstanceInitError) as caught:
                await sandbox.start(plain)  # no PYTHONPATH: no helper
            return got, len(sandbox._zygotes), caught.value

    got, zygotes, missing = run(scenario())
    assert got["value"] == "from PYTHONPATH"
    assert got["path"][:2] == ["/var/task", "/var/task/lib"]
    assert zygotes == 2
    assert missing.error_type == "Runtime.ImportModuleError"


def test_a_dead_zygote_takes_its_instances_along_and_is_replaced(code: Path) -> None:
    async def scenario() -> None:
        async with isolated_sandbox() as sandbox:
            instance = await sandbox.start(make_spec(code, "app.slow"))
            (zygote,) = sandbox._zygotes.values()
            assert zygote._popen is not None
            os.kill(zygote._popen.pid, 9)
            await wait_until(lambda: not instance.alive)
            assert (await instance.invoke(payload({"seconds": 0}))).kind is OutcomeKind.CRASH
            await instance.close()
            again = await sandbox.start(make_spec(code, "app.slow"))
            try:
                assert result(await again.invoke(payload({"seconds": 0}))) == "slept"
            finally:
                await again.close()

    run(scenario())


def test_instances_forked_ahead_take_only_the_function_they_are_given(
    code: Path, tmp_path: Path
) -> None:
    """A cold start takes an instance forked before its function was known (a spare):
    it gets that function's code, environment, /tmp and limits, nothing of another; a
    function without network never takes one; closing the sandbox ends the spares."""
    other = write_code(tmp_path / "other", {"app.py": BEHAVIOURS.replace("def env", "def env2")})

    async def spares_ready(sandbox: Any, count: int) -> None:
        await wait_until(lambda: len(sandbox._spares.waiting()) == count)

    async def scenario() -> None:
        async with isolated_sandbox(spares=2) as sandbox:
            first = await sandbox.start(
                make_spec(code, "app.env", environment=aws_environment(SECRET="first"))
            )
            await first.close()
            await spares_ready(sandbox, 2)
            spare_pids = [s.child.pid for s in sandbox._spares.waiting()]
            spec = make_spec(
                other,
                "app.env2",
                environment=aws_environment(SECRET="second"),
                ephemeral_storage_mb=700,
            )
            second = await sandbox.start(spec)
            assert second.pid in spare_pids
            got = result(await second.invoke(make_request()))
            assert got["env"]["SECRET"] == "second" and got["cwd"] == "/var/task"
            await second.close()
            offline = await sandbox.start(make_spec(code, "app.whoami", network=False))
            assert offline.pid not in spare_pids
            await offline.close()
            if has_memory_cgroup():
                await spares_ready(sandbox, 2)
                hog = await sandbox.start(make_spec(code, "app.hog", memory_mb=128))
                outcome = await hog.invoke(make_request())
                assert outcome.kind is OutcomeKind.OUT_OF_MEMORY
                await hog.close()
            await spares_ready(sandbox, 2)
            left = [s.child.pid for s in sandbox._spares.waiting()]
        assert all(process_gone(pid) for pid in left)

    run(scenario())


FAULTS = """
    import resource

    AT_IMPORT = resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    def handler(event, context):
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - AT_IMPORT
"""


def test_later_instances_find_the_pages_they_write_copied_ahead(tmp_path: Path) -> None:
    """A zygote learns from its first instances which of its pages an instance writes
    (sandbox/prefault.py); later spares copy them while they wait, so a cold start
    takes (almost) no page faults of its own between importing its code and its first
    call, where the first instances took a dozen or more."""
    if not kernel.populate_supported():
        pytest.skip("this kernel cannot populate pages on request (Linux 5.14)")
    code = write_code(tmp_path / "code", {"app.py": FAULTS})

    async def scenario() -> list[int]:
        faults, instances = [], []
        async with isolated_sandbox(spares=2) as sandbox:
            for _ in range(prefault.SAMPLES + 4):
                if sandbox._zygotes:  # (the first start starts the zygote)
                    await wait_until(lambda: len(sandbox._spares.waiting()) == 2)
                instances.append(await sandbox.start(make_spec(code)))
                faults.append(int(result(await instances[-1].invoke(make_request()))))
            for instance in instances:
                await instance.close()
        return faults

    faults = run(scenario(), timeout=120)
    assert min(faults[: prefault.SAMPLES]) >= 8, faults
    assert max(faults[-2:]) <= 2, faults


def test_a_spare_made_for_one_memory_size_serves_another(code: Path) -> None:
    """Spares write ahead the cgroup limits of the last cold start's memory size; a
    function of another size gets its own, larger or smaller."""
    if not has_memory_cgroup():
        pytest.skip("no memory cgroup here")

    async def cold(sandbox: Any, memory_mb: int, event: dict[str, Any]) -> InvokeOutcome:
        await wait_until(lambda: len(sandbox._spares.waiting()) == 2)
        instance = await sandbox.start(make_spec(code, "app.grow", memory_mb=memory_mb))
        try:
            return await instance.invoke(payload(event))
        finally:
            await instance.close()

    async def scenario() -> None:
        async with isolated_sandbox(spares=2) as sandbox:
            first = await sandbox.start(make_spec(code, "app.grow", memory_mb=128))
            await first.close()
            # Spares now hold 128 MB limits: a 512 MB function may use 300 MB.
            assert result(await cold(sandbox, 512, {"mb": 300})) == 300 << 20
            await cold(sandbox, 512, {"mb": 1})  # spares made for 512 MB from here
            outcome = await cold(sandbox, 128, {"mb": 200})
            assert outcome.kind is OutcomeKind.OUT_OF_MEMORY

    run(scenario(), timeout=120)
