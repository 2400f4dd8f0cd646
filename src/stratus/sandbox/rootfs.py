"""What an isolated instance sees as its file system.

Every instance's root starts as a read-only bind of one skeleton directory that the
server writes at start-up: empty mount points, the symlinks a merged-/usr system needs,
a small /etc, and the runtime bootstrap at /var/runtime. Into it go, read-only:

- /usr (and /bin, /lib... where they are real directories), for the system libraries
  and tools the interpreter and native packages load;
- the runtime interpreter's own prefix at its own path (a pyenv version, say), so
  ``sys.prefix`` stays true without rewriting anything;
- the function's code at /var/task and its layers at /opt, as on Lambda;
- the runtime's SDK (boto3 and its dependencies, `runtimes/sdk.py`) at its own path
  (or at /var/runtime/sdk when that path is one instances have their own of, like /tmp);
- /dev/null, zero, full, random and urandom from the host;

plus a private tmpfs at /tmp (the function's ``EphemeralStorage``) and a /proc of the
instance's own PID namespace. Nothing else of the host exists inside: not /root or
/home, not the Stratus data directory, database, credentials or other functions' code,
not /sys. (/var/lib/private is a directory only the host's root may enter: a function's
template keeps its /proc there, see `confine.hide_proc`.)

/etc is an allow list, copied once (never bound, so nothing next to the files shows):
name resolution (resolv.conf, hosts, nsswitch.conf...), TLS roots (ssl/certs), the
dynamic linker cache, time zone and MIME data; passwd and group are written here and
list only root, Lambda's sbx_user1051 (uid 993) and nobody. No shadow, no sudoers, no
SSH or TLS private keys.

Source paths of bind mounts remain readable in /proc/self/mountinfo (as with any
container runtime); their contents do not.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stratus.runtimes.sdk import RuntimeSdk
from stratus.sandbox import confine

#: Lambda's user inside an instance (sbx_user1051) and its group.
SANDBOX_UID = 993
SANDBOX_GID = 990
DEVICES = ("null", "zero", "full", "random", "urandom")
#: Host directories a merged-/usr system makes symlinks to usr/; bound where they are not.
_TOP_DIRECTORIES = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")

_PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    f"sbx_user1051:x:{SANDBOX_UID}:{SANDBOX_GID}::/home/sbx_user1051:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
)
_GROUP = f"root:x:0:\nsbx_user1051:x:{SANDBOX_GID}:\nnogroup:x:65534:\n"
_HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
#: Host /etc entries copied into every instance's /etc (when the host has them).
ETC_ALLOWED = (
    "resolv.conf",
    "hosts",
    "nsswitch.conf",
    "host.conf",
    "gai.conf",
    "services",
    "protocols",
    "networks",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "mime.types",
    "os-release",
    "debian_version",
    "alternatives",
    "ssl/certs",
    "ssl/openssl.cnf",
    "pki/tls/certs",
    "pki/tls/openssl.cnf",
    "pki/ca-trust/extracted",
    "ca-certificates",
)


#: Where instances see the runtime's SDK when its own path will not do (`sdk_inside`).
SDK_ROOT = "/var/runtime/sdk"
#: Paths an instance has its own of, or that are out of its reach.
_INSTANCE_OWN = ("/tmp", "/proc", "/dev", "/var/task", "/opt", "/var/runtime", "/var/lib/private")

#: Where a function's template keeps its /proc (`confine.hide_proc`), from the root.
HIDDEN_PROC = confine.HIDDEN_PROC.lstrip("/")


@dataclass(frozen=True)
class Mount:
    """One bind mount into an instance's root; `target` is relative to the root."""

    source: str
    target: str
    readonly: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "readonly": self.readonly}


class RootFs:
    """The skeleton directory and the mounts every instance's root gets."""

    def __init__(self, directory: Path, mounts: list[Mount]) -> None:
        self.directory = directory
        self.mounts = mounts

    @property
    def bootstrap(self) -> Path:
        """The runtime bootstrap as instances load it (host path of /var/runtime/bootstrap.py)."""
        return self.directory / "var" / "runtime" / "bootstrap.py"

    @classmethod
    def build(
        cls,
        directory: Path,
        bootstrap_source: Path,
        host_root: Path = Path("/"),
        extra: Iterable[Mount] = (),
    ) -> RootFs:
        """Write the skeleton into `directory` (replacing what is there), with mount points
        for the `extra` mounts too."""
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        os.chmod(directory, 0o755)
        mounts = [Mount(str(host_root / "usr"), "usr")]
        directories = ("usr", "etc", "var/task", "var/runtime", "opt", "tmp", "proc", "dev")
        for name in (*directories, HIDDEN_PROC):
            (directory / name).mkdir(parents=True, exist_ok=True)
        for name in _TOP_DIRECTORIES:
            host = host_root / name
            if host.is_symlink():
                os.symlink(os.readlink(host), directory / name)
            elif host.is_dir():
                (directory / name).mkdir()
                mounts.append(Mount(str(host), name))
        for device in DEVICES:
            (directory / "dev" / device).touch()
            mounts.append(Mount(str(host_root / "dev" / device), f"dev/{device}", readonly=False))
        for name, target in (
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ):
            os.symlink(target, directory / "dev" / name)
        for mount in extra:
            (directory / mount.target).mkdir(parents=True, exist_ok=True)
            mounts.append(mount)
        _write_etc(directory / "etc", host_root / "etc")
        shutil.copyfile(bootstrap_source, directory / "var" / "runtime" / "bootstrap.py")
        for path in directory.rglob("*"):
            if not path.is_symlink():
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod((directory / HIDDEN_PROC).parent, 0o700)
        return cls(directory, mounts)


def sdk_inside(sdk: RuntimeSdk) -> str:
    """Where instances see the runtime's SDK: at its own path, so that what a zygote
    imported from it on the host keeps true paths, unless that path lies where an
    instance has its own files (a cache in /tmp, say)."""
    path = str(sdk.directory)
    if any(path == place or path.startswith(place + "/") for place in _INSTANCE_OWN):
        return SDK_ROOT
    return path


def _write_etc(etc: Path, host_etc: Path) -> None:
    for name in ETC_ALLOWED:
        source = host_etc / name
        destination = etc / name
        if not (source.exists() or source.is_symlink()):
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            if source.is_symlink() and not source.is_dir():
                target = os.readlink(source)
                # A link into /usr resolves inside too; any other (resolv.conf into /run,
                # a relative one into /etc) is copied as the file it points at.
                if target.startswith("/usr/"):
                    os.symlink(target, destination)
                else:
                    shutil.copyfile(source, destination)
            elif source.is_dir():
                shutil.copytree(source, destination, symlinks=True)
            else:
                shutil.copyfile(source, destination)
        except OSError:
            continue  # unreadable on this host: the instance does without it
    (etc / "passwd").write_text(_PASSWD)
    (etc / "group").write_text(_GROUP)
    (etc / "hostname").write_text("localhost\n")
    if not (etc / "hosts").exists():
        (etc / "hosts").write_text(_HOSTS)
