"""Metering the calls to REST API methods that require an API key (the data plane of
usage plans; their control plane is `usage_plans.py`).

A method with `apiKeyRequired` admits a call only with an `x-api-key` header naming an
enabled key that belongs to a usage plan covering the API's stage; otherwise 403
`{"message":"Forbidden"}`. The plan's throttle is a token bucket per key (429
`{"message":"Too Many Requests"}`) and its quota a counter per key and period, DAY,
WEEK (from Monday) or MONTH in UTC (429 `{"message":"Limit Exceeded"}`).

Buckets and quota counters live in the memory of each node, as throttles do: a restart
starts a fresh period's count. Persisting counters was left for the clustered store
(it needs an atomic increment per call, which belongs with the queue leases).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from stratus.gateway.records import GatewayStore
from stratus.gateway.responses import GatewayResponse, error_response
from stratus.gateway.throttle import Bucket, bucket_for
from stratus.gateway.usage_plans import _ACCOUNT, API_KEY, PLAN_KEY, USAGE_PLAN

FORBIDDEN = error_response(403, "Forbidden", "ForbiddenException")
THROTTLED = error_response(429, "Too Many Requests", "TooManyRequestsException")
OVER_QUOTA = error_response(429, "Limit Exceeded", "LimitExceededException")


@dataclass(frozen=True)
class _Plan:
    plan_id: str
    stages: frozenset[tuple[str, str]]
    rate: float | None
    burst: int | None
    quota_limit: int | None
    quota_period: str


@dataclass(frozen=True)
class _Keys:
    #: key value -> (key id, enabled)
    by_value: dict[str, tuple[str, bool]]
    #: key id -> plans the key belongs to
    plans: dict[str, tuple[_Plan, ...]]


class Meter:
    """Admits calls to methods that require an API key."""

    def __init__(self, store: GatewayStore) -> None:
        self.store = store
        self._keys: _Keys | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], Bucket | None] = {}
        self._counts: dict[tuple[str, str, str], int] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._keys = None
            self._buckets.clear()

    def ready(self) -> bool:
        return self._keys is not None

    def load(self) -> None:
        """Read keys and plans from the store (blocking; run in a worker thread)."""
        with self._lock:
            generation = self._generation
        plans: dict[str, _Plan] = {}
        for record in self.store.list(USAGE_PLAN, _ACCOUNT):
            throttle = record.get("throttle") or {}
            quota = record.get("quota") or {}
            plans[record["id"]] = _Plan(
                plan_id=record["id"],
                stages=frozenset((s["apiId"], s["stage"]) for s in record.get("apiStages") or []),
                rate=throttle.get("rateLimit"),
                burst=throttle.get("burstLimit"),
                quota_limit=quota.get("limit"),
                quota_period=quota.get("period", "DAY"),
            )
        by_value = {
            k["value"]: (k["id"], bool(k.get("enabled")))
            for k in self.store.list(API_KEY, _ACCOUNT)
        }
        links: dict[str, list[_Plan]] = {}
        for link in self.store.list(PLAN_KEY, _ACCOUNT):
            plan = plans.get(link["usagePlanId"])
            if plan is not None:
                links.setdefault(link["id"], []).append(plan)
        keys = _Keys(by_value, {k: tuple(v) for k, v in links.items()})
        with self._lock:
            if generation == self._generation:
                self._keys = keys

    def admit(self, api_id: str, stage: str, key_value: str | None) -> GatewayResponse | None:
        """None if the call may go on, else the 403 or 429 to answer."""
        keys = self._keys
        if keys is None or not key_value:
            return FORBIDDEN
        found = keys.by_value.get(key_value)
        if found is None or not found[1]:
            return FORBIDDEN
        key_id = found[0]
        plan = next((p for p in keys.plans.get(key_id, ()) if (api_id, stage) in p.stages), None)
        if plan is None:
            return FORBIDDEN
        slot = (plan.plan_id, key_id)
        if slot not in self._buckets:
            self._buckets[slot] = bucket_for(plan.rate, plan.burst)
        bucket = self._buckets[slot]
        if bucket is not None and not bucket.take():
            return THROTTLED
        if plan.quota_limit is not None:
            counter = (plan.plan_id, key_id, _period(plan.quota_period))
            used = self._counts.get(counter, 0)
            if used >= plan.quota_limit:
                return OVER_QUOTA
            self._counts[counter] = used + 1
        return None


def _period(kind: str) -> str:
    today = dt.datetime.now(dt.UTC).date()
    if kind == "MONTH":
        return f"M{today.year}-{today.month}"
    if kind == "WEEK":
        monday = today - dt.timedelta(days=today.weekday())
        return f"W{monday.isoformat()}"
    return f"D{today.isoformat()}"
