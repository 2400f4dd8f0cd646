"""The `apigateway` control plane for deployments and stages, and the v1 wire service.

A deployment freezes every resource with its methods and integrations; a stage points
at one deployment and adds stage variables, method settings (throttling, caching) and
its cache (`cacheClusterEnabled`, see `stage_cache.py`). Method
settings are patched with paths like `/*/*/throttling/rateLimit` or
`/~1pets/GET/throttling/burstLimit`, and stored under keys `*/*` and `~1pets/GET`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from stratus.gateway.access_logs import check_settings
from stratus.gateway.errors import (
    BadRequestException,
    ConflictException,
    GatewayUnsupported,
    NotFoundException,
)
from stratus.gateway.paging import rest_listing
from stratus.gateway.patch import apply_patch, as_bool, as_float, as_int, as_text, split_path
from stratus.gateway.records import GatewayStore, Record, new_id
from stratus.gateway.rest_apis import AUTHORIZER, RESOURCE, RestApis
from stratus.gateway.stage_cache import CLUSTER_SIZES, MAX_TTL, STRATEGIES, StageCaches
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

REST_STAGE = "rest_stage"
REST_DEPLOYMENT = "rest_deployment"
SNAPSHOT = "_snapshot"

#: `/{key}/{method}/<setting path>` -> MethodSetting member and converter.
_METHOD_SETTINGS: dict[str, tuple[str, Callable[[str | None], Any]]] = {
    "throttling/burstLimit": ("throttlingBurstLimit", as_int),
    "throttling/rateLimit": ("throttlingRateLimit", as_float),
    "metrics/enabled": ("metricsEnabled", as_bool),
    "logging/loglevel": ("loggingLevel", as_text),
    "logging/dataTrace": ("dataTraceEnabled", as_bool),
    "caching/enabled": ("cachingEnabled", as_bool),
    "caching/ttlInSeconds": ("cacheTtlInSeconds", as_int),
    "caching/dataEncrypted": ("cacheDataEncrypted", as_bool),
    "caching/requireAuthorizationForCacheControl": ("requireAuthorizationForCacheControl", as_bool),
    "caching/unauthorizedCacheControlHeaderStrategy": (
        "unauthorizedCacheControlHeaderStrategy",
        as_text,
    ),
}


class RestStages:
    """Deployments and stages of REST APIs."""

    def __init__(
        self,
        store: GatewayStore,
        apis: RestApis,
        invalidate: Callable[[str], None],
        caches: StageCaches | None = None,
    ) -> None:
        self.store = store
        self.apis = apis
        self.invalidate = invalidate
        self.caches = caches or StageCaches()

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "CreateDeployment": self.create_deployment,
            "GetDeployment": self.get_deployment,
            "GetDeployments": self.get_deployments,
            "DeleteDeployment": self.delete_deployment,
            "CreateStage": self.create_stage,
            "GetStage": self.get_stage,
            "GetStages": self.get_stages,
            "UpdateStage": self.update_stage,
            "DeleteStage": self.delete_stage,
            "FlushStageCache": self.flush_stage_cache,
        }

    # --- deployments -----------------------------------------------------------------

    def deployment(self, api_id: str, deployment_id: str) -> Record:
        found = self.store.get(REST_DEPLOYMENT, api_id, deployment_id)
        if found is None:
            raise NotFoundException("Invalid Deployment identifier specified")
        return found

    def create_deployment(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        self.apis.api(api_id)
        if params.get("canarySettings"):
            raise GatewayUnsupported("canary deployments")
        resources = self.store.list(RESOURCE, api_id)
        methods = [
            (r["path"], verb, m)
            for r in resources
            for verb, m in (r.get("resourceMethods") or {}).items()
        ]
        if not methods:
            raise BadRequestException("The REST API doesn't contain any methods")
        for path, verb, method in methods:
            if "methodIntegration" not in method:
                raise BadRequestException(f"No integration defined for method {verb} {path}")
        record: Record = {
            "id": new_id(6),
            "createdDate": time.time(),
            "apiSummary": _summary(methods),
            SNAPSHOT: {
                "resources": resources,
                "authorizers": self.store.list(AUTHORIZER, api_id),
            },
        }
        if params.get("description"):
            record["description"] = params["description"]
        self.store.insert(REST_DEPLOYMENT, api_id, record["id"], record)
        stage_name = params.get("stageName")
        if stage_name:
            stage = self.store.get(REST_STAGE, api_id, stage_name)
            if stage is None:
                self._new_stage(
                    api_id,
                    {
                        "stageName": stage_name,
                        "deploymentId": record["id"],
                        "description": params.get("stageDescription"),
                        "variables": params.get("variables"),
                        "tracingEnabled": params.get("tracingEnabled"),
                        "cacheClusterEnabled": params.get("cacheClusterEnabled"),
                        "cacheClusterSize": params.get("cacheClusterSize"),
                    },
                )
            else:
                stage["deploymentId"] = record["id"]
                if params.get("variables"):
                    stage["variables"] = {**stage.get("variables", {}), **params["variables"]}
                stage["lastUpdatedDate"] = time.time()
                self.store.replace(REST_STAGE, api_id, stage_name, stage)
            self.invalidate(api_id)
        return record

    def get_deployment(self, params: Params, ctx: RequestContext) -> Result:
        self.apis.api(params["restApiId"])
        if params.get("embed"):
            raise GatewayUnsupported("GetDeployment's embed")
        return self.deployment(params["restApiId"], params["deploymentId"])

    def get_deployments(self, params: Params, ctx: RequestContext) -> Result:
        self.apis.api(params["restApiId"])
        return rest_listing(self.store.list(REST_DEPLOYMENT, params["restApiId"]), params)

    def delete_deployment(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        self.apis.api(api_id)
        self.deployment(api_id, params["deploymentId"])
        for stage in self.store.list(REST_STAGE, api_id):
            if stage["deploymentId"] == params["deploymentId"]:
                raise BadRequestException(
                    "Active stages pointing to this deployment must be moved or deleted"
                )
        self.store.delete(REST_DEPLOYMENT, api_id, params["deploymentId"])
        return {}

    # --- stages ----------------------------------------------------------------------

    def stage(self, api_id: str, name: str) -> Record:
        self.apis.api(api_id)
        found = self.store.get(REST_STAGE, api_id, name)
        if found is None:
            raise NotFoundException("Invalid Stage identifier specified")
        return found

    def create_stage(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        self.apis.api(api_id)
        self.deployment(api_id, params["deploymentId"])
        record = self._new_stage(api_id, params)
        self.invalidate(api_id)
        return record

    def _new_stage(self, api_id: str, params: Params) -> Record:
        if params.get("canarySettings"):
            raise GatewayUnsupported("canary deployments")
        now = time.time()
        record: Record = {
            "stageName": params["stageName"],
            "deploymentId": params["deploymentId"],
            "methodSettings": {},
            "variables": params.get("variables") or {},
            "tracingEnabled": bool(params.get("tracingEnabled") or False),
            "tags": params.get("tags") or {},
            "createdDate": now,
            "lastUpdatedDate": now,
        }
        if params.get("description"):
            record["description"] = params["description"]
        record["cacheClusterEnabled"] = bool(params.get("cacheClusterEnabled"))
        if params.get("cacheClusterSize"):
            record["cacheClusterSize"] = params["cacheClusterSize"]
        _cache_status(record)
        if not self.store.insert(REST_STAGE, api_id, record["stageName"], record):
            raise ConflictException("Stage already exists")
        return record

    def get_stage(self, params: Params, ctx: RequestContext) -> Result:
        return self.stage(params["restApiId"], params["stageName"])

    def get_stages(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        self.apis.api(api_id)
        stages = self.store.list(REST_STAGE, api_id)
        if params.get("deploymentId"):
            stages = [s for s in stages if s["deploymentId"] == params["deploymentId"]]
        return {"item": stages}

    def update_stage(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        record = self.stage(api_id, params["stageName"])
        plain = []
        settings = {k: dict(v) for k, v in (record.get("methodSettings") or {}).items()}
        access = dict(record.get("accessLogSettings") or {})
        for operation in params.get("patchOperations") or []:
            if (operation.get("path") or "").startswith("/accessLogSettings"):
                _patch_access_log(access, operation)
                continue
            if (operation.get("path") or "").startswith("/canarySettings"):
                raise GatewayUnsupported("canary deployments")
            parts = split_path(operation.get("path") or "")
            if len(parts) >= 4:
                # /{resource path}/{method}/{group}/{setting}; the key keeps ~1 escapes.
                raw = (operation.get("path") or "")[1:].split("/")
                key = f"{raw[0]}/{raw[1]}"
                tail = "/".join(raw[2:])
                found = _METHOD_SETTINGS.get(tail)
                if found is None:
                    raise BadRequestException(
                        f"Invalid method setting path: {operation.get('path')}"
                    )
                member, convert = found
                if operation.get("op") == "remove":
                    settings.get(key, {}).pop(member, None)
                    continue
                value = convert(operation.get("value"))
                _check_setting(member, value)
                settings.setdefault(key, {})[member] = value
            else:
                plain.append(operation)
        updated = apply_patch(
            record,
            plain,
            {
                "description": as_text,
                "deploymentId": as_text,
                "tracingEnabled": as_bool,
                "cacheClusterEnabled": as_bool,
                "cacheClusterSize": as_text,
            },
            maps=("variables",),
        )
        _cache_status(updated)
        if (updated["cacheClusterEnabled"], updated.get("cacheClusterSize")) != (
            record.get("cacheClusterEnabled"),
            record.get("cacheClusterSize"),
        ):
            # AWS replaces the cache instance when it is resized or removed: data goes.
            self.caches.drop(api_id, record["stageName"])
        self.deployment(api_id, updated["deploymentId"])
        updated["methodSettings"] = settings
        if access:
            check_settings(access.get("destinationArn"), access.get("format"))
            updated["accessLogSettings"] = access
        else:
            updated.pop("accessLogSettings", None)
        updated["lastUpdatedDate"] = time.time()
        self.store.replace(REST_STAGE, api_id, record["stageName"], updated)
        self.invalidate(api_id)
        return updated

    def delete_stage(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["restApiId"]
        self.stage(api_id, params["stageName"])
        self.store.delete(REST_STAGE, api_id, params["stageName"])
        self.caches.drop(api_id, params["stageName"])
        self.invalidate(api_id)
        return {}

    def flush_stage_cache(self, params: Params, ctx: RequestContext) -> Result:
        """`FlushStageCache`: drop every cached response of the stage (on this node)."""
        self.stage(params["restApiId"], params["stageName"])
        self.caches.drop(params["restApiId"], params["stageName"])
        return {}


def _cache_status(record: Record) -> None:
    """Validate the cache members and set `cacheClusterStatus` (created at once here)."""
    size = record.get("cacheClusterSize")
    if size is not None and size not in CLUSTER_SIZES:
        raise BadRequestException(
            f"Invalid cache cluster size specified: {size}; valid sizes are "
            + ", ".join(sorted(CLUSTER_SIZES, key=float))
        )
    if record.get("cacheClusterEnabled"):
        record["cacheClusterSize"] = size or "0.5"
        record["cacheClusterStatus"] = "AVAILABLE"
    else:
        record["cacheClusterEnabled"] = False
        record["cacheClusterStatus"] = "NOT_AVAILABLE"


def _check_setting(member: str, value: Any) -> None:
    if member == "cacheTtlInSeconds" and not 0 <= value <= MAX_TTL:
        raise BadRequestException(f"Cache ttl must be between 0 and {MAX_TTL} seconds; got {value}")
    if member == "unauthorizedCacheControlHeaderStrategy" and value not in STRATEGIES:
        raise BadRequestException(
            f"Invalid unauthorizedCacheControlHeaderStrategy {value}; valid values are "
            + ", ".join(sorted(STRATEGIES))
        )


def _patch_access_log(access: dict[str, Any], operation: dict[str, Any]) -> None:
    """`/accessLogSettings/destinationArn`, `/accessLogSettings/format`, or remove all."""
    path = operation.get("path") or ""
    if operation.get("op") == "remove":
        if path in ("/accessLogSettings", "/accessLogSettings/"):
            access.clear()
        else:
            access.pop(path.rpartition("/")[2], None)
        return
    member = path.rpartition("/")[2]
    if operation.get("op") != "replace" or member not in ("destinationArn", "format"):
        raise BadRequestException(f"Invalid patch path {path}")
    access[member] = operation.get("value")


def _summary(methods: list[tuple[str, str, Record]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, verb, method in methods:
        out.setdefault(path, {})[verb] = {
            "authorizationType": method.get("authorizationType", "NONE"),
            "apiKeyRequired": bool(method.get("apiKeyRequired")),
        }
    return out


def snapshot_resources(deployment: Record) -> list[dict[str, Any]]:
    """The resources a deployment froze."""
    return list((deployment.get(SNAPSHOT) or {}).get("resources") or [])
