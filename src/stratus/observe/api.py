"""The CloudWatch Logs API (the `logs` model) over the log store."""

from __future__ import annotations

import base64
import binascii
import shlex
from collections.abc import Mapping
from typing import Any

from stratus.errors import (
    InvalidParameterException,
    ResourceNotFoundException,
    not_implemented,
)
from stratus.observe.logs import LogEvent, LogStore, now_ms
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

MAX_REQUEST_BYTES = 1_048_576


class LogsApi:
    """Operations of the `logs` service that Stratus implements."""

    model_name = "logs"

    def __init__(self, store: LogStore, region: str, account_id: str) -> None:
        self.store = store
        self.region = region
        self.account_id = account_id

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "CreateLogGroup": self.create_log_group,
            "CreateLogStream": self.create_log_stream,
            "DeleteLogGroup": self.delete_log_group,
            "DescribeLogGroups": self.describe_log_groups,
            "DescribeLogStreams": self.describe_log_streams,
            "GetLogEvents": self.get_log_events,
            "FilterLogEvents": self.filter_log_events,
            "PutLogEvents": self.put_log_events,
        }

    def max_request_bytes(self, operation: str) -> int:
        return MAX_REQUEST_BYTES

    def request_too_large(self, operation: str, limit: int) -> Exception:
        return InvalidParameterException(f"Request must be smaller than {limit} bytes")

    def invalid_request(self, message: str) -> Exception:
        # CloudWatch Logs answers model violations with its own name for a bad
        # parameter (InvalidParameterException: 1 validation error detected: ...).
        return InvalidParameterException(message)

    def _group_arn(self, name: str) -> str:
        return f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{name}"

    # --- groups and streams ----------------------------------------------------------

    def create_log_group(self, params: Params, ctx: RequestContext) -> Result:
        self.store.create_group(params["logGroupName"])
        return {}

    def create_log_stream(self, params: Params, ctx: RequestContext) -> Result:
        self.store.create_stream(params["logGroupName"], params["logStreamName"])
        return {}

    def delete_log_group(self, params: Params, ctx: RequestContext) -> Result:
        self.store.delete_group(params["logGroupName"])
        return {}

    def describe_log_groups(self, params: Params, ctx: RequestContext) -> Result:
        if params.get("logGroupIdentifiers") or params.get("logGroupNamePattern"):
            raise not_implemented("logs", "DescribeLogGroups with identifiers or a pattern")
        groups = self.store.groups(params.get("logGroupNamePrefix"))
        page, token = _page(
            [g.name for g in groups], params.get("nextToken"), params.get("limit", 50)
        )
        by_name = {g.name: g for g in groups}
        result: dict[str, Any] = {
            "logGroups": [
                {
                    "logGroupName": name,
                    "creationTime": by_name[name].created_at,
                    "metricFilterCount": 0,
                    "arn": self._group_arn(name) + ":*",
                    "logGroupArn": self._group_arn(name),
                    "storedBytes": 0,
                    "logGroupClass": "STANDARD",
                    **(
                        {"retentionInDays": by_name[name].retention_days}
                        if by_name[name].retention_days
                        else {}
                    ),
                }
                for name in page
            ]
        }
        if token:
            result["nextToken"] = token
        return result

    def describe_log_streams(self, params: Params, ctx: RequestContext) -> Result:
        group = params["logGroupName"]
        streams = self.store.streams(group, params.get("logStreamNamePrefix"))
        if params.get("orderBy") == "LastEventTime":
            streams.sort(key=lambda s: (s.last_event_at or 0, s.name))
        else:
            streams.sort(key=lambda s: s.name)
        if params.get("descending"):
            streams.reverse()
        names = [s.name for s in streams]
        page, token = _page(names, params.get("nextToken"), params.get("limit", 50))
        by_name = {s.name: s for s in streams}
        out = []
        for name in page:
            s = by_name[name]
            item: dict[str, Any] = {
                "logStreamName": s.name,
                "creationTime": s.created_at,
                "arn": f"{self._group_arn(group)}:log-stream:{s.name}",
                "storedBytes": 0,
            }
            if s.first_event_at is not None:
                item["firstEventTimestamp"] = s.first_event_at
            if s.last_event_at is not None:
                item["lastEventTimestamp"] = s.last_event_at
            if s.last_ingestion_at is not None:
                item["lastIngestionTime"] = s.last_ingestion_at
            out.append(item)
        result: dict[str, Any] = {"logStreams": out}
        if token:
            result["nextToken"] = token
        return result

    # --- events ----------------------------------------------------------------------

    def put_log_events(self, params: Params, ctx: RequestContext) -> Result:
        group, stream = params["logGroupName"], params["logStreamName"]
        self.store.require_group(group)
        if stream not in {s.name for s in self.store.streams(group, stream)}:
            raise ResourceNotFoundException("The specified log stream does not exist.")
        events = sorted(params["logEvents"], key=lambda e: e["timestamp"])
        self.store.append(group, stream, [(e["timestamp"], e["message"]) for e in events])
        return {"nextSequenceToken": str(now_ms())}

    def get_log_events(self, params: Params, ctx: RequestContext) -> Result:
        group, stream = params["logGroupName"], params["logStreamName"]
        limit = params.get("limit", 10000)
        token = params.get("nextToken")
        after = before = None
        newest_first = not params.get("startFromHead")
        if token:
            direction, anchor = _parse_event_token(token)
            after, before = (anchor, None) if direction == "f" else (None, anchor)
            newest_first = direction == "b"
        events = self.store.events(
            group,
            [stream],
            start_time=params.get("startTime"),
            end_time=params.get("endTime"),
            after_id=after,
            before_id=before,
            limit=limit,
            newest_first=newest_first,
        )
        if newest_first:
            events.reverse()
        if events:
            forward, backward = f"f/{events[-1].id:056d}", f"b/{events[0].id:056d}"
        else:
            forward = backward = token or f"f/{0:056d}"
            if token and token.startswith("b/"):
                forward = f"f/{0:056d}"
        return {
            "events": [
                {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time}
                for e in events
            ],
            "nextForwardToken": forward,
            "nextBackwardToken": backward,
        }

    def filter_log_events(self, params: Params, ctx: RequestContext) -> Result:
        group = params["logGroupName"]
        limit = params.get("limit", 10000)
        token = params.get("nextToken")
        after = None
        if token:
            try:
                after = int(token)
            except ValueError as exc:
                raise InvalidParameterException(f"Invalid nextToken: {token}") from exc
        matcher = _pattern(params.get("filterPattern") or "")
        found: list[LogEvent] = []
        cursor = after
        while len(found) < limit:
            chunk = self.store.events(
                group,
                params.get("logStreamNames"),
                params.get("logStreamNamePrefix"),
                params.get("startTime"),
                params.get("endTime"),
                after_id=cursor,
                limit=limit,
            )
            found.extend(e for e in chunk if matcher(e.message))
            if len(chunk) < limit:
                cursor = None
                break
            cursor = chunk[-1].id
        found = found[:limit]
        result: dict[str, Any] = {
            "events": [
                {
                    "logStreamName": e.log_stream,
                    "timestamp": e.timestamp,
                    "message": e.message,
                    "ingestionTime": e.ingestion_time,
                    "eventId": str(e.id),
                }
                for e in found
            ],
            "searchedLogStreams": [],
        }
        if cursor is not None and found:
            result["nextToken"] = str(found[-1].id)
        return result


