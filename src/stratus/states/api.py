"""The Step Functions API (the `stepfunctions` model, JSON 1.0) over the states service.

Operations not listed in `operations` answer NotImplementedException naming themselves
(the wire layer does that for every operation of the model a service leaves out).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from stratus.errors import (
    InvalidArn,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidOutput,
    ValidationException,
    not_implemented,
)
from stratus.states.activities import Activities
from stratus.states.asl.errors import DefinitionError
from stratus.states.asl.validate import validate
from stratus.states.callbacks import Callbacks
from stratus.states.express import ExpressExecutions, ExpressOutcome
from stratus.states.machines import EXPRESS, STANDARD, Machine, MachineService
from stratus.states.paging import page_token, token_index
from stratus.states.standard import ExecutionRecord, StandardExecutions
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

#: CreateStateMachine takes definitions up to 1 MiB; requests carry a little more.
MAX_REQUEST_BYTES = 2 * 1024 * 1024


class StepFunctionsApi:
    """Operations of the `stepfunctions` service that Stratus implements."""

    model_name = "stepfunctions"

    def __init__(
        self,
        machines: MachineService,
        express: ExpressExecutions,
        standard: StandardExecutions,
        callbacks: Callbacks,
        activities: Activities,
    ) -> None:
        self.activities = activities
        self.machines = machines
        self.express = express
        self.standard = standard
        self.callbacks = callbacks

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "CreateStateMachine": self.create_state_machine,
            "DescribeStateMachine": self.describe_state_machine,
            "UpdateStateMachine": self.update_state_machine,
            "DeleteStateMachine": self.delete_state_machine,
            "ListStateMachines": self.list_state_machines,
            "ValidateStateMachineDefinition": self.validate_state_machine_definition,
            "StartSyncExecution": self.start_sync_execution,
            "StartExecution": self.start_execution,
            "DescribeExecution": self.describe_execution,
            "StopExecution": self.stop_execution,
            "RedriveExecution": self.redrive_execution,
            "ListExecutions": self.list_executions,
            "GetExecutionHistory": self.get_execution_history,
            "CreateActivity": self.create_activity,
            "DescribeActivity": self.describe_activity,
            "ListActivities": self.list_activities,
            "DeleteActivity": self.delete_activity,
            "GetActivityTask": self.get_activity_task,
            "SendTaskSuccess": self.send_task_success,
            "SendTaskFailure": self.send_task_failure,
            "SendTaskHeartbeat": self.send_task_heartbeat,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    def max_request_bytes(self, operation: str) -> int:
        return MAX_REQUEST_BYTES

    def request_too_large(self, operation: str, limit: int) -> Exception:
        if operation in ("StartExecution", "StartSyncExecution"):
            return InvalidExecutionInput(
                "Invalid State Machine Execution Input: 'The input is too large'"
            )
        return InvalidDefinition(f"Invalid State Machine Definition: 'larger than {limit} bytes'")

    def invalid_request(self, message: str) -> Exception:
        return ValidationException(message)

    # --- state machines --------------------------------------------------------------

    def create_state_machine(self, params: Params, ctx: RequestContext) -> Result:
        kind = params.get("type", STANDARD)
        if params.get("publish") or params.get("versionDescription"):
            raise not_implemented("stepfunctions", "CreateStateMachine with publish (versions)")
        machine = self.machines.create(
            params["name"],
            params["definition"],
            params["roleArn"],
            kind,
            logging=params.get("loggingConfiguration"),
            tracing=params.get("tracingConfiguration"),
            tags={t["key"]: t.get("value", "") for t in params.get("tags", [])},
        )
        return {
            "stateMachineArn": machine.record.arn,
            "creationDate": machine.record.created_at,
        }

    def describe_state_machine(self, params: Params, ctx: RequestContext) -> Result:
        return describe(self.machines.get(params["stateMachineArn"]))

    def update_state_machine(self, params: Params, ctx: RequestContext) -> Result:
        if not any(
            key in params
            for key in ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration")
        ):
            raise ValidationException(
                "Either the definition, the role ARN, the LoggingConfiguration, or the "
                "TracingConfiguration must be specified"
            )
        machine = self.machines.update(
            params["stateMachineArn"],
            definition=params.get("definition"),
            role_arn=params.get("roleArn"),
            logging=params.get("loggingConfiguration"),
            tracing=params.get("tracingConfiguration"),
        )
        return {"updateDate": machine.record.updated_at, "revisionId": machine.record.revision_id}

    def delete_state_machine(self, params: Params, ctx: RequestContext) -> Result:
        self.machines.delete(params["stateMachineArn"])
        return {}

    def list_state_machines(self, params: Params, ctx: RequestContext) -> Result:
        machines = self.machines.all()
        start = token_index(params.get("nextToken"))
        size = params.get("maxResults") or 100
        page = machines[start : start + size]
        result: dict[str, Any] = {
            "stateMachines": [
                {
                    "stateMachineArn": m.record.arn,
                    "name": m.record.name,
                    "type": m.record.type,
                    "creationDate": m.record.created_at,
                }
                for m in page
            ]
        }
        if start + size < len(machines):
            result["nextToken"] = page_token(start + size)
        return result

    def validate_state_machine_definition(self, params: Params, ctx: RequestContext) -> Result:
        try:
            diagnostics = validate(params["definition"])
        except DefinitionError as e:
            diagnostics = e.diagnostics
        if params.get("severity") == "ERROR":
            diagnostics = [d for d in diagnostics if d.severity == "ERROR"]
        limit = params.get("maxResults") or 100
        shown = diagnostics[:limit]
        failed = any(d.severity == "ERROR" for d in diagnostics)
        result: dict[str, Any] = {
            "result": "FAIL" if failed else "OK",
            "diagnostics": [
                {
                    "severity": d.severity,
                    "code": d.code,
                    "message": d.message,
                    **({"location": d.location} if d.location else {}),
                }
                for d in shown
            ],
            "truncated": len(diagnostics) > len(shown),
        }
        return result

    # --- executions ------------------------------------------------------------------

    async def start_sync_execution(self, params: Params, ctx: RequestContext) -> Result:
        outcome = await self.express.run(
            params["stateMachineArn"], params.get("name"), params.get("input")
        )
        return sync_response(outcome, params.get("includedData") != "METADATA_ONLY")

    async def start_execution(self, params: Params, ctx: RequestContext) -> Result:
        machine = self.machines.get(params["stateMachineArn"])
        if machine.record.type == EXPRESS:
            arn, started = self.express.start(
                params["stateMachineArn"], params.get("name"), params.get("input")
            )
            return {"executionArn": arn, "startDate": started}
        record = await self.standard.start_execution(
            params["stateMachineArn"], params.get("name"), params.get("input")
        )
        return {"executionArn": record.arn, "startDate": record.started}

    async def describe_execution(self, params: Params, ctx: RequestContext) -> Result:
        record = await self.standard.describe(params["executionArn"])
        return describe_execution(record, params.get("includedData") != "METADATA_ONLY")

    async def stop_execution(self, params: Params, ctx: RequestContext) -> Result:
        stopped = await self.standard.stop(
            params["executionArn"], params.get("error"), params.get("cause")
        )
        return {"stopDate": stopped}

    async def redrive_execution(self, params: Params, ctx: RequestContext) -> Result:
        return {"redriveDate": await self.standard.redrive(params["executionArn"])}

    async def list_executions(self, params: Params, ctx: RequestContext) -> Result:
        if "mapRunArn" in params:
            raise not_implemented("stepfunctions", "ListExecutions of a map run")
        if "stateMachineArn" not in params:
            raise ValidationException("Must provide a StateMachine ARN or MapRun ARN")
        records, token = await self.standard.listing(
            params["stateMachineArn"],
            params.get("statusFilter"),
            params.get("maxResults"),
            params.get("nextToken"),
        )
        result: dict[str, Any] = {
            "executions": [
                {
                    "executionArn": r.arn,
                    "stateMachineArn": r.machine_arn,
                    "name": r.name,
                    "status": r.status,
                    "startDate": r.started,
                    **({"stopDate": r.stopped} if r.stopped is not None else {}),
                }
                for r in records
            ]
        }
        if token:
            result["nextToken"] = token
        return result

    async def get_execution_history(self, params: Params, ctx: RequestContext) -> Result:
        events, token = await self.standard.history(
            params["executionArn"],
            params.get("maxResults"),
            bool(params.get("reverseOrder", False)),
            params.get("nextToken"),
            params.get("includeExecutionData", True),
        )
        result: dict[str, Any] = {"events": events}
        if token:
            result["nextToken"] = token
        return result

    # --- activities -------------------------------------------------------------------

    def create_activity(self, params: Params, ctx: RequestContext) -> Result:
        tags = {t["key"]: t.get("value", "") for t in params.get("tags", [])}
        activity = self.activities.create(params["name"], tags)
        return {"activityArn": activity.arn, "creationDate": activity.created_at}

    def describe_activity(self, params: Params, ctx: RequestContext) -> Result:
        activity = self.activities.get(params["activityArn"])
        return {
            "activityArn": activity.arn,
            "name": activity.name,
            "creationDate": activity.created_at,
        }

    def list_activities(self, params: Params, ctx: RequestContext) -> Result:
        listed = self.activities.all()
        start = token_index(params.get("nextToken"))
        size = params.get("maxResults") or 100
        result: dict[str, Any] = {
            "activities": [
                {"activityArn": a.arn, "name": a.name, "creationDate": a.created_at}
                for a in listed[start : start + size]
            ]
        }
        if start + size < len(listed):
            result["nextToken"] = page_token(start + size)
        return result

    def delete_activity(self, params: Params, ctx: RequestContext) -> Result:
        self.activities.delete(params["activityArn"])
        return {}

    async def get_activity_task(self, params: Params, ctx: RequestContext) -> Result:
        task = await self.activities.poll(params["activityArn"])
        if task is None:
            return {}
        token, task_input = task
        return {"taskToken": token, "input": task_input}

    # --- callbacks --------------------------------------------------------------------

    async def send_task_success(self, params: Params, ctx: RequestContext) -> Result:
        try:
            output = json.loads(params["output"])
        except ValueError as e:
            raise InvalidOutput(f"Invalid Output: '{e}'") from None
        await self.callbacks.succeed(params["taskToken"], output)
        return {}

    async def send_task_failure(self, params: Params, ctx: RequestContext) -> Result:
        await self.callbacks.fail(
            params["taskToken"], params.get("error", ""), params.get("cause", "")
        )
        return {}

    async def send_task_heartbeat(self, params: Params, ctx: RequestContext) -> Result:
        self.callbacks.heartbeat(params["taskToken"])
        return {}

    # --- tags ------------------------------------------------------------------------

    def tag_resource(self, params: Params, ctx: RequestContext) -> Result:
        arn = _machine_arn(params["resourceArn"])
        tags = {t["key"]: t.get("value", "") for t in params["tags"]}
        self.machines.set_tags(arn, tags, [])
        return {}

    def untag_resource(self, params: Params, ctx: RequestContext) -> Result:
        self.machines.set_tags(_machine_arn(params["resourceArn"]), {}, list(params["tagKeys"]))
        return {}

    def list_tags_for_resource(self, params: Params, ctx: RequestContext) -> Result:
        machine = self.machines.get(_machine_arn(params["resourceArn"]))
        return {"tags": [{"key": k, "value": v} for k, v in machine.record.tags.items()]}


def describe(machine: Machine) -> dict[str, Any]:
    """DescribeStateMachine's answer."""
    record = machine.record
    result: dict[str, Any] = {
        "stateMachineArn": record.arn,
        "name": record.name,
        "status": "ACTIVE",
        "definition": machine.definition,
        "roleArn": record.role_arn,
        "type": record.type,
        "creationDate": record.created_at,
        "loggingConfiguration": dict(record.logging),
        "tracingConfiguration": dict(record.tracing),
        "revisionId": record.revision_id,
    }
    if record.description:
        result["description"] = record.description
    return result


