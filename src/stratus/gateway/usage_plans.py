"""API keys and usage plans (REST APIs): the control plane.

A usage plan covers stages of REST APIs with a throttle and a quota, applied to each API
key linked to it; `usage_meter.py` meters the calls to methods that require a key.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable, Mapping

from stratus.gateway.errors import (
    BadRequestException,
    ConflictException,
    GatewayUnsupported,
    NotFoundException,
)
from stratus.gateway.paging import rest_listing
from stratus.gateway.patch import apply_patch, as_bool, as_float, as_int, as_text
from stratus.gateway.records import GatewayStore, Record, new_id
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

API_KEY = "api_key"
USAGE_PLAN = "usage_plan"
PLAN_KEY = "usage_plan_key"
_ACCOUNT = ""  # keys and plans belong to the account, not to one API

_KEY_ALPHABET = string.ascii_letters + string.digits


class UsagePlans:
    """CreateApiKey ... DeleteUsagePlanKey."""

    def __init__(
        self,
        store: GatewayStore,
        stage_exists: Callable[[str, str], bool],
        changed: Callable[[], None],
    ) -> None:
        self.store = store
        self.stage_exists = stage_exists
        self.changed = changed

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "CreateApiKey": self.create_key,
            "GetApiKey": self.get_key,
            "GetApiKeys": self.get_keys,
            "UpdateApiKey": self.update_key,
            "DeleteApiKey": self.delete_key,
            "CreateUsagePlan": self.create_plan,
            "GetUsagePlan": self.get_plan,
            "GetUsagePlans": self.get_plans,
            "UpdateUsagePlan": self.update_plan,
            "DeleteUsagePlan": self.delete_plan,
            "CreateUsagePlanKey": self.create_plan_key,
            "GetUsagePlanKey": self.get_plan_key,
            "GetUsagePlanKeys": self.get_plan_keys,
            "DeleteUsagePlanKey": self.delete_plan_key,
        }

    # --- API keys --------------------------------------------------------------------

    def key(self, key_id: str) -> Record:
        found = self.store.get(API_KEY, _ACCOUNT, key_id)
        if found is None:
            raise NotFoundException("Invalid API Key identifier specified")
        return found

    def create_key(self, params: Params, ctx: RequestContext) -> Result:
        if params.get("stageKeys"):
            raise GatewayUnsupported("stageKeys on API keys (use usage plans)")
        value = params.get("value") or "".join(secrets.choice(_KEY_ALPHABET) for _ in range(40))
        if len(value) < 20:
            raise BadRequestException("API Key value should be at least 20 characters")
        if any(k["value"] == value for k in self.store.list(API_KEY, _ACCOUNT)):
            raise ConflictException("API Key already exists")
        now = time.time()
        record: Record = {
            "id": new_id(),
            "value": value,
            "name": params.get("name") or "",
            "enabled": bool(params.get("enabled", False)),
            "createdDate": now,
            "lastUpdatedDate": now,
            "stageKeys": [],
            "tags": params.get("tags") or {},
        }
        for member in ("description", "customerId"):
            if params.get(member):
                record[member] = params[member]
        self.store.insert(API_KEY, _ACCOUNT, record["id"], record)
        self.changed()
        return record

    def get_key(self, params: Params, ctx: RequestContext) -> Result:
        record = self.key(params["apiKey"])
        return record if params.get("includeValue") else _without_value(record)

    def get_keys(self, params: Params, ctx: RequestContext) -> Result:
        keys = self.store.list(API_KEY, _ACCOUNT)
        if params.get("nameQuery"):
            keys = [k for k in keys if k["name"].startswith(params["nameQuery"])]
        if not params.get("includeValues"):
            keys = [_without_value(k) for k in keys]
        return rest_listing(keys, params)

    def update_key(self, params: Params, ctx: RequestContext) -> Result:
        record = self.key(params["apiKey"])
        updated = apply_patch(
            record,
            params.get("patchOperations") or [],
            {"name": as_text, "description": as_text, "enabled": as_bool, "customerId": as_text},
        )
        updated["lastUpdatedDate"] = time.time()
        self.store.replace(API_KEY, _ACCOUNT, record["id"], updated)
        self.changed()
        return updated

    def delete_key(self, params: Params, ctx: RequestContext) -> Result:
        key_id = params["apiKey"]
        self.key(key_id)
        self.store.delete(API_KEY, _ACCOUNT, key_id)
        for link in self.store.list(PLAN_KEY, _ACCOUNT):
            if link["id"] == key_id:
                self.store.delete(PLAN_KEY, _ACCOUNT, f"{link['usagePlanId']}/{key_id}")
        self.changed()
        return {}

    # --- usage plans -----------------------------------------------------------------

    def plan(self, plan_id: str) -> Record:
        found = self.store.get(USAGE_PLAN, _ACCOUNT, plan_id)
        if found is None:
            raise NotFoundException("Invalid Usage Plan ID specified")
        return found

    def _check_plan(self, record: Record) -> None:
        for stage in record.get("apiStages") or []:
            if stage.get("throttle"):
                raise GatewayUnsupported("per-method throttles in a usage plan's apiStages")
            if not self.stage_exists(stage.get("apiId", ""), stage.get("stage", "")):
                raise BadRequestException(
                    f"Invalid stage identifier specified: {stage.get('apiId')}/{stage.get('stage')}"
                )
        quota = record.get("quota")
        if quota:
            if quota.get("period") not in ("DAY", "WEEK", "MONTH"):
                raise BadRequestException("Quota period must be one of DAY, WEEK or MONTH")
            if quota.get("offset"):
                raise GatewayUnsupported("quota offsets")

    def create_plan(self, params: Params, ctx: RequestContext) -> Result:
        record: Record = {"id": new_id(), "name": params["name"], "apiStages": []}
        for member in ("description", "apiStages", "throttle", "quota", "tags"):
            if params.get(member):
                record[member] = params[member]
        self._check_plan(record)
        self.store.insert(USAGE_PLAN, _ACCOUNT, record["id"], record)
        self.changed()
        return record

    def get_plan(self, params: Params, ctx: RequestContext) -> Result:
        return self.plan(params["usagePlanId"])

    def get_plans(self, params: Params, ctx: RequestContext) -> Result:
        plans = self.store.list(USAGE_PLAN, _ACCOUNT)
        if params.get("keyId"):
            linked = {
                link["usagePlanId"]
                for link in self.store.list(PLAN_KEY, _ACCOUNT)
                if link["id"] == params["keyId"]
            }
            plans = [p for p in plans if p["id"] in linked]
        return rest_listing(plans, params)

    def update_plan(self, params: Params, ctx: RequestContext) -> Result:
        record = self.plan(params["usagePlanId"])
        plain = []
        updated = {**record}
        for operation in params.get("patchOperations") or []:
            path = operation.get("path") or ""
            op = operation.get("op")
            value = operation.get("value")
            if path == "/apiStages":
                api_id, _, stage = (value or "").partition(":")
                stages = [
                    s
                    for s in updated.get("apiStages") or []
                    if (s["apiId"], s["stage"]) != (api_id, stage)
                ]
                if op == "add":
                    stages.append({"apiId": api_id, "stage": stage})
                updated["apiStages"] = stages
            elif path.startswith(("/throttle/", "/quota/")):
                group, _, member = path[1:].partition("/")
                converters = {
                    "burstLimit": as_int,
                    "rateLimit": as_float,
                    "limit": as_int,
                    "offset": as_int,
                    "period": as_text,
                }
                if member not in converters:
                    raise BadRequestException(f"Invalid patch path {path}")
                settings = dict(updated.get(group) or {})
                if op == "remove":
                    settings.pop(member, None)
                else:
                    settings[member] = converters[member](value)
                updated[group] = settings
            else:
                plain.append(operation)
        updated = apply_patch(updated, plain, {"name": as_text, "description": as_text})
        self._check_plan(updated)
        self.store.replace(USAGE_PLAN, _ACCOUNT, record["id"], updated)
        self.changed()
        return updated

    def delete_plan(self, params: Params, ctx: RequestContext) -> Result:
        plan_id = params["usagePlanId"]
        self.plan(plan_id)
        self.store.delete(USAGE_PLAN, _ACCOUNT, plan_id)
        for link in self.store.list(PLAN_KEY, _ACCOUNT):
            if link["usagePlanId"] == plan_id:
                self.store.delete(PLAN_KEY, _ACCOUNT, f"{plan_id}/{link['id']}")
        self.changed()
        return {}

    # --- plan keys -------------------------------------------------------------------

    def create_plan_key(self, params: Params, ctx: RequestContext) -> Result:
        plan_id = params["usagePlanId"]
        self.plan(plan_id)
        if params["keyType"] != "API_KEY":
            raise BadRequestException("The key type must be API_KEY")
        key = self.key(params["keyId"])
        link: Record = {
            "id": key["id"],
            "type": "API_KEY",
            "value": key["value"],
            "name": key["name"],
            "usagePlanId": plan_id,
        }
        if not self.store.insert(PLAN_KEY, _ACCOUNT, f"{plan_id}/{key['id']}", link):
            raise ConflictException("Usage Plan Key already exists")
        self.changed()
        return link

    def get_plan_key(self, params: Params, ctx: RequestContext) -> Result:
        self.plan(params["usagePlanId"])
        found = self.store.get(PLAN_KEY, _ACCOUNT, f"{params['usagePlanId']}/{params['keyId']}")
        if found is None:
            raise NotFoundException("Invalid Usage Plan Key identifier specified")
        return found

    def get_plan_keys(self, params: Params, ctx: RequestContext) -> Result:
        self.plan(params["usagePlanId"])
        links = [
            link
            for link in self.store.list(PLAN_KEY, _ACCOUNT)
            if link["usagePlanId"] == params["usagePlanId"]
        ]
        return rest_listing(links, params)

    def delete_plan_key(self, params: Params, ctx: RequestContext) -> Result:
        key = f"{params['usagePlanId']}/{params['keyId']}"
        self.plan(params["usagePlanId"])
        if not self.store.delete(PLAN_KEY, _ACCOUNT, key):
            raise NotFoundException("Invalid Usage Plan Key identifier specified")
        self.changed()
        return {}


def _without_value(record: Record) -> Record:
    return {k: v for k, v in record.items() if k != "value"}
