"""Function templates: an instance that has initialised a function, copied into new ones.

A cold start of a function whose initialisation imports heavy packages is mostly that
import (boto3: a quarter of a second). For a function that keeps needing new
instances, the isolated sandbox keeps one instance that has initialised it and never
serves an event, its template, and starts each new instance as a copy of it (a fork)
instead: the handler is imported already, so is everything it imported, and the copy
gets its own namespaces, cgroups, /proc and /tmp (`template_fork.py` has the processes
and the security argument).

When: as soon as a function revision is deployed (`Templates.prepare`: created,
updated, or published as a version), and otherwise at a function's second cold start
within `WINDOW` seconds (a function called once an hour is not kept twice); either way
in the background. At most `MAX_TEMPLATES` are idle (kept with no copy alive) or being
made at once: the least recently used idle one makes room. A template whose copies are
alive does not count: its pages are theirs too, so ending it would free almost nothing
(and would end them with it: they live in its PID namespace). A call that needs a new
instance while its function's template is being made waits for it: the initialisation
under way ends no later than a fresh one would. A function whose initialisation is quick
(under `MIN_INIT_MS`: a trivial handler starts afresh as fast as a copy) keeps no
template. A template unused for `IDLE` seconds, with no copy alive, is ended; so is
one whose function has been deployed again, once its last copy has ended. A template
is per function revision (`InstanceSpec.key`): its environment, code, layers and
configuration are exactly those its copies would have had.

Lambda, too, may initialise an execution environment before any call reaches it
("proactive initialisation"), so code must not assume that initialisation means a
call is coming.

What differs from a fresh instance, as with Lambda's SnapStart: the copy's
initialisation ran once, earlier, in the template, so module state made then (a
timestamp, a random seed outside `random`, a unique id) is the same in every copy, and
the variables that name the instance (its log stream) had the template's values while
it ran. What the initialisation wrote is logged by every copy, as a fresh instance
would have logged its own. Initialisation that leaves threads, open sockets or files in
/tmp makes the template unfit, and the function's instances start as any other.

Only as root with a common root (`confine.CopiedRoot`) and seccomp: the template's
filter is what keeps it from the namespaces it may make.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import marshal
import os
import signal
import socket
import struct
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from stratus.sandbox.cgroups import CgroupTree, InstanceCgroup
from stratus.sandbox.logs import LogCollector
from stratus.sandbox.process import ProcessInstance
from stratus.sandbox.spares import Spare
from stratus.sandbox.types import InstanceSpec
from stratus.sandbox.zygote import PidfdChild, ZygoteError, ZygoteProcess

log = logging.getLogger(__name__)

#: Seconds within which a function's second cold start makes it a template.
WINDOW = 600.0
#: Seconds a template is kept unused (with no copy alive).
IDLE = 600.0
#: Templates idle (kept with no copy alive) or being made, at most.
MAX_TEMPLATES = 16
#: Functions whose instances initialise faster than this (ms) get no template: a copy
#: takes 7-10 ms here, a fresh instance of a trivial handler 4-6.
MIN_INIT_MS = 20.0
#: Seconds a copy's end waits for the template's word on its exit status.
_EXIT_WORD_WAIT = 1.0
_HEADER = struct.Struct("<II")
_MAX_FRAME = 1 << 20


class TemplateError(Exception):
    """A template could not be made, or could not copy itself."""


class CopyChild(PidfdChild):
    """A template's copy: PID 1 of its instance's PID namespace. Its end is seen on its
    pidfd; its exit status is the template's word (it reaps the copy)."""

    def __init__(
        self,
        host_pid: int,
        pidfd: int,
        cgroup: InstanceCgroup | None,
        forget: Callable[[], object],
    ) -> None:
        super().__init__(host_pid, pidfd, cgroup)
        self._forget = forget
        self._code: int | None = None  # as the template reported it
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(pidfd, self._ended)

    def peak_rss_kb(self) -> int | None:
        return None  # the runtime reports its own with every frame

    def reported(self, code: int) -> None:
        """The template reaped the copy: its runtime's exit code."""
        self._code = code
        self._conclude()

    def _ended(self) -> None:
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
        self._loop.call_later(_EXIT_WORD_WAIT, self._conclude)

    def _conclude(self) -> None:
        """Settle once: with the template's word, or as killed without it."""
        if self._exited.done():
            return
        if self._pidfd is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self._pidfd)
        self._forget()
        self._settle(self._code if self._code is not None else -signal.SIGKILL)


