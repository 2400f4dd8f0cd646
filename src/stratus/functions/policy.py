"""Function resource policies: the statements AddPermission grants, per function and
qualifier, in the document shape Lambda's GetPolicy returns. The statement and document
records here serve layer version policies too (functions/layer_policy.py).

Statements are stored as typed records and rendered to Lambda's JSON on the way out, so
the coming enforcement (the security issue) reads fields, not JSON. Nothing here
enforces a policy yet.

RevisionId: as on Lambda, a function policy has none of its own. It shares the
RevisionId of the function version or alias it belongs to, and every AddPermission and
RemovePermission renews that (through `PolicyTargets`, which the alias service
implements).
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, delete, insert, select, update

from stratus.errors import (
    InvalidParameterValueException,
    PolicyLengthExceededException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from stratus.functions.model import LATEST, function_arn
from stratus.store.policy_schema import function_policies

#: Lambda's limit on one function policy document (layer version policies get the same:
#: AWS documents no figure of their own).
MAX_POLICY_BYTES = 20_480

#: Lambda's words when a function, version, alias or layer version has no policy.
NO_POLICY = "No policy is associated with the given resource."

_ACCOUNT = re.compile(r"^\d{12}$")
_IAM_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:\S+$")
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.(amazonaws\.com(\.cn)?|api\.aws)$")


class PolicyTargets(Protocol):
    """The functions, versions and aliases policies belong to."""

    def require(self, function_name: str, qualifier: str | None) -> object:
        """Raise ResourceNotFoundException, in Lambda's words, when the function (or
        the version or alias the qualifier names) does not exist."""
        ...

    def revision(self, function_name: str, qualifier: str | None) -> str: ...

    def renew_revision(self, function_name: str, qualifier: str | None) -> str: ...


@dataclass(frozen=True)
class PolicyStatement:
    """One statement of a function policy, as AddPermission's parameters made it."""

    sid: str
    action: str
    #: "*", a service principal ("s3.amazonaws.com") or an IAM ARN (an account id is
    #: stored as its root ARN, as Lambda does).
    principal: str
    #: The function ARN, qualified when the policy belongs to a version or alias.
    resource: str
    source_arn: str | None = None
    source_account: str | None = None
    event_source_token: str | None = None
    principal_org_id: str | None = None
    function_url_auth_type: str | None = None
    invoked_via_function_url: bool = False

    def document(self) -> dict[str, Any]:
        """The statement as Lambda writes it (its member order included)."""
        statement: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Principal": _principal_element(self.principal),
            "Action": self.action,
            "Resource": self.resource,
        }
        string_equals = {
            key: value
            for key, value in (
                ("lambda:FunctionUrlAuthType", self.function_url_auth_type),
                ("aws:PrincipalOrgID", self.principal_org_id),
                ("AWS:SourceAccount", self.source_account),
                ("lambda:EventSourceToken", self.event_source_token),
            )
            if value is not None
        }
        condition: dict[str, Any] = {}
        if string_equals:
            condition["StringEquals"] = string_equals
        if self.source_arn is not None:
            condition["ArnLike"] = {"AWS:SourceArn": self.source_arn}
        if self.invoked_via_function_url:
            condition["Bool"] = {"lambda:InvokedViaFunctionUrl": "true"}
        if condition:
            statement["Condition"] = condition
        return statement

    def to_json(self) -> str:
        """The statement as the JSON string AddPermission and AddLayerVersionPermission
        answer."""
        return _compact(self.document())


