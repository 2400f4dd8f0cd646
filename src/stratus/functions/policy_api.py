"""The function policy operations: AddPermission, RemovePermission, GetPolicy."""

from __future__ import annotations

from collections.abc import Mapping

from stratus.errors import RequestTooLargeException
from stratus.functions.model import Home, parse_function_ref
from stratus.functions.policy import PolicyService
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

DEFAULT_MAX_REQUEST_BYTES = 6_291_456


class PolicyApi:
    """Lambda's resource-policy operations for functions, versions and aliases."""

    model_name = "lambda"

    def __init__(self, policies: PolicyService) -> None:
        self.policies = policies
        self.home = Home(policies.region, policies.account_id)

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "AddPermission": self.add_permission,
            "RemovePermission": self.remove_permission,
            "GetPolicy": self.get_policy,
        }

    def max_request_bytes(self, operation: str) -> int:
        return DEFAULT_MAX_REQUEST_BYTES

    def request_too_large(self, operation: str, limit: int) -> Exception:
        return RequestTooLargeException(
            f"Request must be smaller than {limit} bytes for the {operation} operation"
        )

    def add_permission(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(
            params["FunctionName"], params.get("Qualifier"), home=self.home, ctx=ctx
        )
        statement = self.policies.add(
            ref.name,
            ref.qualifier,
            params["StatementId"],
            params["Action"],
            params["Principal"],
            source_arn=params.get("SourceArn"),
            source_account=params.get("SourceAccount"),
            event_source_token=params.get("EventSourceToken"),
            principal_org_id=params.get("PrincipalOrgID"),
            function_url_auth_type=params.get("FunctionUrlAuthType"),
            revision_id=params.get("RevisionId"),
            invoked_via_function_url=bool(params.get("InvokedViaFunctionUrl")),
        )
        return {"Statement": statement}

    def remove_permission(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(
            params["FunctionName"], params.get("Qualifier"), home=self.home, ctx=ctx
        )
        self.policies.remove(
            ref.name, ref.qualifier, params["StatementId"], params.get("RevisionId")
        )
        return {}

    def get_policy(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(
            params["FunctionName"], params.get("Qualifier"), home=self.home, ctx=ctx
        )
        policy, revision_id = self.policies.get(ref.name, ref.qualifier)
        return {"Policy": policy, "RevisionId": revision_id}
