"""Lambda's version and alias operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stratus.functions.aliases import Alias, AliasService
from stratus.functions.model import FunctionVersion, parse_function_ref
from stratus.functions.paging import index_page
from stratus.functions.service import FunctionService
from stratus.wire.types import OperationHandler, Params, RequestContext, Result


class VersionsApi:
    """PublishVersion, ListVersionsByFunction and the alias operations."""

    def __init__(self, functions: FunctionService, aliases: AliasService) -> None:
        self.functions = functions
        self.aliases = aliases
        self.home = functions.home

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "PublishVersion": self.publish_version,
            "ListVersionsByFunction": self.list_versions,
            "CreateAlias": self.create_alias,
            "GetAlias": self.get_alias,
            "UpdateAlias": self.update_alias,
            "DeleteAlias": self.delete_alias,
            "ListAliases": self.list_aliases,
        }

    def _configuration(self, fn: FunctionVersion, listed: bool = False) -> dict[str, Any]:
        """A version's configuration; `listed` as ListVersionsByFunction gives it."""
        return fn.to_configuration(
            self.functions.region, self.functions.account_id, among_versions=listed, listed=listed
        )

    def _alias(self, alias: Alias) -> dict[str, Any]:
        out: dict[str, Any] = {
            "AliasArn": self.aliases.arn(alias.function_name, alias.name),
            "Name": alias.name,
            "FunctionVersion": alias.function_version,
            "Description": alias.description,
            "RevisionId": alias.revision_id,
        }
        if alias.weights:
            out["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.weights)}
        return out

    # --- versions --------------------------------------------------------------------

    def publish_version(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        version = self.functions.publish(
            ref.name,
            params.get("CodeSha256"),
            params.get("Description"),
            params.get("RevisionId"),
        )
        return self._configuration(version)

    def list_versions(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        versions = self.functions.versions(ref.name)
        page, marker = index_page(versions, params.get("Marker"), params.get("MaxItems", 50))
        result: dict[str, Any] = {"Versions": [self._configuration(v, True) for v in page]}
        if marker:
            result["NextMarker"] = marker
        return result

    # --- aliases ---------------------------------------------------------------------

    def create_alias(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        alias = self.aliases.create(
            ref.name,
            params["Name"],
            params["FunctionVersion"],
            params.get("Description", ""),
            _weights(params.get("RoutingConfig")) or {},
        )
        return self._alias(alias)

    def get_alias(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        return self._alias(self.aliases.get(ref.name, params["Name"]))

    def update_alias(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        alias = self.aliases.update(
            ref.name,
            params["Name"],
            params.get("FunctionVersion"),
            params.get("Description"),
            _weights(params.get("RoutingConfig")),
            params.get("RevisionId"),
        )
        return self._alias(alias)

    def delete_alias(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        self.aliases.delete(ref.name, params["Name"])
        return {}

    def list_aliases(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        found = self.aliases.for_function(ref.name, params.get("FunctionVersion"))
        page, marker = index_page(found, params.get("Marker"), params.get("MaxItems", 50))
        result: dict[str, Any] = {"Aliases": [self._alias(a) for a in page]}
        if marker:
            result["NextMarker"] = marker
        return result


def _weights(routing: Mapping[str, Any] | None) -> dict[str, float] | None:
    if routing is None:
        return None
    return {str(k): float(v) for k, v in (routing.get("AdditionalVersionWeights") or {}).items()}