@dataclass(frozen=True)
class ResourcePolicy:
    """The resource policy of one function, version, alias or layer version."""

    statements: tuple[PolicyStatement, ...] = ()

    def document(self) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Id": "default",
            "Statement": [s.document() for s in self.statements],
        }

    def to_json(self) -> str:
        """The policy as GetPolicy's and GetLayerVersionPolicy's `Policy` string."""
        return _compact(self.document())

    def adding(self, statement: PolicyStatement) -> ResourcePolicy:
        """This policy with the statement last, refused in Lambda's words when its id is
        taken or the document would pass the size limit."""
        if any(s.sid == statement.sid for s in self.statements):
            raise ResourceConflictException(
                f"The statement id ({statement.sid}) provided already exists. Please "
                "provide a new statement id, or remove the existing statement."
            )
        policy = ResourcePolicy((*self.statements, statement))
        size = len(policy.to_json().encode())
        if size > MAX_POLICY_BYTES:
            raise PolicyLengthExceededException(
                f"The final policy size ({size}) is bigger than the limit ({MAX_POLICY_BYTES})."
            )
        return policy

    def without(self, statement_id: str) -> ResourcePolicy:
        """This policy less one statement, refused in Lambda's words when it has none
        with that id. An empty result means the policy goes (the caller deletes it)."""
        kept = tuple(s for s in self.statements if s.sid != statement_id)
        if len(kept) == len(self.statements):
            raise ResourceNotFoundException(
                f"Statement {statement_id} is not found in resource policy."
            )
        return ResourcePolicy(kept)

    def statements_json(self) -> str:
        """The statements as stored: a JSON list of `PolicyStatement` records."""
        return json.dumps([dataclasses.asdict(s) for s in self.statements])

    @classmethod
    def from_statements_json(cls, text: str) -> ResourcePolicy:
        return cls(tuple(PolicyStatement(**data) for data in json.loads(text)))