class Template:
    """The server's side of one template: its messages, and the copies it made."""

    def __init__(self, spec: InstanceSpec, zygote: ZygoteProcess, spare: Spare) -> None:
        self.spec = spec
        self.zygote = zygote
        self.spare = spare
        self.last_used = time.monotonic()
        self.copies: dict[int, CopyChild] = {}  # by pid in the template's namespace
        #: CPU time its set-up and the function's initialisation took, once ready.
        self.init_cpu_ms: float | None = None
        #: What the initialisation wrote, which every copy logs as its own (a fresh
        #: instance would have written it too).
        self.init_logs = b""
        #: Its function has been deployed again: it ends once no copy of it is alive.
        self.replaced = False
        self._loop = asyncio.get_running_loop()
        self._buffer = bytearray()
        self._fds: collections.deque[int] = collections.deque()
        self._started: asyncio.Future[None] = self._loop.create_future()
        self._forking: collections.deque[asyncio.Future[tuple[int, int]]] = collections.deque()
        self._closed = False
        #: Its output: the initialisation's is kept (`init_logs`), the rest dropped.
        self._drain = LogCollector(self._loop, spare.log_read, 1 << 16)
        spare.sock.setblocking(False)
        self._loop.add_reader(spare.sock, self._on_readable)
        spare.child.watch(lambda: self.close("the template ended"))

    @property
    def key(self) -> tuple[object, ...]:
        return self.spec.key()

    @property
    def alive(self) -> bool:
        return not self._closed and self._started.done() and not self._started.exception()

    async def started(self, timeout: float) -> None:
        """Wait until the template has initialised the function; TemplateError if it
        failed, or is unfit to be copied (the reason is in the message)."""
        try:
            await asyncio.wait_for(asyncio.shield(self._started), timeout)
        except TimeoutError as e:
            self.close("its initialisation timed out")
            raise TemplateError("its initialisation timed out") from e

    async def copy(
        self,
        spec: InstanceSpec,
        cgroups: CgroupTree | None,
        started: float,
        init_timeout: float,
        log_limit: int,
    ) -> ProcessInstance:
        """A new instance of the template's function, forked from it and adopted."""
        self.last_used = time.monotonic()
        instance_id = uuid.uuid4().hex
        cgroup = cgroups.instance(instance_id) if cgroups is not None else None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        log_read, log_write = os.pipe()
        child: CopyChild | None = None
        try:
            pid, pidfd = await self._fork(theirs.fileno(), log_write)
            child = CopyChild(_host_pid(pidfd), pidfd, cgroup, lambda: self.copies.pop(pid, None))
            self.copies[pid] = child
            request = {"pid": child.pid, "tmp_mb": spec.ephemeral_storage_mb}
            await self.zygote.adopt(request, pidfd)
            environment: Mapping[str, str] = {}
            if spec.instance_environment is not None:
                environment = spec.instance_environment(instance_id)
            meta = marshal.dumps({"env": dict(environment)})
            joins = _cgroup_joins(cgroup, spec.memory_mb) if cgroup is not None else []
            try:
                frame = _HEADER.pack(len(meta), 0) + meta
                sent = socket.send_fds(ours, [frame], joins) if joins else 0
                ours.sendall(frame[sent:])
            finally:
                for join in joins:
                    os.close(join)
        except BaseException as e:
            ours.close()
            os.close(log_read)
            if child is not None:
                child.kill_group()
            elif cgroup is not None:
                cgroup.remove()
            if isinstance(e, (OSError, ZygoteError)):
                raise TemplateError(str(e)) from e
            raise
        finally:
            theirs.close()
            os.close(log_write)
        logs = LogCollector(self._loop, log_read, log_limit)
        instance = ProcessInstance(instance_id, spec, child, logs)
        try:
            await instance.start(ours, started, init_timeout)
        except BaseException:
            await instance.close()
            ours.close()
            raise
        instance.init_logs = self.init_logs + instance.init_logs
        return instance

    async def _fork(self, control: int, log_write: int) -> tuple[int, int]:
        """Ask the template for a copy: its pid in the template's PID namespace, and a
        pidfd of it (the template's: it can only name the template's own children)."""
        if not self.alive:
            raise TemplateError("the template has ended")
        meta = json.dumps({"t": "fork"}).encode()
        try:
            frame = _HEADER.pack(len(meta), 0) + meta
            socket.send_fds(self.spare.sock, [frame], [control, log_write])
        except OSError as e:
            raise TemplateError(f"cannot reach the template: {e}") from e
        future: asyncio.Future[tuple[int, int]] = self._loop.create_future()
        self._forking.append(future)
        return await future

    # --- its messages ------------------------------------------------------------------

    def _on_readable(self) -> None:
        try:
            data, fds, _, _ = socket.recv_fds(self.spare.sock, 65536, 4)
        except BlockingIOError:
            return
        except OSError:
            data, fds = b"", []
        self._fds.extend(fds)
        if not data:
            self.close("the template closed its control socket")
            return
        self._buffer += data
        while len(self._buffer) >= _HEADER.size:
            meta_len, body_len = _HEADER.unpack_from(self._buffer)
            end = _HEADER.size + meta_len + body_len
            if meta_len + body_len > _MAX_FRAME:
                self.close("the template sent a frame too large")
                return
            if len(self._buffer) < end:
                return
            meta = bytes(self._buffer[_HEADER.size : _HEADER.size + meta_len])
            body = bytes(self._buffer[_HEADER.size + meta_len : end])
            del self._buffer[:end]
            try:
                message = json.loads(meta)
            except ValueError:
                self.close("the template sent a frame that is not JSON")
                return
            self._dispatch(message if isinstance(message, dict) else {}, body)

    def _dispatch(self, message: dict[str, Any], body: bytes) -> None:
        kind = message.get("t")
        if not self._started.done():
            if kind == "ready":
                cpu_ms = message.get("cpu_ms")
                if isinstance(cpu_ms, (int, float)):
                    self.init_cpu_ms = float(cpu_ms)
                self._drain.drain()
                self.init_logs = self._drain.take()
                self._started.set_result(None)
            elif kind == "unfit":
                self.close(str(message.get("reason")))
            elif kind == "init_error":
                self.close(f"its initialisation failed ({message.get('type')})")
            else:
                self.close(f"unexpected message {kind!r}")
        elif kind in ("forked", "failed") and self._forking:
            future = self._forking.popleft()
            if kind == "forked" and self._fds and isinstance(message.get("pid"), int):
                future.set_result((message["pid"], self._fds.popleft()))
            else:
                future.set_exception(TemplateError(str(message.get("error", "no copy"))))
        elif kind == "exit" and isinstance(message.get("pid"), int):
            copy = self.copies.get(message["pid"])
            if copy is not None and isinstance(message.get("code"), int):
                copy.reported(message["code"])
        else:
            self.close(f"unexpected message {kind!r}")

    def close(self, reason: str = "ended") -> None:
        """End the template, and so every copy of it (they live in its PID namespace)."""
        if self._closed:
            return
        self._closed = True
        log.info("function template ended: %s", reason)
        error = TemplateError(reason)
        if not self._started.done():
            self._started.set_exception(error)
            self._started.exception()  # (retrieved: a failed start is no error to log)
        while self._forking:
            future = self._forking.popleft()
            if not future.done():
                future.set_exception(error)
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self.spare.sock)
        while self._fds:
            os.close(self._fds.popleft())
        for copy in list(self.copies.values()):
            copy.kill_group()
        self.spare.child.kill_group()
        self.spare.sock.close()
        self._drain.close()