def _page(names: list[str], token: str | None, limit: int) -> tuple[list[str], str | None]:
    start = 0
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise InvalidParameterException(f"Invalid nextToken: {token}") from exc
        start = next((i for i, n in enumerate(names) if n > after), len(names))
    page = names[start : start + limit]
    more = start + limit < len(names)
    return page, (base64.urlsafe_b64encode(page[-1].encode()).decode() if more and page else None)


def _parse_event_token(token: str) -> tuple[str, int]:
    try:
        direction, number = token.split("/", 1)
        if direction not in ("f", "b"):
            raise ValueError(direction)
        return direction, int(number)
    except ValueError as exc:
        raise InvalidParameterException(f"The specified nextToken is invalid: {token}") from exc


def _pattern(pattern: str) -> Any:
    """A matcher for CloudWatch's plain-text filter patterns: every term must appear.

    Quoted phrases match as a whole; `?term` terms match if any of them appears.
    JSON and space-delimited field patterns are refused with a clear error."""
    pattern = pattern.strip()
    if not pattern:
        return lambda message: True
    if pattern.startswith("{") or pattern.startswith("["):
        raise InvalidParameterException(
            'Stratus supports plain-text filter patterns only (terms, "phrases", ?alternatives)'
        )
    try:
        terms = shlex.split(pattern)
    except ValueError as exc:
        raise InvalidParameterException(f"Invalid filter pattern: {pattern}") from exc
    required = [t for t in terms if not t.startswith("?")]
    optional = [t[1:] for t in terms if t.startswith("?")]

    def matches(message: str) -> bool:
        if not all(t in message for t in required):
            return False
        return not optional or any(t in message for t in optional)

    return matches