class PolicyService:
    """Add, remove and read the statements of function resource policies."""

    def __init__(
        self,
        engine: Engine,
        region: str,
        account_id: str,
        targets: PolicyTargets,
    ) -> None:
        self.engine = engine
        self.region = region
        self.account_id = account_id
        self.targets = targets
        # Read-modify-write of one document; one node for now (see the module doc of
        # functions/service.py), so a process lock is enough.
        self._lock = threading.Lock()

    # --- the three operations ----------------------------------------------------------

    def add(
        self,
        function_name: str,
        qualifier: str | None,
        statement_id: str,
        action: str,
        principal: str,
        source_arn: str | None = None,
        source_account: str | None = None,
        event_source_token: str | None = None,
        principal_org_id: str | None = None,
        function_url_auth_type: str | None = None,
        revision_id: str | None = None,
        invoked_via_function_url: bool = False,
    ) -> str:
        """Add a statement; return it as the JSON string AddPermission answers."""
        if qualifier == LATEST:
            raise InvalidParameterValueException(
                "We currently do not support adding policies for $LATEST."
            )
        if function_url_auth_type is not None and action != "lambda:InvokeFunctionUrl":
            raise InvalidParameterValueException(
                "FunctionUrlAuthType is only supported for lambda:InvokeFunctionUrl action"
            )
        self.targets.require(function_name, qualifier)
        with self._lock:
            current = self._load(function_name, qualifier)
            self._check_revision(function_name, qualifier, revision_id)
            statement = PolicyStatement(
                sid=statement_id,
                action=action,
                principal=stored_principal(principal),
                resource=function_arn(self.region, self.account_id, function_name, qualifier),
                source_arn=source_arn,
                source_account=source_account,
                event_source_token=event_source_token,
                principal_org_id=principal_org_id,
                function_url_auth_type=function_url_auth_type,
                invoked_via_function_url=invoked_via_function_url,
            )
            policy = (current or ResourcePolicy()).adding(statement)
            self._save(function_name, qualifier, policy, insert_row=current is None)
            self.targets.renew_revision(function_name, qualifier)
        return statement.to_json()

    def remove(
        self,
        function_name: str,
        qualifier: str | None,
        statement_id: str,
        revision_id: str | None = None,
    ) -> None:
        """Remove a statement; the policy goes with its last statement."""
        try:
            self.targets.require(function_name, None)
        except ResourceNotFoundException as exc:
            arn = function_arn(self.region, self.account_id, function_name)
            raise ResourceNotFoundException(f"No policy found for: {arn}") from exc
        if qualifier is not None:
            self.targets.require(function_name, qualifier)
        with self._lock:
            current = self._load(function_name, qualifier)
            if current is None:
                raise ResourceNotFoundException(NO_POLICY)
            kept = current.without(statement_id)
            self._check_revision(function_name, qualifier, revision_id)
            key = _key(qualifier)
            with self.engine.begin() as conn:
                if kept.statements:
                    conn.execute(
                        update(function_policies)
                        .where(function_policies.c.function_name == function_name)
                        .where(function_policies.c.qualifier == key)
                        .values(statements=kept.statements_json())
                    )
                else:
                    conn.execute(
                        delete(function_policies)
                        .where(function_policies.c.function_name == function_name)
                        .where(function_policies.c.qualifier == key)
                    )
            self.targets.renew_revision(function_name, qualifier)

    def get(self, function_name: str, qualifier: str | None) -> tuple[str, str]:
        """(the policy as GetPolicy's JSON string, its RevisionId)."""
        policy = self.policy(function_name, qualifier)
        if policy is None:
            raise ResourceNotFoundException("The resource you requested does not exist.")
        return policy.to_json(), self.targets.revision(function_name, qualifier)

    # --- for other services ----------------------------------------------------------

    def policy(self, function_name: str, qualifier: str | None) -> ResourcePolicy | None:
        """The policy of a function, version or alias (checked to exist), if it has one."""
        self.targets.require(function_name, None)
        if qualifier is not None:
            try:
                self.targets.require(function_name, qualifier)
            except ResourceNotFoundException as exc:  # Lambda's words for GetPolicy
                raise ResourceNotFoundException(
                    "The resource you requested does not exist."
                ) from exc
        return self._load(function_name, qualifier)

    def delete_function(self, function_name: str) -> None:
        """Drop every policy of a deleted function (its versions' and aliases' too)."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                delete(function_policies).where(function_policies.c.function_name == function_name)
            )

    def delete_qualifier(self, function_name: str, qualifier: str) -> None:
        """Drop the policy of a deleted version or alias."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                delete(function_policies)
                .where(function_policies.c.function_name == function_name)
                .where(function_policies.c.qualifier == _key(qualifier))
            )

    # --- internals -------------------------------------------------------------------

    def _load(self, function_name: str, qualifier: str | None) -> ResourcePolicy | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(function_policies.c.statements)
                .where(function_policies.c.function_name == function_name)
                .where(function_policies.c.qualifier == _key(qualifier))
            ).first()
        if row is None:
            return None
        return ResourcePolicy.from_statements_json(row.statements)

    def _save(
        self, function_name: str, qualifier: str | None, policy: ResourcePolicy, insert_row: bool
    ) -> None:
        # (The table's revision_id column is a leftover: the RevisionId is the target's.)
        values = {"statements": policy.statements_json(), "revision_id": ""}
        key = _key(qualifier)
        with self.engine.begin() as conn:
            if insert_row:
                conn.execute(
                    insert(function_policies).values(
                        function_name=function_name, qualifier=key, **values
                    )
                )
            else:
                conn.execute(
                    update(function_policies)
                    .where(function_policies.c.function_name == function_name)
                    .where(function_policies.c.qualifier == key)
                    .values(**values)
                )

    def _check_revision(
        self, function_name: str, qualifier: str | None, revision_id: str | None
    ) -> None:
        if revision_id is not None and revision_id != self.targets.revision(
            function_name, qualifier
        ):
            raise PreconditionFailedException(
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id"
            )


def stored_principal(principal: str) -> str:
    """A `Principal` parameter as a statement holds it: an account id becomes its root
    ARN (Lambda writes {"AWS": "arn:aws:iam::<account>:root"}); "*", service principals
    and IAM ARNs stay as given; anything else is refused in Lambda's words."""
    if principal == "*" or _SERVICE.match(principal) or _IAM_ARN.match(principal):
        return principal
    if _ACCOUNT.match(principal):
        return f"arn:aws:iam::{principal}:root"
    raise InvalidParameterValueException(
        "The provided principal was invalid. Please check the principal and try again."
    )


def _key(qualifier: str | None) -> str:
    """The table key: the unqualified function and `$LATEST` share one policy."""
    return "" if qualifier is None or qualifier == LATEST else qualifier


def _principal_element(principal: str) -> str | Mapping[str, str]:
    if principal == "*":
        return "*"
    if principal.startswith("arn:"):
        return {"AWS": principal}
    return {"Service": principal}


def _compact(document: Mapping[str, Any]) -> str:
    # Lambda answers compact JSON: {"Sid":"s3","Effect":"Allow",...}
    return json.dumps(document, separators=(",", ":"))