def _cgroup_joins(cgroup: InstanceCgroup, memory_mb: int) -> list[int]:
    """Make a copy's groups with their limits; the files it joins them by, open."""
    cgroup.create(memory_mb)
    joins: list[int] = []
    try:
        for group in cgroup.plan:
            joins.append(os.open(f"{group['directory']}/{group['join']}", os.O_WRONLY))
    except OSError:
        for join in joins:
            os.close(join)
        raise
    return joins


def _host_pid(pidfd: int) -> int:
    """The pid, in the server's PID namespace, of the process behind `pidfd`."""
    with open(f"/proc/self/fdinfo/{pidfd}") as info:
        for line in info:
            if line.startswith("Pid:"):
                pid = int(line.split()[1])
                if pid > 0:
                    return pid
    raise OSError(f"the copy behind pidfd {pidfd} has ended")


class Templates:
    """The templates kept, and the count of cold starts that decides which to make."""

    def __init__(self, build: Callable[[InstanceSpec], Awaitable[Template]]) -> None:
        self._build_template = build
        self._kept: dict[tuple[object, ...], Template] = {}
        self._building: dict[tuple[object, ...], asyncio.Task[None]] = {}
        #: Last cold start per function revision, and when revisions were found unfit.
        self._cold: dict[tuple[object, ...], float] = {}
        self._unfit: dict[tuple[object, ...], float] = {}
        self._timer: asyncio.TimerHandle | None = None

    def ready(self, key: tuple[object, ...]) -> Template | None:
        """The live template of `key`, if one is ready."""
        template = self._kept.get(key)
        if template is not None and not template.alive:
            del self._kept[key]
            return None
        return template

    async def built(self, key: tuple[object, ...]) -> Template | None:
        """The live template of `key`, once the one being made (if any) is ready; None
        if there is none, or the one being made failed."""
        task = self._building.get(key)
        if task is not None:
            await asyncio.shield(task)  # (it logs its own failures)
        return self.ready(key)

    def prepare(self, spec: InstanceSpec, replaces: Callable[[InstanceSpec], bool]) -> None:
        """`spec`'s function revision has been deployed: make its template now, in the
        background, and end the templates it replaces (`replaces` says which) once no
        copy of them is alive."""
        key = spec.key()
        for other, template in self._kept.items():
            if other != key and replaces(template.spec):
                template.replaced = True
        self._retire(time.monotonic())
        self._build(key, spec, deployed=True)

    def cold_started(self, spec: InstanceSpec, init_ms: float) -> None:
        """Count a fresh start of `spec`'s function that took `init_ms`: the second
        within `WINDOW` seconds makes its template, in the background, if initialising
        takes longer than a copy does (`MIN_INIT_MS`)."""
        key, now = spec.key(), time.monotonic()
        self._retire(now)
        if init_ms < MIN_INIT_MS:
            return
        last, self._cold[key] = self._cold.get(key), now
        if last is not None and now - last <= WINDOW:
            self._build(key, spec, deployed=False)

    def _build(self, key: tuple[object, ...], spec: InstanceSpec, *, deployed: bool) -> None:
        if key in self._kept or key in self._building or key in self._unfit:
            return
        if len(self._idle()) + len(self._building) >= MAX_TEMPLATES and not self._make_room():
            log.info(
                "no template for %s: %d are being made or kept unused",
                spec.handler,
                MAX_TEMPLATES,
            )
            return
        task = asyncio.get_running_loop().create_task(self._make(key, spec, deployed))
        self._building[key] = task

    async def _make(self, key: tuple[object, ...], spec: InstanceSpec, deployed: bool) -> None:
        try:
            template = await self._build_template(spec)
            quick = template.init_cpu_ms is not None and template.init_cpu_ms < MIN_INIT_MS
            if deployed and quick:
                template.close("its function initialises as fast as a copy starts")
            else:
                self._kept[key] = template
        except (TemplateError, ZygoteError) as e:
            log.info("no template for %s: %s", spec.handler, e)
            self._unfit[key] = time.monotonic()
        except Exception:
            log.exception("making a function template failed")
            self._unfit[key] = time.monotonic()
        finally:
            del self._building[key]
        if self._timer is None and self._kept:
            self._timer = asyncio.get_running_loop().call_later(IDLE / 10, self._tick)

    def _idle(self) -> list[Template]:
        """The templates kept with no copy alive."""
        return [template for template in self._kept.values() if not template.copies]

    def _make_room(self) -> bool:
        """End the least recently used template that has no copy alive, if any."""
        idle = self._idle()
        if not idle:
            return False
        self.drop(min(idle, key=lambda template: template.last_used), "room for another")
        return True

    def _tick(self) -> None:
        self._timer = None
        self._retire(time.monotonic())
        if self._kept:
            self._timer = asyncio.get_running_loop().call_later(IDLE / 10, self._tick)

    def drop(self, template: Template, reason: str) -> None:
        if self._kept.get(template.key) is template:
            del self._kept[template.key]
        template.close(reason)

    def _retire(self, now: float) -> None:
        """End templates with no copy alive that were replaced, unused for `IDLE` seconds,
        or past `MAX_TEMPLATES`; forget old counts."""
        for key, template in list(self._kept.items()):
            if not template.alive:
                del self._kept[key]
            elif template.copies:
                continue
            elif template.replaced:
                self.drop(template, "its function was deployed again")
            elif now - template.last_used > IDLE:
                self.drop(template, "unused")
        # Templates whose last copies ended count again: past the cap, the least
        # recently used go.
        idle = sorted(self._idle(), key=lambda template: template.last_used)
        for template in idle[: max(0, len(idle) + len(self._building) - MAX_TEMPLATES)]:
            self.drop(template, "room for another")
        for counts in (self._cold, self._unfit):
            for key, when in list(counts.items()):
                if now - when > WINDOW:
                    del counts[key]

    def waiting(self) -> list[Template]:
        """Every template kept."""
        return list(self._kept.values())

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in self._building.values():
            task.cancel()
        for template in list(self._kept.values()):
            template.close("the sandbox closed")
        self._kept.clear()
