"""The Lambda control plane: create, read, update and delete functions.

Functions live in the metadata store; `$LATEST` of every function is also held in memory
so the invoke path never touches the database. Writes go to the store first, then to
the cache, then to listeners (the invoke service retires old instances).

State follows Lambda: a new function is `Pending` until its code is unpacked and its
runtime checked, then `Active` (or `Failed`); an update is `InProgress` until the same
preparation finishes, then `Successful`. Preparation runs in a worker thread, so the
create call returns at once, as Lambda's does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType

from sqlalchemy import Engine, delete, insert, select, update

from stratus.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from stratus.functions.code import CodeStore, check_zip
from stratus.functions.configuration import ConfigChange, _check_config
from stratus.functions.layers import check_total_size, unzipped_size
from stratus.functions.lifecycle import _in_progress, _settled
from stratus.functions.model import (
    LATEST,
    FunctionVersion,
    Home,
    function_arn,
    lambda_timestamp,
    new_revision_id,
)
from stratus.functions.paging import decode_marker, encode_marker, listing_order
from stratus.functions.validation import check_runtime
from stratus.store.schema import function_versions, functions

log = logging.getLogger(__name__)

Listener = Callable[[str], None]
#: Called with (function name, qualifier) once a version or an alias is deleted.
QualifierListener = Callable[[str, str], None]
#: Called with a version that has just become ready to run: `$LATEST` once created or
#: updated (Active, or Successful), or a newly published version.
DeployListener = Callable[[FunctionVersion], None]
DeleteGuard = Callable[[str, str], None]


class FunctionService:
    """Functions: their configuration, their code, their state."""

    def __init__(self, engine: Engine, code: CodeStore, region: str, account_id: str) -> None:
        self.engine = engine
        self.code = code
        self.region = region
        self.account_id = account_id
        #: The region and account function ARNs must name to name a function here.
        self.home = Home(region, account_id)
        self._latest: dict[str, FunctionVersion] = {}
        #: Published versions by function, then by number ("1", "2", ...), in order.
        self._versions: dict[str, dict[str, FunctionVersion]] = {}
        self._last_version: dict[str, int] = {}
        #: Reserved concurrency of the functions that have one. Replaced, never changed
        #: in place: the invoke path reads it on the event loop while a control-plane
        #: thread may be setting one.
        self._reserved: dict[str, int] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._delete_guards: list[DeleteGuard] = []
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._qualifier_listeners: list[QualifierListener] = []
        self._deploy_listeners: list[DeployListener] = []
        self._preparer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="prepare")
        self._load()

    # --- life cycle ------------------------------------------------------------------

    def _load(self) -> None:
        with self.engine.connect() as conn:
            for row in conn.execute(select(functions)):
                self._tags[row.name] = json.loads(row.tags)
                self._last_version[row.name] = row.last_version
                if row.reserved_concurrency is not None:
                    self._reserved[row.name] = row.reserved_concurrency
                self._versions[row.name] = {}
            for row in conn.execute(select(function_versions)):
                fn = FunctionVersion.from_json(row.config)
                if row.version == LATEST:
                    self._latest[row.function_name] = fn
                else:
                    self._versions[row.function_name][row.version] = fn
        for versions in self._versions.values():
            ordered = sorted(versions.items(), key=lambda item: int(item[0]))
            versions.clear()
            versions.update(ordered)
        # A crash may have interrupted preparation: finish it now.
        for fn in list(self._latest.values()):
            if fn.state == "Pending" or fn.last_update_status == "InProgress":
                self._schedule_prepare(fn)

    def close(self) -> None:
        self._preparer.shutdown(wait=True, cancel_futures=False)

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(name)` after a function is updated or deleted."""
        self._listeners.append(listener)

    def subscribe_deleted_qualifiers(self, listener: QualifierListener) -> None:
        """Call `listener(name, qualifier)` after a version or an alias is deleted: what
        belongs to it (its policy, provisioned concurrency, event invoke config) goes
        with it, and a version or alias made later under that name starts bare."""
        self._qualifier_listeners.append(listener)

    def subscribe_deployed(self, listener: DeployListener) -> None:
        """Call `listener(version)` as a version becomes ready to run, from the thread
        that makes it so: a new or updated `$LATEST` just before calls can see it ready,
        a published version just before PublishVersion answers. The invoke service
        starts getting its instances ready."""
        self._deploy_listeners.append(listener)

    def _deployed(self, fn: FunctionVersion) -> None:
        for listener in self._deploy_listeners:
            try:
                listener(fn)
            except Exception:
                log.exception("a listener failed on the deployment of %s", fn.name)

    def qualifier_deleted(self, name: str, qualifier: str) -> None:
        """Tell the listeners that version or alias `qualifier` of `name` is gone."""
        for listener in self._qualifier_listeners:
            try:
                listener(name, qualifier)
            except Exception:
                log.exception("a listener failed on the deletion of %s:%s", name, qualifier)

    def _notify(self, name: str) -> None:
        for listener in self._listeners:
            try:
                listener(name)
            except Exception:
                log.exception("function change listener failed for %s", name)

    # --- reads (no database) ---------------------------------------------------------

    def arn(self, name: str, qualifier: str | None = None) -> str:
        return function_arn(self.region, self.account_id, name, qualifier)

    def get(self, name: str, qualifier: str | None = None) -> FunctionVersion:
        """`$LATEST` or a published version, or ResourceNotFoundException.

        Aliases are not qualifiers here: `AliasService.resolve` maps them to versions."""
        fn = self._latest.get(name)
        if fn is not None and qualifier is not None and qualifier != LATEST:
            fn = self._versions[name].get(qualifier)
        if fn is None:
            raise ResourceNotFoundException(f"Function not found: {self.arn(name, qualifier)}")
        return fn

    def exists(self, name: str) -> bool:
        return name in self._latest

    def versions(self, name: str) -> list[FunctionVersion]:
        """`$LATEST`, then the published versions in order."""
        return [self.get(name), *self._versions[name].values()]

    def reserved_concurrency(self, name: str) -> int | None:
        self.get(name)
        return self._reserved.get(name)

    def all_reserved(self) -> Mapping[str, int]:
        """Every reservation, by function name: read on every invocation, so no copy."""
        return MappingProxyType(self._reserved)

    def add_delete_guard(self, guard: DeleteGuard) -> None:
        """`guard(name, version)` raises to refuse deleting a version (aliases use it)."""
        self._delete_guards.append(guard)

    def tags(self, name: str) -> dict[str, str]:
        self.get(name)
        return dict(self._tags.get(name, {}))

    def page(
        self, marker: str | None, max_items: int, all_versions: bool = False
    ) -> tuple[list[FunctionVersion], str | None]:
        """One page of functions by name (with their versions if asked), and the marker
        of the next page."""
        entries: list[FunctionVersion] = []
        for name in sorted(self._latest):
            entries.append(self._latest[name])
            if all_versions:
                entries.extend(self._versions[name].values())
        start = 0
        if marker:
            name, _, version = decode_marker(marker).rpartition(":")
            after = listing_order(name, version)
            start = next(
                (i for i, fn in enumerate(entries) if listing_order(fn.name, fn.version) > after),
                len(entries),
            )
        page = entries[start : start + max_items]
        more = start + max_items < len(entries)
        next_marker = encode_marker(f"{page[-1].name}:{page[-1].version}") if more else None
        return page, next_marker

    def count(self) -> int:
        return len(self._latest)

    # --- writes ----------------------------------------------------------------------

    def create(
        self, fn: FunctionVersion, zip_bytes: bytes, tags: Mapping[str, str]
    ) -> FunctionVersion:
        """Store a new function (state Pending) and start preparing it."""
        _check_config(fn)
        with self._lock:
            if fn.name in self._latest:
                raise ResourceConflictException(f"Function already exist: {fn.name}")
            package = self.code.put(zip_bytes)
            check_total_size(package.unzipped_size, fn.layers)
            fn = fn.replace(
                code_sha256_hex=package.sha256_hex,
                code_size=package.size,
                code_unzipped_size=package.unzipped_size,
            )
            now = int(time.time() * 1000)
            with self.engine.begin() as conn:
                conn.execute(
                    insert(functions).values(
                        name=fn.name, created_at=now, tags=json.dumps(dict(tags))
                    )
                )
                conn.execute(
                    insert(function_versions).values(
                        function_name=fn.name, version=LATEST, config=fn.to_json()
                    )
                )
            self._latest[fn.name] = fn
            self._versions[fn.name] = {}
            self._last_version[fn.name] = 0
            self._tags[fn.name] = dict(tags)
        self._schedule_prepare(fn)
        return fn

    def publish(
        self,
        name: str,
        code_sha256: str | None,
        description: str | None,
        revision_id: str | None,
    ) -> FunctionVersion:
        """Publish `$LATEST` as the next version, or return the last one if unchanged."""
        with self._lock:
            latest = self._writable(name, revision_id)
            if code_sha256 is not None and code_sha256 != latest.code_sha256:
                raise InvalidParameterValueException(
                    f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in "
                    f"$LATEST ({latest.code_sha256}). Please try again with the CodeSHA256 "
                    "in $LATEST."
                )
            published = list(self._versions[name].values())
            if published and published[-1].published_from == latest.revision_id:
                return published[-1]
            number = self._last_version[name] + 1
            # Publishing renews $LATEST's RevisionId too, as on Lambda.
            renewed = latest.replace(revision_id=new_revision_id())
            version = latest.replace(
                version=str(number),
                description=latest.description if description is None else description,
                revision_id=new_revision_id(),
                last_modified=lambda_timestamp(),
                published_from=renewed.revision_id,
                state="Active",
                state_reason=None,
                state_reason_code=None,
            )
            with self.engine.begin() as conn:
                conn.execute(
                    insert(function_versions).values(
                        function_name=name, version=version.version, config=version.to_json()
                    )
                )
                conn.execute(
                    update(functions).where(functions.c.name == name).values(last_version=number)
                )
            self._versions[name][version.version] = version
            self._last_version[name] = number
            self._save(renewed)
        self._deployed(version)
        return version

    def renew_revision(self, name: str, qualifier: str | None) -> str:
        """Give `$LATEST` or a published version a new RevisionId, as a change to its
        resource policy does on Lambda; return it. Nothing it runs changes, so nobody is
        told and warm instances stay. The revision is also this service's token for "the
        current state" (a preparation under way, "unchanged since the last publish"):
        both are carried over to the new one."""
        with self._lock:
            fn = self.get(name, qualifier)
            renewed = fn.replace(revision_id=new_revision_id())
            self._save(renewed)
            if fn.version != LATEST:
                return renewed.revision_id
            published = list(self._versions[name].values())
            if published and published[-1].published_from == fn.revision_id:
                self._save(published[-1].replace(published_from=renewed.revision_id))
            if renewed.state == "Pending" or renewed.last_update_status == "InProgress":
                self._schedule_prepare(renewed)  # the one under way sees the change and stops
            return renewed.revision_id

    def set_reserved_concurrency(self, name: str, value: int | None) -> None:
        with self._lock:
            self.get(name)
            with self.engine.begin() as conn:
                conn.execute(
                    update(functions)
                    .where(functions.c.name == name)
                    .values(reserved_concurrency=value)
                )
            reserved = dict(self._reserved)
            if value is None:
                reserved.pop(name, None)
            else:
                reserved[name] = value
            self._reserved = reserved

    def update_code(
        self, name: str, zip_bytes: bytes, revision_id: str | None, dry_run: bool = False
    ) -> FunctionVersion:
        with self._lock:
            current = self._writable(name, revision_id)
            if dry_run:
                check_total_size(check_zip(zip_bytes), current.layers)
                return current
            package = self.code.put(zip_bytes)
            check_total_size(package.unzipped_size, current.layers)
            updated = current.replace(
                code_sha256_hex=package.sha256_hex,
                code_size=package.size,
                code_unzipped_size=package.unzipped_size,
                **_in_progress(),
            )
            self._save(updated)
        self._notify(name)
        self._schedule_prepare(updated)
        return updated

    def update_configuration(
        self, name: str, change: ConfigChange, revision_id: str | None
    ) -> FunctionVersion:
        with self._lock:
            current = self._writable(name, revision_id)
            changes = {k: v for k, v in change.__dict__.items() if v is not None}
            candidate = current.replace(**changes)
            _check_config(candidate)
            if change.layers is not None:
                check_total_size(self._unzipped_size(current), change.layers)
            updated = candidate.replace(**_in_progress())
            self._save(updated)
        self._notify(name)
        self._schedule_prepare(updated)
        return updated

    def set_tags(self, name: str, add: Mapping[str, str], remove: list[str]) -> None:
        with self._lock:
            self.get(name)
            tags = {k: v for k, v in self._tags.get(name, {}).items() if k not in remove}
            tags.update(add)
            with self.engine.begin() as conn:
                conn.execute(
                    update(functions).where(functions.c.name == name).values(tags=json.dumps(tags))
                )
            self._tags[name] = tags

    def delete(self, name: str, qualifier: str | None) -> None:
        """Delete a function, or one published version of it. Deleting a version that
        does not exist (of a function that does) succeeds, as Lambda's does."""
        if qualifier == LATEST:
            raise InvalidParameterValueException(
                "$LATEST version cannot be deleted without deleting the function."
            )
        with self._lock:
            self.get(name)
            if qualifier is not None and qualifier not in self._versions.get(name, {}):
                return
            if qualifier is not None:
                for guard in self._delete_guards:
                    guard(name, qualifier)
                with self.engine.begin() as conn:
                    conn.execute(
                        delete(function_versions)
                        .where(function_versions.c.function_name == name)
                        .where(function_versions.c.version == qualifier)
                    )
                del self._versions[name][qualifier]
            else:
                with self.engine.begin() as conn:
                    conn.execute(
                        delete(function_versions).where(function_versions.c.function_name == name)
                    )
                    conn.execute(delete(functions).where(functions.c.name == name))
                for table in (self._latest, self._versions, self._last_version, self._tags):
                    table.pop(name, None)
                self._reserved = {n: r for n, r in self._reserved.items() if n != name}
        if qualifier is not None:
            self.qualifier_deleted(name, qualifier)
        self._notify(name)

    # --- internals -------------------------------------------------------------------

    def _writable(self, name: str, revision_id: str | None) -> FunctionVersion:
        current = self.get(name)
        if revision_id is not None and revision_id != current.revision_id:
            raise PreconditionFailedException(
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id",
            )
        if current.last_update_status == "InProgress" or current.state == "Pending":
            raise ResourceConflictException(
                "The operation cannot be performed at this time. An update is in progress "
                f"for resource: {self.arn(name)}",
            )
        return current

    def _unzipped_size(self, fn: FunctionVersion) -> int:
        return fn.code_unzipped_size or unzipped_size(self.code, fn.code_sha256_hex)

    def _save(self, fn: FunctionVersion) -> None:
        """Store a changed `$LATEST` or published version (which exists already)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(function_versions)
                .where(function_versions.c.function_name == fn.name)
                .where(function_versions.c.version == fn.version)
                .values(config=fn.to_json())
            )
        if fn.version == LATEST:
            self._latest[fn.name] = fn
        else:
            self._versions[fn.name][fn.version] = fn

    def prepare_now(self, name: str) -> None:
        """Finish a pending preparation in the calling thread (for `Publish=true`)."""
        fn = self.get(name)
        if fn.state == "Pending" or fn.last_update_status == "InProgress":
            self._prepare(name, fn.revision_id)

    def _schedule_prepare(self, fn: FunctionVersion) -> None:
        self._preparer.submit(self._prepare, fn.name, fn.revision_id)

    def _prepare(self, name: str, revision_id: str) -> None:
        """Unpack the code and check the runtime; then mark the function ready."""
        try:
            fn = self._latest.get(name)
            if fn is None or fn.revision_id != revision_id:
                return  # deleted or changed again; that change prepares itself
            failure: str | None = None
            try:
                self.code.unpacked(fn.code_sha256_hex)
                check_runtime(fn.runtime)
            except Exception as exc:
                log.warning("preparing %s failed: %s", name, exc)
                failure = getattr(exc, "message", str(exc))
            with self._lock:
                fn = self._latest.get(name)
                if fn is None or fn.revision_id != revision_id:
                    return
                fn = fn.replace(**_settled(fn, failure))
                if failure is None:  # (before calls can see it ready)
                    self._deployed(fn)
                self._save(fn)
        except Exception:
            log.exception("preparing function %s failed", name)
