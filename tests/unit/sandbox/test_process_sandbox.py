"""ProcessSandbox: instances as subprocesses; environment, logs, timeouts, crashes, limits."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sandbox_testing import (
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
    OutcomeKind,
    ProcessSandbox,
)
from stratus.sandbox.child import ChildProcess
from stratus.sandbox.logs import MAX_LOG_BYTES, LogCollector
from stratus.sandbox.process import ProcessInstance
from stratus.sandbox.protocol import HEADER

pytestmark = pytest.mark.timeout(60)

BEHAVIOURS = """
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time

    def env(event, context):
        return {"env": dict(os.environ), "cwd": os.getcwd(), "path0": sys.path[0]}

    def limits(event, context):
        import resource
        get = resource.getrlimit
        return [get(resource.RLIMIT_NOFILE), get(resource.RLIMIT_CORE)]

    def echo(event, context):
        print("start", event["n"])
        sys.stdout.write("x" * event.get("bulk", 0))
        print("end", event["n"])
        return event["n"]

    def later(event, context):
        def speak():
            time.sleep(0.2)
            print("from the background")
            open(event["flag"], "w").close()
        threading.Thread(target=speak).start()
        print("foreground")
        return "ok"

    def hang(event, context):
        child = subprocess.Popen(["sleep", "1000"])
        with open(event["pidfile"], "w") as f:
            f.write(str(child.pid))
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

    def die_while_idle(event, context):
        threading.Timer(0.1, os._exit, (7,)).start()
        return "bye"
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write_code(tmp_path / "code", {"app.py": BEHAVIOURS})


