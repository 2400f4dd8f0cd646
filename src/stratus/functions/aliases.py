"""Aliases: named pointers to a version, optionally splitting traffic with a second one."""

from __future__ import annotations

import dataclasses
import json
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from stratus.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from stratus.functions.model import LATEST, FunctionVersion, new_revision_id
from stratus.functions.service import FunctionService
from stratus.store.schema import aliases


@dataclass(frozen=True)
class Alias:
    """An alias of a function: a version, and maybe a weighted second version."""

    function_name: str
    name: str
    function_version: str
    description: str = ""
    #: Additional version -> share of invocations it gets (0.0 .. 1.0).
    weights: Mapping[str, float] = field(default_factory=dict)
    revision_id: str = field(default_factory=new_revision_id)

    def pick_version(self, draw: float | None = None) -> str:
        """The version one invocation runs, chosen by the routing weights."""
        point = random.random() if draw is None else draw
        for version, weight in self.weights.items():
            if point < weight:
                return version
            point -= weight
        return self.function_version

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["weights"] = dict(self.weights)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Alias:
        return cls(**json.loads(text))


#: `guard(current, updated)` raises to refuse an update of an alias.
AliasGuard = Callable[[Alias, Alias], None]
#: `listener(alias)` hears of an alias after an update to it is stored.
AliasListener = Callable[[Alias], None]


def is_alias_name(qualifier: str | None) -> bool:
    """A qualifier that is neither `$LATEST` nor a version number."""
    return qualifier is not None and qualifier != LATEST and not qualifier.isdigit()