def describe_execution(record: ExecutionRecord, include_data: bool = True) -> dict[str, Any]:
    """DescribeExecution's answer."""
    result: dict[str, Any] = {
        "executionArn": record.arn,
        "stateMachineArn": record.machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": record.started,
        "redriveCount": record.redrive_count,
    }
    status, reason = record.redrive_status()
    result["redriveStatus"] = status
    if reason is not None:
        result["redriveStatusReason"] = reason
    if record.redriven is not None:
        result["redriveDate"] = record.redriven
    if record.stopped is not None:
        result["stopDate"] = record.stopped
    _ending(result, include_data, record.input, record.output, record.error, record.cause)
    return result


def sync_response(outcome: ExpressOutcome, include_data: bool = True) -> dict[str, Any]:
    """StartSyncExecution's answer: HTTP 200 whatever the execution's status."""
    result = outcome.result
    response: dict[str, Any] = {
        "executionArn": outcome.execution_arn,
        "stateMachineArn": outcome.machine_arn,
        "name": outcome.name,
        "startDate": outcome.started,
        "stopDate": outcome.stopped,
        "status": result.status,
        "billingDetails": {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": max(
                100, round((outcome.stopped - outcome.started) * 1000)
            ),
        },
    }
    _ending(response, include_data, outcome.input, result.output, result.error, result.cause)
    return response


def _ending(
    into: dict[str, Any],
    include_data: bool,
    given: str,
    output: str | None,
    error: str | None,
    cause: str | None,
) -> None:
    """The members DescribeExecution and StartSyncExecution share: input and output
    (unless only metadata was asked for), error and cause."""
    if include_data:
        into["input"] = given
        into["inputDetails"] = {"included": True}
        if output is not None:
            into["output"] = output
            into["outputDetails"] = {"included": True}
    if error is not None:
        into["error"] = error
    if cause is not None:
        into["cause"] = cause


def _machine_arn(arn: str) -> str:
    if ":stateMachine:" not in arn:
        raise InvalidArn(f"Invalid Arn: 'Resource type not valid in this context: {arn}'")
    return arn
