"""Layer version policies: the statements AddLayerVersionPermission grants, in the
document shape GetLayerVersionPolicy returns, built from the function policies' records.

Nothing enforces them: with one account, nobody else could use a layer. A layer version
has no RevisionId, so its policy has one of its own, which every add and remove renews
(as AWS's recorded answers show). The policy row goes with its last statement, and with
its version (`LayerService.delete`).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, and_, delete, insert, select, update

from stratus.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceNotFoundException,
)
from stratus.functions.layers import LayerService, LayerVersion
from stratus.functions.policy import NO_POLICY, PolicyStatement, ResourcePolicy, stored_principal
from stratus.functions.stamps import new_revision_id
from stratus.store.layer_schema import layer_version_policies


class LayerPolicies:
    """Add, remove and read the statements of layer version policies."""

    def __init__(self, layers: LayerService) -> None:
        self.layers = layers
        self.engine = layers.engine

    def add(
        self,
        layer_name: str,
        version: int,
        statement_id: str,
        action: str,
        principal: str,
        organization_id: str | None = None,
        revision_id: str | None = None,
    ) -> tuple[str, str]:
        """Add a statement; return it as the JSON string AddLayerVersionPermission
        answers, and the policy's new RevisionId."""
        if organization_id is not None and principal != "*":
            # The API reference: OrganizationId grants an organization "with the
            # principal set to *". (Stratus's words: no recorded AWS answer for this.)
            raise InvalidParameterValueException(
                "OrganizationId can only be specified when Principal is '*'."
            )
        with self.layers.lock, self.engine.begin() as conn:
            found = self._version(conn, layer_name, version)
            stored = _load_layer_policy(conn, found)
            _check_layer_revision(revision_id, stored)
            statement = PolicyStatement(
                sid=statement_id,
                action=action,
                principal=stored_principal(principal),
                resource=found.version_arn,
                principal_org_id=organization_id,
            )
            policy = (stored[0] if stored else ResourcePolicy()).adding(statement)
            renewed = new_revision_id()
            values = {"statements": policy.statements_json(), "revision_id": renewed}
            if stored is None:
                conn.execute(
                    insert(layer_version_policies).values(
                        layer_name=found.name, version=found.version, **values
                    )
                )
            else:
                conn.execute(
                    update(layer_version_policies).where(_policy_of(found)).values(**values)
                )
        return statement.to_json(), renewed

    def remove(
        self, layer_name: str, version: int, statement_id: str, revision_id: str | None = None
    ) -> None:
        """Remove a statement; the policy goes with its last statement."""
        with self.layers.lock, self.engine.begin() as conn:
            found = self._version(conn, layer_name, version)
            stored = _load_layer_policy(conn, found)
            if stored is None:
                raise ResourceNotFoundException(NO_POLICY)
            kept = stored[0].without(statement_id)
            _check_layer_revision(revision_id, stored)
            if kept.statements:
                conn.execute(
                    update(layer_version_policies)
                    .where(_policy_of(found))
                    .values(statements=kept.statements_json(), revision_id=new_revision_id())
                )
            else:
                conn.execute(delete(layer_version_policies).where(_policy_of(found)))

    def get(self, layer_name: str, version: int) -> tuple[str, str]:
        """(the policy as GetLayerVersionPolicy's JSON string, its RevisionId)."""
        with self.engine.connect() as conn:
            stored = _load_layer_policy(conn, self._version(conn, layer_name, version))
        if stored is None:
            raise ResourceNotFoundException(NO_POLICY)
        policy, revision = stored
        return policy.to_json(), revision

    def _version(self, conn: Connection, layer_name: str, version: int) -> LayerVersion:
        found = self.layers.find(layer_name, version, conn)
        if found is None:
            arn = layer_name if layer_name.startswith("arn:") else self.layers.layer_arn(layer_name)
            raise ResourceNotFoundException(f"Layer version {arn}:{version} does not exist.")
        return found


def _policy_of(lv: LayerVersion) -> ColumnElement[bool]:
    """The condition that picks a layer version's policy row."""
    table = layer_version_policies
    return and_(table.c.layer_name == lv.name, table.c.version == lv.version)


def _load_layer_policy(conn: Connection, lv: LayerVersion) -> tuple[ResourcePolicy, str] | None:
    """A layer version's policy and its RevisionId, or None when it has none."""
    table = layer_version_policies
    row = conn.execute(
        select(table.c.statements, table.c.revision_id).where(_policy_of(lv))
    ).first()
    if row is None:
        return None
    return ResourcePolicy.from_statements_json(row.statements), row.revision_id


def _check_layer_revision(given: str | None, stored: tuple[ResourcePolicy, str] | None) -> None:
    if given is not None and (stored is None or given != stored[1]):
        # Lambda's words for layers name GetLayerPolicy (for functions, GetFunction/GetAlias).
        raise PreconditionFailedException(
            "The Revision Id provided does not match the latest Revision Id. Call the "
            "GetLayerPolicy API to retrieve the latest Revision Id"
        )
