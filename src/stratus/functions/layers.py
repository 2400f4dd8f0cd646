"""Lambda layers: versioned zips that a function's instances see merged under /opt.

A layer version is immutable: a record (JSON in `layer_versions`) pointing at a zip in
the content-addressed code store. Version numbers count up per layer name and are never
reused, even after every version is deleted, as on Lambda. Deleting a version keeps its
zip: functions that already reference it go on working (Lambda's behaviour too), only
new references to it fail.

A function sees its layers merged into one directory, extracted in the order of its
`Layers` parameter so that a later layer's file replaces an earlier one's (how Lambda
fills /opt). The merged tree is named by the ordered list of digests, so functions with
the same layers share one tree, built once.

A version may have a resource policy (AddLayerVersionPermission: `LayerPolicies` in
functions/layer_policy.py, which shares the function policies' statements). Deleting a version
deletes its policy in the same transaction.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import shutil
import stat
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy import Connection, Engine, delete, insert, select, update

from stratus.errors import (
    InvalidParameterValueException,
    NotImplementedException,
    ResourceNotFoundException,
)
from stratus.functions.code import MAX_UNZIPPED_BYTES, CodeStore, build_once, safe_member_path
from stratus.functions.paging import decode_marker, encode_marker
from stratus.functions.stamps import lambda_timestamp
from stratus.store.layer_schema import layer_version_policies, layer_versions, layers

#: Lambda's limit on the `Layers` of one function.
MAX_LAYERS_PER_FUNCTION = 5
DEFAULT_PAGE_SIZE = 50

_NOT_FOUND = "The resource you requested does not exist."

# arn:aws:lambda:<region>:<account>:layer:<name>[:<version>]
_LAYER_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"layer:(?P<name>[a-zA-Z0-9_-]+)(?::(?P<version>[0-9]+))?$"
)


@dataclass(frozen=True)
class LayerVersion:
    """One published version of a layer: its zip and what the publisher said about it."""

    name: str
    version: int
    #: arn:aws:lambda:<region>:<account>:layer:<name>
    layer_arn: str
    code_sha256_hex: str
    code_size: int
    unzipped_size: int
    description: str = ""
    #: None when the publisher gave none (Lambda then omits the member; [] stays []).
    compatible_runtimes: tuple[str, ...] | None = None
    compatible_architectures: tuple[str, ...] | None = None
    license_info: str | None = None
    created_date: str = field(default_factory=lambda: lambda_timestamp())

    @property
    def version_arn(self) -> str:
        return f"{self.layer_arn}:{self.version}"

    @property
    def code_sha256(self) -> str:
        """Base64 of the SHA-256 of the zip, as Lambda reports `CodeSha256`."""
        return base64.b64encode(bytes.fromhex(self.code_sha256_hex)).decode()

    def matches(self, runtime: str | None, architecture: str | None) -> bool:
        """Whether this version declares the runtime and architecture a list filters on."""
        if runtime is not None and runtime not in (self.compatible_runtimes or ()):
            return False
        return architecture is None or architecture in (self.compatible_architectures or ())

    def function_layer(self) -> dict[str, object]:
        """The `Layers` item of a FunctionConfiguration that uses this version."""
        return {"Arn": self.version_arn, "CodeSize": self.code_size}

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        for key in ("compatible_runtimes", "compatible_architectures"):
            if data[key] is not None:
                data[key] = list(data[key])
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LayerVersion:
        data = json.loads(text)
        for key in ("compatible_runtimes", "compatible_architectures"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def check_total_size(function_unzipped_size: int, layers: Sequence[LayerVersion]) -> None:
    """Raise Lambda's error when a function's code and its layers exceed 250 MB unzipped."""
    total = function_unzipped_size + sum(layer.unzipped_size for layer in layers)
    if total > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueException(
            "Function code combined with layers exceeds the maximum allowed size of "
            f"{MAX_UNZIPPED_BYTES} bytes. The actual size is {total} bytes."
        )


def unzipped_size(code: CodeStore, sha256_hex: str) -> int:
    """The unzipped size a stored zip declares (for code stored before it was recorded)."""
    with zipfile.ZipFile(code.zip_path(sha256_hex)) as archive:
        return sum(info.file_size for info in archive.infolist())


class LayerService:
    """Layer versions: publish, read, list, delete; and resolving a function's `Layers`."""

    def __init__(
        self,
        engine: Engine,
        code: CodeStore,
        region: str,
        account_id: str,
        merged_dir: Path | None = None,
    ) -> None:
        self.engine = engine
        self.code = code
        self.region = region
        self.account_id = account_id
        #: Where merged layer trees live, one directory per ordered list of digests.
        self.merged_dir = merged_dir or code.code_dir.parent / "opt"
        #: Serialises writes that read first (version numbering here, a version's policy
        #: in `LayerPolicies`): SQLite would fail (not wait) on two deferred transactions
        #: that both read a row and then write it.
        self.lock = threading.Lock()

    def layer_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:layer:{name}"

    # --- writes ----------------------------------------------------------------------

    def publish(
        self,
        name: str,
        zip_bytes: bytes,
        description: str = "",
        compatible_runtimes: Sequence[str] | None = None,
        compatible_architectures: Sequence[str] | None = None,
        license_info: str | None = None,
    ) -> LayerVersion:
        """Store the zip and record it as the layer's next version (1, 2, ...)."""
        own = self._own_name(name)
        if own is None:
            raise InvalidParameterValueException(
                f"Layers can only be published in region {self.region} of account "
                f"{self.account_id}."
            )
        name = own
        package = self.code.put(zip_bytes)
        with self.lock, self.engine.begin() as conn:
            row = conn.execute(select(layers.c.last_version).where(layers.c.name == name)).first()
            if row is None:
                version = 1
                now = int(time.time() * 1000)
                conn.execute(insert(layers).values(name=name, created_at=now, last_version=1))
            else:
                version = row.last_version + 1
                conn.execute(
                    update(layers).where(layers.c.name == name).values(last_version=version)
                )
            record = LayerVersion(
                name=name,
                version=version,
                layer_arn=self.layer_arn(name),
                code_sha256_hex=package.sha256_hex,
                code_size=package.size,
                unzipped_size=package.unzipped_size,
                description=description,
                compatible_runtimes=_tuple_or_none(compatible_runtimes),
                compatible_architectures=_tuple_or_none(compatible_architectures),
                license_info=license_info,
            )
            conn.execute(
                insert(layer_versions).values(
                    layer_name=name, version=version, record=record.to_json()
                )
            )
        return record

    def delete(self, name: str, version: int) -> None:
        """Delete a version. Deleting one that does not exist is not an error (Lambda's
        DeleteLayerVersion answers 204 either way). The zip stays for current users."""
        _check_version_number(version)
        own = self._own_name(name)
        if own is None:
            return
        with self.lock, self.engine.begin() as conn:
            for table in (layer_versions, layer_version_policies):
                conn.execute(
                    delete(table).where(table.c.layer_name == own).where(table.c.version == version)
                )

    # --- reads -----------------------------------------------------------------------

    def get(self, name: str, version: int) -> LayerVersion:
        """A version by layer name (or layer ARN) and number."""
        found = self.find(name, version)
        if found is None:
            raise ResourceNotFoundException(_NOT_FOUND)
        return found

    def find(self, name: str, version: int, conn: Connection | None = None) -> LayerVersion | None:
        """A version by layer name (or layer ARN) and number, if it exists; read in the
        transaction of `conn` when one is given."""
        _check_version_number(version)
        own = self._own_name(name)
        if own is None:
            return None
        if conn is not None:
            return _find_version(conn, own, version)
        return self._find(own, version)

    def get_by_arn(self, arn: str) -> LayerVersion:
        """A version by its LayerVersionArn."""
        match = _LAYER_ARN.match(arn)
        if match is None or match["version"] is None or not self._is_ours(match):
            raise ResourceNotFoundException(_NOT_FOUND)
        return self.get(match["name"], int(match["version"]))

    def total_code_size(self) -> int:
        """Bytes of every layer version's archive (GetAccountSettings counts them)."""
        with self.engine.connect() as conn:
            records = conn.execute(select(layer_versions.c.record)).scalars().all()
        return sum(LayerVersion.from_json(record).code_size for record in records)

    def list_versions(
        self,
        name: str,
        compatible_runtime: str | None = None,
        compatible_architecture: str | None = None,
        marker: str | None = None,
        max_items: int = DEFAULT_PAGE_SIZE,
    ) -> tuple[list[LayerVersion], str | None]:
        """One page of a layer's versions, newest first, and the next page's marker.

        A layer that does not exist has no versions (Lambda answers an empty list)."""
        own = self._own_name(name)
        if own is None:
            return [], None
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(layer_versions.c.record)
                .where(layer_versions.c.layer_name == own)
                .order_by(layer_versions.c.version.desc())
            ).all()
        found = [LayerVersion.from_json(row.record) for row in rows]
        found = [lv for lv in found if lv.matches(compatible_runtime, compatible_architecture)]
        if marker:
            after = decode_marker(marker)
            if not after.isdigit():
                raise InvalidParameterValueException(f"Invalid marker: {marker}")
            found = [lv for lv in found if lv.version < int(after)]
        page = found[:max_items]
        more = len(found) > max_items
        return page, encode_marker(str(page[-1].version)) if more else None

    def list_layers(
        self,
        compatible_runtime: str | None = None,
        compatible_architecture: str | None = None,
        marker: str | None = None,
        max_items: int = DEFAULT_PAGE_SIZE,
    ) -> tuple[list[LayerVersion], str | None]:
        """One page of layers by name, each as its newest version matching the filters
        (ListLayers' `LatestMatchingVersion`), and the next page's marker."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(layer_versions.c.layer_name, layer_versions.c.record).order_by(
                    layer_versions.c.layer_name, layer_versions.c.version.desc()
                )
            ).all()
        latest: dict[str, LayerVersion] = {}
        for row in rows:
            if row.layer_name in latest:
                continue
            candidate = LayerVersion.from_json(row.record)
            if candidate.matches(compatible_runtime, compatible_architecture):
                latest[row.layer_name] = candidate
        names = sorted(latest)
        if marker:
            after = decode_marker(marker)
            names = [n for n in names if n > after]
        page = names[:max_items]
        more = len(names) > max_items
        return [latest[n] for n in page], encode_marker(page[-1]) if more else None

    # --- a function's layers ---------------------------------------------------------

    def resolve(self, layer_version_arns: Sequence[str]) -> list[LayerVersion]:
        """The versions a function's `Layers` parameter names, in order, checked as
        CreateFunction/UpdateFunctionConfiguration check them."""
        if len(layer_version_arns) > MAX_LAYERS_PER_FUNCTION:
            raise InvalidParameterValueException(
                f"Cannot reference more than {MAX_LAYERS_PER_FUNCTION} layers."
            )
        resolved: list[LayerVersion] = []
        seen: dict[str, str] = {}
        for arn in layer_version_arns:
            match = _LAYER_ARN.match(arn)
            if match is None or match["version"] is None:
                raise InvalidParameterValueException(f"Layer version {arn} does not exist.")
            if match["region"] != self.region:
                raise InvalidParameterValueException(
                    "Layers are not in the same region as the function. Layers are expected "
                    f"to be in region {self.region}."
                )
            if match["account"] != self.account_id:
                # Lambda would fetch another account's layer if its policy allows; Stratus
                # has one account and cannot fetch from AWS, so it says so plainly.
                raise NotImplementedException(
                    f"Stratus does not support layers of other accounts ({arn}) yet."
                )
            found = self._find(match["name"], int(match["version"]))
            if found is None:
                raise InvalidParameterValueException(f"Layer version {arn} does not exist.")
            first = seen.get(found.name)
            if first is not None:
                raise InvalidParameterValueException(
                    "Two different versions of the same layer are not allowed to be "
                    f"referenced in the same function. {first} and {arn} are versions of "
                    "the same layer."
                )
            seen[found.name] = arn
            resolved.append(found)
        return resolved

    def merged_directory(self, layers: Sequence[LayerVersion]) -> Path:
        """The layers extracted in order into one directory (later files win), built
        once per ordered list of digests into a temporary directory renamed into place,
        so a crash never leaves a half-merged tree under the final name."""
        digests = [layer.code_sha256_hex for layer in layers]

        def merge(root: Path) -> None:
            budget = MAX_UNZIPPED_BYTES
            for digest in digests:
                with zipfile.ZipFile(self.code.zip_path(digest)) as archive:
                    for info in archive.infolist():
                        budget = _extract_over(archive, info, root, budget)

        key = hashlib.sha256("\n".join(digests).encode()).hexdigest()
        return build_once(self.merged_dir / key, merge)

    # --- internals -------------------------------------------------------------------

    def _find(self, name: str, version: int) -> LayerVersion | None:
        with self.engine.connect() as conn:
            return _find_version(conn, name, version)

    def _is_ours(self, match: re.Match[str]) -> bool:
        return match["region"] == self.region and match["account"] == self.account_id

    def _own_name(self, name_or_arn: str) -> str | None:
        """The layer name a `LayerName` parameter gives (a name or a layer ARN), or None
        for an ARN of another region or account, where Stratus has no layers."""
        if not name_or_arn.startswith("arn:"):
            return name_or_arn
        match = _LAYER_ARN.match(name_or_arn)
        if match is None or match["version"] is not None or not self._is_ours(match):
            return None
        return match["name"]


def _check_version_number(version: int) -> None:
    if version < 1:
        raise InvalidParameterValueException("Layer Version Cannot be less than 1")


def _find_version(conn: Connection, name: str, version: int) -> LayerVersion | None:
    row = conn.execute(
        select(layer_versions.c.record)
        .where(layer_versions.c.layer_name == name)
        .where(layer_versions.c.version == version)
    ).first()
    return LayerVersion.from_json(row.record) if row is not None else None


def _tuple_or_none(values: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values is not None else None


def _extract_over(archive: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path, budget: int) -> int:
    """Extract one member, replacing whatever an earlier layer left at its path, without
    trusting its declared size; return the bytes of the budget that are left."""
    relative = safe_member_path(info.filename)
    if not relative.parts:
        return budget
    _clear_parents(root, relative)
    dest = root.joinpath(*relative.parts)
    if info.is_dir():
        if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
            dest.unlink()
        dest.mkdir(parents=True, exist_ok=True)
        return budget
    if dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)
    elif dest.exists() or dest.is_symlink():
        # Earlier files are read-only (0444): replace them, never write through them.
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as src, open(dest, "xb") as out:
        while chunk := src.read(1 << 20):
            budget -= len(chunk)
            if budget < 0:
                raise InvalidParameterValueException(
                    f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
                )
            out.write(chunk)
    mode = (info.external_attr >> 16) & 0o777
    os.chmod(dest, 0o555 if mode & stat.S_IXUSR else 0o444)
    return budget


def _clear_parents(root: Path, relative: PurePosixPath) -> None:
    """Remove files an earlier layer left where this member needs a directory."""
    current = root
    for part in relative.parts[:-1]:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
