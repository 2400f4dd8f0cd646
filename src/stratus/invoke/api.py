"""The data-plane operations of Lambda, and the Lambda service as one wire service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from stratus.errors import InvalidParameterValueException, ValidationException
from stratus.functions.api import FunctionsApi
from stratus.functions.model import LATEST, parse_function_ref
from stratus.functions.paging import index_page
from stratus.invoke.admission import Admission
from stratus.invoke.event_config import EventInvokeConfig, EventInvokeConfigs, check_destinations
from stratus.invoke.invoker import MAX_SYNC_PAYLOAD, Invoker
from stratus.invoke.provisioned import Allocation, ProvisionedConcurrency
from stratus.wire.types import OperationHandler, Params, RequestContext, Result


class Operations(Protocol):
    """Anything that contributes operations to a service."""

    def operations(self) -> Mapping[str, OperationHandler]: ...


class InvokeApi:
    """Invoke, concurrency settings and asynchronous-invocation settings."""

    def __init__(
        self,
        invoker: Invoker,
        admission: Admission,
        provisioned: ProvisionedConcurrency,
        event_configs: EventInvokeConfigs,
    ) -> None:
        self.invoker = invoker
        self.functions = invoker.functions
        self.admission = admission
        self.provisioned = provisioned
        self.event_configs = event_configs
        self.home = self.functions.home

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "Invoke": self.invoke,
            "InvokeAsync": self.invoke_async,
            "PutFunctionConcurrency": self.put_concurrency,
            "GetFunctionConcurrency": self.get_concurrency,
            "DeleteFunctionConcurrency": self.delete_concurrency,
            "GetAccountSettings": self.account_settings,
            "PutProvisionedConcurrencyConfig": self.put_provisioned,
            "GetProvisionedConcurrencyConfig": self.get_provisioned,
            "DeleteProvisionedConcurrencyConfig": self.delete_provisioned,
            "ListProvisionedConcurrencyConfigs": self.list_provisioned,
            "PutFunctionEventInvokeConfig": self.put_event_config,
            "UpdateFunctionEventInvokeConfig": self.update_event_config,
            "GetFunctionEventInvokeConfig": self.get_event_config,
            "DeleteFunctionEventInvokeConfig": self.delete_event_config,
            "ListFunctionEventInvokeConfigs": self.list_event_configs,
        }

    # --- invoke ----------------------------------------------------------------------

    async def invoke(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(
            params["FunctionName"], params.get("Qualifier"), home=self.home, ctx=ctx
        )
        result = await self.invoker.invoke(
            ref.name,
            ref.qualifier,
            params.get("Payload") or b"",
            invocation_type=params.get("InvocationType") or "RequestResponse",
            log_type=params.get("LogType") or "None",
            client_context=params.get("ClientContext"),
            request_id=ctx.request_id,
        )
        out: dict[str, Any] = {"StatusCode": result.status, "Payload": result.payload}
        if result.status == 200:
            out["ExecutedVersion"] = result.executed_version
        if result.function_error:
            out["FunctionError"] = result.function_error
        if result.log_result is not None:
            out["LogResult"] = result.log_result
        return out

    async def invoke_async(self, params: Params, ctx: RequestContext) -> Result:
        """The deprecated InvokeAsync: an Event invocation with a raw body."""
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        body = params.get("InvokeArgs") or b""
        payload = body if isinstance(body, bytes) else body.read()
        await self.invoker.invoke(
            ref.name, ref.qualifier, payload, invocation_type="Event", request_id=ctx.request_id
        )
        return {"Status": 202}

    # --- reserved concurrency --------------------------------------------------------

    def put_concurrency(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        value = params["ReservedConcurrentExecutions"]
        self.functions.get(ref.name)
        provisioned = self.provisioned.total(ref.name)
        if value < provisioned:
            raise InvalidParameterValueException(
                f"ReservedConcurrentExecutions {value} should not be lower than function's "
                f"total provisioned concurrency [{provisioned}]."
            )
        self.admission.check_reservation(ref.name, value)
        self.functions.set_reserved_concurrency(ref.name, value)
        return {"ReservedConcurrentExecutions": value}

    def get_concurrency(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        value = self.functions.reserved_concurrency(ref.name)
        return {} if value is None else {"ReservedConcurrentExecutions": value}

    def delete_concurrency(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        self.functions.set_reserved_concurrency(ref.name, None)
        return {}

    def account_settings(self, params: Params, ctx: RequestContext) -> Result:
        # Storage used: every version's deployment package and every layer archive.
        page, _ = self.functions.page(None, 1_000_000, all_versions=True)
        stored = sum(fn.code_size for fn in page) + self.invoker.layers.total_code_size()
        return {
            "AccountLimit": {
                "TotalCodeSize": 80_530_636_800,
                "CodeSizeUnzipped": 262_144_000,
                "CodeSizeZipped": 52_428_800,
                "ConcurrentExecutions": self.admission.limit,
                # Never negative, even with the limit lowered below the reservations.
                "UnreservedConcurrentExecutions": max(0, self.admission.unreserved_limit),
            },
            "AccountUsage": {
                "TotalCodeSize": stored,
                "FunctionCount": self.functions.count(),
            },
        }

    # --- provisioned concurrency -----------------------------------------------------

    async def put_provisioned(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(
            params["FunctionName"], params.get("Qualifier"), home=self.home, ctx=ctx
        )
        allocation = await self.provisioned.put(
            ref.name, ref.qualifier, params["ProvisionedConcurrentExecutions"]
        )
        return allocation.describe()

    async def get_provisioned(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(
            params["FunctionName"], params.get("Qualifier"), home=self.home, ctx=ctx
        )
        return self.provisioned.get(ref.name, ref.qualifier).describe()

    async def delete_provisioned(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(
            params["FunctionName"], params.get("Qualifier"), home=self.home, ctx=ctx
        )
        await self.provisioned.delete(ref.name, ref.qualifier)
        return {}

    async def list_provisioned(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        items = self.provisioned.for_function(ref.name)
        page, marker = index_page(items, params.get("Marker"), params.get("MaxItems", 50))
        result: dict[str, Any] = {
            "ProvisionedConcurrencyConfigs": [self._allocation(a) for a in page]
        }
        if marker:
            result["NextMarker"] = marker
        return result

    def _allocation(self, allocation: Allocation) -> dict[str, Any]:
        arn = self.functions.arn(allocation.function_name, allocation.qualifier)
        return {"FunctionArn": arn, **allocation.describe()}

    # --- event invoke configuration --------------------------------------------------

    def _config_out(self, config: EventInvokeConfig) -> dict[str, Any]:
        out: dict[str, Any] = {
            "LastModified": dt.datetime.fromtimestamp(config.last_modified, dt.UTC),
            "FunctionArn": self.functions.arn(config.function_name, config.qualifier),
            # Both members are always there, empty when not set, as Lambda answers.
            "DestinationConfig": {
                "OnSuccess": {"Destination": config.on_success} if config.on_success else {},
                "OnFailure": {"Destination": config.on_failure} if config.on_failure else {},
            },
        }
        # The error handling settings only when set, as Lambda answers (the defaults
        # apply otherwise).
        if config.max_retry_attempts is not None:
            out["MaximumRetryAttempts"] = config.max_retry_attempts
        if config.max_event_age is not None:
            out["MaximumEventAgeInSeconds"] = config.max_event_age
        return out

    def _target(self, params: Params, ctx: RequestContext) -> tuple[str, str]:
        ref = parse_function_ref(
            params["FunctionName"], params.get("Qualifier"), home=self.home, ctx=ctx
        )
        qualifier = ref.qualifier or LATEST
        self.invoker.aliases.resolve(ref.name, qualifier)
        return ref.name, qualifier

    def _configure(self, params: Params, base: EventInvokeConfig) -> EventInvokeConfig:
        if not any(
            key in params
            for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        ):
            raise InvalidParameterValueException(
                "You must specify at least one of error handling or destination setting."
            )
        retries: int | None = params.get("MaximumRetryAttempts", base.max_retry_attempts)
        max_age: int | None = params.get("MaximumEventAgeInSeconds", base.max_event_age)
        on_success, on_failure = base.on_success, base.on_failure
        destinations = params.get("DestinationConfig")
        if destinations is not None:
            on_success = (destinations.get("OnSuccess") or {}).get("Destination")
            on_failure = (destinations.get("OnFailure") or {}).get("Destination")
        if retries is not None and not 0 <= retries <= 2:
            raise InvalidParameterValueException("MaximumRetryAttempts must be 0 to 2.")
        check_destinations(
            on_success, on_failure, base.function_name, self.functions.exists, self.home
        )
        return EventInvokeConfig(
            base.function_name, base.qualifier, retries, max_age, on_success, on_failure
        )

    def put_event_config(self, params: Params, ctx: RequestContext) -> Result:
        name, qualifier = self._target(params, ctx)
        config = self._configure(params, EventInvokeConfig(name, qualifier))
        return self._config_out(self.event_configs.put(config))

    def update_event_config(self, params: Params, ctx: RequestContext) -> Result:
        name, qualifier = self._target(params, ctx)
        current = self.event_configs.get(name, qualifier, self.functions.arn(name, qualifier))
        config = self._configure(params, current)
        return self._config_out(self.event_configs.put(config))

    def get_event_config(self, params: Params, ctx: RequestContext) -> Result:
        name, qualifier = self._target(params, ctx)
        arn = self.functions.arn(name, qualifier)
        return self._config_out(self.event_configs.get(name, qualifier, arn))

    def delete_event_config(self, params: Params, ctx: RequestContext) -> Result:
        name, qualifier = self._target(params, ctx)
        self.event_configs.delete(name, qualifier, self.functions.arn(name, qualifier))
        return {}

    def list_event_configs(self, params: Params, ctx: RequestContext) -> Result:
        ref = parse_function_ref(params["FunctionName"], home=self.home, ctx=ctx)
        self.functions.get(ref.name)
        configs = self.event_configs.for_function(ref.name)
        page, marker = index_page(configs, params.get("Marker"), params.get("MaxItems", 50))
        result: dict[str, Any] = {"FunctionEventInvokeConfigs": [self._config_out(c) for c in page]}
        if marker:
            result["NextMarker"] = marker
        return result


class LambdaApi:
    """Every Lambda operation Stratus implements, as one wire service."""

    model_name = "lambda"

    def __init__(self, functions_api: FunctionsApi, parts: Sequence[Operations]) -> None:
        self.functions_api = functions_api
        self._operations: dict[str, OperationHandler] = dict(functions_api.operations())
        self._limits: dict[str, int] = {}
        for part in parts:
            for name in part.operations():
                limit = getattr(part, "max_request_bytes", None)
                if limit is not None:
                    self._limits[name] = limit(name)
            self._operations.update(part.operations())

    def operations(self) -> Mapping[str, OperationHandler]:
        return self._operations

    def max_request_bytes(self, operation: str) -> int:
        if operation == "Invoke":
            return MAX_SYNC_PAYLOAD
        if operation in self._limits:
            return self._limits[operation]
        return self.functions_api.max_request_bytes(operation)

    def request_too_large(self, operation: str, limit: int) -> Exception:
        return self.functions_api.request_too_large(operation, limit)

    def invalid_request(self, message: str) -> Exception:
        return ValidationException(message)