class AliasService:
    """Aliases of every function, kept in memory and in the store."""

    def __init__(self, engine: Engine, functions: FunctionService) -> None:
        self.engine = engine
        self.functions = functions
        self._lock = threading.RLock()
        self._aliases: dict[str, dict[str, Alias]] = {}
        self._update_guards: list[AliasGuard] = []
        self._update_listeners: list[AliasListener] = []
        with engine.connect() as conn:
            for row in conn.execute(select(aliases)):
                self._aliases.setdefault(row.function_name, {})[row.name] = Alias.from_json(
                    row.config
                )
        functions.add_delete_guard(self._refuse_deleting_aliased_version)
        functions.subscribe(self._function_changed)

    def arn(self, function_name: str, name: str) -> str:
        return self.functions.arn(function_name, name)

    def add_update_guard(self, guard: AliasGuard) -> None:
        """`guard(current, updated)` raises to refuse an UpdateAlias (provisioned
        concurrency uses it): it runs after Lambda's own checks, before the store."""
        self._update_guards.append(guard)

    def subscribe_updated(self, listener: AliasListener) -> None:
        """Call `listener(alias)` after an update to an alias is stored, from the thread
        that made it (provisioned concurrency follows its alias to a new version)."""
        self._update_listeners.append(listener)

    # --- reads -----------------------------------------------------------------------

    def get(self, function_name: str, name: str) -> Alias:
        return self._find(function_name, name, "Cannot find alias arn: {arn}")

    def qualifying(self, function_name: str, name: str) -> Alias:
        """The alias a call or a read names as its qualifier: missing, it is the
        function that is not found (as Lambda words it), not the alias."""
        return self._find(function_name, name, "Function not found: {arn}")

    def _find(self, function_name: str, name: str, missing: str) -> Alias:
        self.functions.get(function_name)
        alias = self._aliases.get(function_name, {}).get(name)
        if alias is None:
            raise ResourceNotFoundException(missing.format(arn=self.arn(function_name, name)))
        return alias

    def for_function(self, function_name: str, function_version: str | None) -> list[Alias]:
        self.functions.get(function_name)
        found = sorted(self._aliases.get(function_name, {}).values(), key=lambda a: a.name)
        if function_version is not None:
            found = [
                a
                for a in found
                if a.function_version == function_version or function_version in a.weights
            ]
        return found

    def resolve(self, function_name: str, qualifier: str | None) -> FunctionVersion:
        """The version a qualifier selects for one invocation: `$LATEST`, a number, or
        an alias (whose routing weights pick between its versions each time)."""
        if is_alias_name(qualifier):
            assert qualifier is not None
            qualifier = self.qualifying(function_name, qualifier).pick_version()
        return self.functions.get(function_name, qualifier)

    # --- writes ----------------------------------------------------------------------

    def create(
        self,
        function_name: str,
        name: str,
        function_version: str,
        description: str,
        weights: Mapping[str, float],
    ) -> Alias:
        with self._lock:
            self._check_target(function_name, function_version, weights)
            if name in self._aliases.get(function_name, {}):
                raise ResourceConflictException(
                    f"Alias already exists: {self.arn(function_name, name)}"
                )
            alias = Alias(function_name, name, function_version, description, dict(weights))
            with self.engine.begin() as conn:
                conn.execute(
                    insert(aliases).values(
                        function_name=function_name, name=name, config=alias.to_json()
                    )
                )
            self._aliases.setdefault(function_name, {})[name] = alias
            return alias

    def update(
        self,
        function_name: str,
        name: str,
        function_version: str | None,
        description: str | None,
        weights: Mapping[str, float] | None,
        revision_id: str | None,
    ) -> Alias:
        with self._lock:
            current = self.get(function_name, name)
            if revision_id is not None and revision_id != current.revision_id:
                raise PreconditionFailedException(
                    "The Revision Id provided does not match the latest Revision Id. Call "
                    "the GetFunction/GetAlias API to retrieve the latest Revision Id"
                )
            changes: dict[str, Any] = {"revision_id": new_revision_id()}
            if function_version is not None:
                changes["function_version"] = function_version
            if description is not None:
                changes["description"] = description
            if weights is not None:
                changes["weights"] = dict(weights)
            alias = dataclasses.replace(current, **changes)
            self._check_target(function_name, alias.function_version, alias.weights)
            for guard in self._update_guards:
                guard(current, alias)
            self._store(alias)
        for listener in self._update_listeners:
            listener(alias)
        return alias

    def require(self, function_name: str, qualifier: str | None) -> None:
        """Check that the function, version or alias exists (for resource policies):
        a missing alias is not found as an alias, in Lambda's words."""
        self.revision(function_name, qualifier)

    def revision(self, function_name: str, qualifier: str | None) -> str:
        """The RevisionId of the function (`$LATEST`), a version or an alias."""
        if is_alias_name(qualifier):
            assert qualifier is not None
            return self.get(function_name, qualifier).revision_id
        return self.functions.get(function_name, qualifier).revision_id

    def renew_revision(self, function_name: str, qualifier: str | None) -> str:
        """A new RevisionId for the function, version or alias whose resource policy
        changed (Lambda's rule); nothing else about it changes."""
        if not is_alias_name(qualifier):
            return self.functions.renew_revision(function_name, qualifier)
        assert qualifier is not None
        with self._lock:
            alias = dataclasses.replace(
                self.get(function_name, qualifier), revision_id=new_revision_id()
            )
            self._store(alias)
            return alias.revision_id

    def delete(self, function_name: str, name: str) -> None:
        """Delete an alias. Deleting one that does not exist (of a function that does)
        succeeds, as Lambda's does: a retried delete is not an error."""
        with self._lock:
            self.functions.get(function_name)
            if name not in self._aliases.get(function_name, {}):
                return
            with self.engine.begin() as conn:
                conn.execute(
                    delete(aliases)
                    .where(aliases.c.function_name == function_name)
                    .where(aliases.c.name == name)
                )
            del self._aliases[function_name][name]
        self.functions.qualifier_deleted(function_name, name)

    def _store(self, alias: Alias) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(aliases)
                .where(aliases.c.function_name == alias.function_name)
                .where(aliases.c.name == alias.name)
                .values(config=alias.to_json())
            )
        self._aliases[alias.function_name][alias.name] = alias

    # --- rules -----------------------------------------------------------------------

    def _check_target(
        self, function_name: str, function_version: str, weights: Mapping[str, float]
    ) -> None:
        self.functions.get(function_name, function_version)
        if not weights:
            return
        if len(weights) > 1:
            raise InvalidParameterValueException(
                "Number of items in AdditionalVersionWeights cannot be greater than 1"
            )
        if function_version == LATEST:
            raise InvalidParameterValueException(
                "$LATEST is not supported for an alias pointing to more than 1 version"
            )
        for version, weight in weights.items():
            if version == function_version:
                raise InvalidParameterValueException(
                    "Invalid function version "
                    f"{version}. Function version {version} is already included in "
                    "routing configuration."
                )
            if version == LATEST or not version.isdigit():
                raise InvalidParameterValueException(
                    "$LATEST is not supported for an alias pointing to more than 1 version"
                )
            if not 0.0 <= weight <= 1.0:
                raise InvalidParameterValueException(
                    f"Invalid weight {weight} for version {version}: weights are 0.0 to 1.0."
                )
            self.functions.get(function_name, version)

    def _refuse_deleting_aliased_version(self, function_name: str, version: str) -> None:
        users = [
            a.name
            for a in self._aliases.get(function_name, {}).values()
            if a.function_version == version or version in a.weights
        ]
        if users:
            raise ResourceConflictException(
                "Unable to delete version because the following aliases reference it: "
                f"[{', '.join(sorted(users))}]"
            )

    def _function_changed(self, function_name: str) -> None:
        if self.functions.exists(function_name) or function_name not in self._aliases:
            return
        with self._lock, self.engine.begin() as conn:
            conn.execute(delete(aliases).where(aliases.c.function_name == function_name))
            self._aliases.pop(function_name, None)