def test_environment_is_exactly_the_spec_environment(
    code: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRATUS_TEST_SERVER_SECRET", "must-not-leak")
    given = {"ONLY": "this", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}

    async def scenario() -> dict[str, object]:
        instance = await ProcessSandbox().start(make_spec(code, "app.env", environment=given))
        try:
            outcome = await instance.invoke(make_request())
        finally:
            await instance.close()
        return json.loads(outcome.payload)

    got = run(scenario())
    assert got["env"] == given
    assert got["cwd"] == str(code)
    assert got["path0"] == str(code)


def test_per_instance_environment_is_added(code: Path) -> None:
    spec = dataclasses.replace(
        make_spec(code, "app.env", environment={"A": "1"}),
        instance_environment=lambda instance_id: {"STREAM": f"stream-{instance_id}"},
    )

    async def scenario() -> tuple[str, dict[str, object]]:
        instance = await ProcessSandbox().start(spec)
        try:
            outcome = await instance.invoke(make_request())
        finally:
            await instance.close()
        return instance.id, json.loads(outcome.payload)

    instance_id, got = run(scenario())
    assert got["env"] == {"A": "1", "STREAM": f"stream-{instance_id}"}


def test_rlimits_are_lowered(code: Path) -> None:
    async def scenario() -> list[list[int]]:
        instance = await ProcessSandbox().start(make_spec(code, "app.limits"))
        try:
            return json.loads((await instance.invoke(make_request())).payload)
        finally:
            await instance.close()

    (nofile_soft, nofile_hard), core = run(scenario())
    assert nofile_hard <= 1024
    assert nofile_soft <= nofile_hard
    assert core == [0, 0]


@pytest.mark.parametrize("uvloop", [False, True], ids=["asyncio", "uvloop"])
def test_logs_belong_to_the_invocation_that_wrote_them(code: Path, uvloop: bool) -> None:
    five_mb = 5 * 1024 * 1024

    async def scenario() -> list[bytes]:
        sandbox = ProcessSandbox(log_limit=8 * 1024 * 1024)
        instance = await sandbox.start(make_spec(code, "app.echo"))
        try:
            logs = []
            for n, bulk in ((1, 0), (2, five_mb), (3, 0)):
                outcome = await instance.invoke(
                    make_request(json.dumps({"n": n, "bulk": bulk}).encode())
                )
                assert outcome.kind is OutcomeKind.OK
                logs.append(outcome.logs)
            return logs
        finally:
            await instance.close()

    first, second, third = run(scenario(), uvloop=uvloop)
    assert first == b"start 1\nend 1\n"
    assert second == b"start 2\n" + b"x" * five_mb + b"end 2\n"
    assert third == b"start 3\nend 3\n"


def test_logs_of_one_invocation_are_capped(code: Path) -> None:
    async def scenario() -> tuple[bytes, bytes]:
        instance = await ProcessSandbox().start(make_spec(code, "app.echo"))
        try:
            chatty = await instance.invoke(make_request(b'{"n": 1, "bulk": 5242880}'))
            quiet = await instance.invoke(make_request(b'{"n": 2}'))
            return chatty.logs, quiet.logs
        finally:
            await instance.close()

    chatty, quiet = run(scenario())
    assert chatty.startswith(b"start 1\nxxx")
    assert len(chatty) < MAX_LOG_BYTES + 200
    assert b"log output truncated" in chatty
    assert quiet == b"start 2\nend 2\n"


def test_output_written_while_idle_goes_to_the_next_invocation(code: Path, tmp_path: Path) -> None:
    flag = tmp_path / "spoke"

    async def scenario() -> tuple[bytes, bytes]:
        instance = await ProcessSandbox().start(make_spec(code, "app.later"))
        try:
            first = await instance.invoke(make_request(json.dumps({"flag": str(flag)}).encode()))
            await wait_until(flag.exists)
            second = await instance.invoke(make_request(json.dumps({"flag": str(flag)}).encode()))
            return first.logs, second.logs
        finally:
            await instance.close()

    first, second = run(scenario())
    assert first == b"foreground\n"
    assert second.startswith(b"from the background\n")


@pytest.mark.parametrize("uvloop", [False, True], ids=["asyncio", "uvloop"])
def test_timeout_kills_the_instance_and_its_children(
    code: Path, tmp_path: Path, uvloop: bool
) -> None:
    pidfile = tmp_path / "sleep.pid"

    async def scenario() -> int:
        instance = await ProcessSandbox().start(make_spec(code, "app.hang"))
        try:
            payload = json.dumps({"pidfile": str(pidfile)}).encode()
            outcome = await instance.invoke(make_request(payload, timeout=1.0))
            assert outcome.kind is OutcomeKind.TIMEOUT
            assert outcome.payload == b""
            assert b"spawned" in outcome.logs
            assert not instance.alive
        finally:
            await instance.close()
        pid = int(pidfile.read_text())
        await wait_until(lambda: process_gone(pid))
        return pid

    run(scenario(), uvloop=uvloop)


def test_each_invocation_gets_its_own_deadline(code: Path) -> None:
    async def scenario() -> None:
        instance = await ProcessSandbox().start(make_spec(code, "app.slow"))
        try:
            # A short deadline, then a longer one that outlives the first.
            quick = await instance.invoke(make_request(b'{"seconds": 0}', timeout=0.3))
            assert quick.kind is OutcomeKind.OK
            slow = await instance.invoke(make_request(b'{"seconds": 0.6}', timeout=30))
            assert slow.kind is OutcomeKind.OK
            # A long deadline, then a short one: the short one still fires.
            assert (await instance.invoke(make_request(b'{"seconds": 0}', timeout=600))).kind is (
                OutcomeKind.OK
            )
            hung = await instance.invoke(make_request(b'{"seconds": 600}', timeout=0.5))
            assert hung.kind is OutcomeKind.TIMEOUT
        finally:
            await instance.close()

    run(scenario(), timeout=30)


@pytest.mark.parametrize(
    ("handler", "status", "printed"),
    [
        ("app.exit3", "exit status 3", b"about to exit\n"),
        ("app.kill9", "signal: killed", b"about to die\n"),
    ],
)
def test_crash_reports_exit_status_like_lambda(
    code: Path, handler: str, status: str, printed: bytes
) -> None:
    async def scenario() -> None:
        instance = await ProcessSandbox().start(make_spec(code, handler))
        try:
            outcome = await instance.invoke(make_request())
            assert outcome.kind is OutcomeKind.CRASH
            assert outcome.exit_status == status
            assert outcome.logs == printed
            assert not instance.alive
            assert not Path(f"/proc/{instance.pid}").exists()  # reaped, not a zombie
            # A dead instance still answers, with the same facts, and never raises.
            again = await instance.invoke(make_request())
            assert again.kind is OutcomeKind.CRASH
        finally:
            await instance.close()

    run(scenario())


def test_instance_that_dies_while_idle_is_not_alive(code: Path) -> None:
    async def scenario() -> None:
        instance = await ProcessSandbox().start(make_spec(code, "app.die_while_idle"))
        try:
            assert (await instance.invoke(make_request())).kind is OutcomeKind.OK
            await wait_until(lambda: not instance.alive)
            outcome = await instance.invoke(make_request())
            assert outcome.kind is OutcomeKind.CRASH
            assert outcome.exit_status == "exit status 7"
        finally:
            await instance.close()

    run(scenario())


def test_oversized_response_is_an_error_and_the_instance_survives(code: Path) -> None:
    async def scenario() -> None:
        instance = await ProcessSandbox().start(make_spec(code, "app.big"))
        try:
            too_big = json.dumps({"size": MAX_RESPONSE_BYTES + 10}).encode()
            outcome = await instance.invoke(make_request(too_big))
            assert outcome.kind is OutcomeKind.ERROR
            assert outcome.error_type == "Function.ResponseSizeTooLarge"
            assert json.loads(outcome.payload) == {
                "errorMessage": "Response payload size exceeded maximum allowed payload "
                "size (6291556 bytes).",
                "errorType": "Function.ResponseSizeTooLarge",
            }
            assert instance.alive
            fits = await instance.invoke(make_request(b'{"size": 3000000}'))
            assert fits.kind is OutcomeKind.OK
            assert len(fits.payload) == 3000002
        finally:
            await instance.close()

    run(scenario())


def test_large_event_reaches_the_handler(code: Path) -> None:
    blob = "y" * (6 * 1024 * 1024 - 100)

    async def scenario() -> bytes:
        instance = await ProcessSandbox().start(make_spec(code, "app.measure"))
        try:
            return (
                await instance.invoke(make_request(json.dumps({"blob": blob}).encode()))
            ).payload
        finally:
            await instance.close()

    assert run(scenario()) == str(len(blob)).encode()


def test_crash_at_import_is_an_init_error(tmp_path: Path) -> None:
    code = write_code(tmp_path / "code", {"app.py": "import os\nprint('importing')\nos._exit(2)\n"})

    async def scenario() -> InstanceInitError:
        with pytest.raises(InstanceInitError) as caught:
            await ProcessSandbox().start(make_spec(code))
        return caught.value

    error = run(scenario())
    assert error.error_type == "Runtime.ExitError"
    assert json.loads(error.document)["errorMessage"] == "Runtime exited with error: exit status 2"
    assert error.logs == b"importing\n"
    assert error.init_duration_ms > 0


def test_init_that_never_finishes_times_out(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    code = write_code(
        tmp_path / "code",
        {
            "app.py": f"""
                import os, time
                open({str(pidfile)!r}, "w").write(str(os.getpid()))
                time.sleep(1000)
            """
        },
    )

    async def scenario() -> InstanceInitError:
        with pytest.raises(InstanceInitError) as caught:
            await ProcessSandbox(init_timeout=1.0).start(make_spec(code))
        return caught.value

    error = run(scenario())
    assert error.error_type == "Sandbox.Timedout"
    assert "Init phase timed out" in json.loads(error.document)["errorMessage"]
    assert process_gone(int(pidfile.read_text()))


def test_missing_interpreter_is_an_init_error(code: Path) -> None:
    spec = make_spec(code, runtime="python3.12", interpreter="/nonexistent/python3.12")

    async def scenario() -> InstanceInitError:
        with pytest.raises(InstanceInitError) as caught:
            await ProcessSandbox().start(spec)
        return caught.value

    assert run(scenario()).error_type == "Runtime.InvalidEntrypoint"


def test_init_duration_and_logs_are_recorded(tmp_path: Path) -> None:
    code = write_code(
        tmp_path / "code", {"app.py": "print('cold')\ndef handler(e, c):\n    return 1\n"}
    )

    async def scenario() -> tuple[float, bytes, bytes]:
        instance = await ProcessSandbox().start(make_spec(code))
        try:
            outcome = await instance.invoke(make_request())
            return instance.init_duration_ms, instance.init_logs, outcome.logs
        finally:
            await instance.close()

    duration, init_logs, logs = run(scenario())
    assert duration > 0
    assert init_logs == b"cold\n"
    assert logs == b""


def test_close_kills_the_process_and_a_cancelled_invoke_retires_the_instance(code: Path) -> None:
    async def scenario() -> None:
        sandbox = ProcessSandbox()
        instance = await sandbox.start(make_spec(code, "app.hang"))
        pidfile = code / "hang.pid"
        task = asyncio.create_task(
            instance.invoke(make_request(json.dumps({"pidfile": str(pidfile)}).encode()))
        )
        await wait_until(lambda: pidfile.exists() and pidfile.read_text() != "")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not instance.alive
        await instance.close()
        sleeper = int(pidfile.read_text())
        await wait_until(lambda: process_gone(sleeper))

        idle = await sandbox.start(make_spec(code, "app.echo"))
        assert idle.alive
        await idle.close()
        assert not idle.alive
        outcome = await idle.invoke(make_request(b'{"n": 1}'))
        assert outcome.kind is OutcomeKind.CRASH

    run(scenario())


def test_control_socket_is_not_inherited_by_children(tmp_path: Path) -> None:
    probe = write_code(
        tmp_path / "probe",
        {
            "app.py": f"""
                import subprocess

                LIST_FDS = "import json, os; print(json.dumps(os.listdir('/proc/self/fd')))"

                def handler(event, context):
                    command = [{sys.executable!r}, "-c", LIST_FDS]
                    return subprocess.run(command, capture_output=True, close_fds=False).stdout
            """
        },
    )

    async def scenario() -> list[str]:
        instance = await ProcessSandbox().start(make_spec(probe))
        try:
            outcome = await instance.invoke(make_request())
        finally:
            await instance.close()
        return json.loads(outcome.payload)

    fds = sorted(int(fd) for fd in run(scenario()))
    # stdin, stdout, stderr and the descriptor of the listing itself: nothing else.
    assert fds[:3] == [0, 1, 2]
    assert len(fds) <= 4


def test_signal_names_follow_go(code: Path) -> None:
    from stratus.sandbox.child import describe_exit

    assert describe_exit(0) == "exit status 0"
    assert describe_exit(-signal.SIGSEGV) == "signal: segmentation fault"
    assert describe_exit(-signal.SIGABRT) == "signal: aborted"
    assert describe_exit(-64) == "signal: signal 64"
    assert os.name == "posix" and sys.platform.startswith("linux")


def test_exit_is_noticed_without_pidfds(code: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pidfd(pid: int) -> int:
        raise OSError("pidfd_open disabled for this test")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd)

    async def scenario() -> None:
        instance = await ProcessSandbox().start(make_spec(code, "app.exit3"))
        try:
            outcome = await instance.invoke(make_request())
            assert outcome.exit_status == "exit status 3"
            assert not Path(f"/proc/{instance.pid}").exists()
        finally:
            await instance.close()

    run(scenario())


# Answers the set-up frame's place with "ready" at once, then echoes one event.
_EAGER_RUNTIME = """
import json, os, socket, struct
header = struct.Struct("<II")
sock = socket.socket(fileno=int(os.environ["FD"]))
meta = json.dumps({"t": "ready"}).encode()
sock.sendall(header.pack(len(meta), 0) + meta)
def exactly(n):
    data = b""
    while len(data) < n:
        data += sock.recv(n - len(data))
    return data
meta_len, body_len = header.unpack(exactly(header.size))
exactly(meta_len)
body = exactly(body_len)
meta = json.dumps({"t": "ok"}).encode()
sock.sendall(header.pack(len(meta), len(body)) + meta + body)
sock.recv(1)
"""


@pytest.mark.parametrize("uvloop", [False, True], ids=["asyncio", "uvloop"])
def test_a_ready_frame_already_waiting_is_not_taken_for_unsolicited_output(
    code: Path, uvloop: bool
) -> None:
    """The runtime may be ready before the engine has attached its socket (a zygote-forked
    one usually is); uvloop then delivers the frame while the connection is being made."""

    async def scenario() -> bytes:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        log_read, log_write = os.pipe()
        child = ChildProcess.spawn(
            [sys.executable, "-c", _EAGER_RUNTIME],
            env={"FD": str(theirs.fileno())},
            cwd=code,
            pass_fds=[theirs.fileno()],
            output_fd=log_write,
        )
        theirs.close()
        os.close(log_write)
        ours.setblocking(True)
        ours.recv(1, socket.MSG_PEEK)  # the frame is in the socket before start
        loop = asyncio.get_running_loop()
        instance = ProcessInstance("eager", make_spec(code), child, LogCollector(loop, log_read))
        try:
            await instance.start(ours, time.perf_counter(), 10)
            outcome = await instance.invoke(make_request(payload=b'"hello"'))
            assert outcome.kind == OutcomeKind.OK, outcome
            return outcome.payload
        finally:
            await instance.close()

    assert run(scenario(), uvloop=uvloop) == b'"hello"'


class _ExitsWhenTold:
    """A runtime process whose exit the test reports to the instance (the loop may
    notice an exit before it reads what the process wrote just before)."""

    pid = 0

    def __init__(self) -> None:
        self.returncode: int | None = None
        self._on_exit: Callable[[], None] = lambda: None

    def watch(self, on_exit: Callable[[], None]) -> None:
        self._on_exit = on_exit

    def exit(self, code: int) -> None:
        self.returncode = code
        self._on_exit()

    def kill_group(self) -> None:
        pass

    async def wait(self) -> int:
        return self.returncode or 0

    def peak_rss_kb(self) -> int | None:
        return None

    def out_of_memory(self) -> bool:
        return False


def test_an_init_error_sent_just_before_the_exit_is_not_lost(tmp_path: Path) -> None:
    async def scenario() -> InstanceInitError:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        log_read, log_write = os.pipe()
        os.close(log_write)
        child = _ExitsWhenTold()
        spec = make_spec(write_code(tmp_path / "code", {"app.py": ""}))
        instance = ProcessInstance("i-1", spec, child, LogCollector(loop, log_read))
        meta = json.dumps({"t": "init_error", "type": "Runtime.UserCodeSyntaxError"}).encode()
        body = b'{"errorType": "Runtime.UserCodeSyntaxError", "errorMessage": "bad"}'
        theirs.sendall(HEADER.pack(len(meta), len(body)) + meta + body)
        theirs.close()
        starting = asyncio.ensure_future(instance.start(ours, time.perf_counter(), 5.0))
        while not starting.done() and not instance._control.is_open:
            await asyncio.sleep(0)
        child.exit(1)  # noticed before the loop reads the socket
        with pytest.raises(InstanceInitError) as caught:
            await starting
        return caught.value

    error = run(scenario())
    assert error.error_type == "Runtime.UserCodeSyntaxError"
    assert json.loads(error.document)["errorMessage"] == "bad"
