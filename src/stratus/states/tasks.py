"""The task runner of this node: what Task states' resources do.

Supported resources: a Stratus function by ARN (the legacy form: the state's input is the
event, the function's result is the task result) and the optimized Lambda integration
``arn:aws:states:::lambda:invoke`` (FunctionName, Payload, Qualifier, InvocationType;
the result is Lambda's response envelope). Anything else is refused when the state
machine is created, naming the resource.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from stratus.errors import AccessDeniedException, ExecutionAlreadyExists, StratusError
from stratus.functions.model import parse_function_ref
from stratus.invoke.invoker import Invoker
from stratus.states.activities import Activities, task_input
from stratus.states.asl.errors import RUNTIME, StatesError
from stratus.states.asl.runtime import TaskCall
from stratus.states.asl.task import NESTED
from stratus.states.callbacks import Callbacks
from stratus.states.standard import ExecutionRecord, StandardExecutions

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_CALLBACK = LAMBDA_INVOKE + ".waitForTaskToken"
NESTED_FORMS = (NESTED, NESTED + ".sync", NESTED + ".sync:2")
_ACTIVITY_ARN = re.compile(r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:[^:]+$")
_FUNCTION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[^:]+(:[^:]+)?$")
#: A task result's limit, as for every payload of an execution.
MAX_RESULT_BYTES = 256 * 1024


class NodeTasks:
    """Runs Task states on this node's function engine."""

    def __init__(self, invoker: Invoker, callbacks: Callbacks, activities: Activities) -> None:
        self.invoker = invoker
        self.callbacks = callbacks
        self.activities = activities
        #: A task naming a function of another region or account fails as Lambda's
        #: answer to the state machine's call would make it fail.
        self.home = invoker.functions.home
        #: Set once the Standard executions exist (they run tasks with this runner).
        self.standard: StandardExecutions | None = None

    def supports(self, resource: str) -> bool:
        return (
            resource in (LAMBDA_INVOKE, LAMBDA_CALLBACK, *NESTED_FORMS)
            or _FUNCTION_ARN.match(resource) is not None
            or _ACTIVITY_ARN.match(resource) is not None
        )

    def settled(self, call: TaskCall) -> None:
        if call.task_token is not None:
            self.callbacks.settled(call.task_token)

    async def run(self, call: TaskCall) -> Any:
        if call.resource == LAMBDA_INVOKE:
            return await self._lambda_invoke(call)
        if call.resource == LAMBDA_CALLBACK:
            return await self._lambda_callback(call)
        if _ACTIVITY_ARN.match(call.resource):
            return await self._activity(call)
        if call.resource in NESTED_FORMS:
            return await self._nested(call)
        if _FUNCTION_ARN.match(call.resource):
            payload, _, _ = await self._invoke(
                call.resource, None, call.parameters, "RequestResponse"
            )
            return _result(payload, call.state_name)
        raise StatesError(RUNTIME, f"Stratus cannot run the resource {call.resource}")

    async def _nested(self, call: TaskCall) -> Any:
        """Start a Standard execution; with `.sync`/`.sync:2`, wait for its end."""
        standard = self.standard
        assert standard is not None and call.task_token is not None
        parameters = call.parameters if isinstance(call.parameters, Mapping) else {}
        machine = parameters.get("StateMachineArn")
        if not isinstance(machine, str):
            raise StatesError(
                RUNTIME, "The field 'StateMachineArn' is required by states:startExecution"
            )
        child_input = parameters.get("Input", {})
        text = child_input if isinstance(child_input, str) else json.dumps(child_input)
        # A name from the task's key: after a restart the same child is found again.
        name = parameters.get("Name") or hashlib.sha256(call.task_token.encode()).hexdigest()[:40]
        try:
            record = await standard.start_execution(machine, str(name), text)
        except ExecutionAlreadyExists:
            arn = machine.replace(":stateMachine:", ":execution:", 1) + f":{name}"
            record = await standard.describe(arn)
        except StratusError as e:
            raise StatesError(f"StepFunctions.{e.code}", e.message) from None
        if call.resource == NESTED_FORMS[0]:
            return {"ExecutionArn": record.arn, "StartDate": _epoch_ms(record.started)}
        ended = await standard.wait_for_end(record.arn)
        parsed = call.resource.endswith(":2")
        described = _nested_description(ended, parsed)
        if ended.status != "SUCCEEDED":
            raise StatesError("States.TaskFailed", json.dumps(described))
        return described

    async def _activity(self, call: TaskCall) -> Any:
        """Queue the task for the activity's workers; wait for its token's answer."""
        token = call.task_token
        assert token is not None
        if not self.activities.exists(call.resource):
            raise StatesError("States.Runtime", f"Activity Does Not Exist: '{call.resource}'")
        waiter = self.callbacks.register(token, call.heartbeat_seconds)
        self.activities.offer(call.resource, token, task_input(call.parameters))
        try:
            return await self.callbacks.answer(token, waiter)
        finally:
            self.activities.withdraw(call.resource, token)

    async def _lambda_callback(self, call: TaskCall) -> Any:
        """Invoke the function (its result is ignored), then wait for the task token."""
        token = call.task_token
        assert token is not None
        # Listening before the call: the function may answer before it returns.
        waiter = self.callbacks.register(token, call.heartbeat_seconds)
        try:
            await self._lambda_invoke(call)
        except BaseException:
            self.callbacks.settled(token)
            raise
        return await self.callbacks.answer(token, waiter)

    async def _lambda_invoke(self, call: TaskCall) -> Any:
        parameters = call.parameters
        if not isinstance(parameters, Mapping) or not isinstance(
            parameters.get("FunctionName"), str
        ):
            raise StatesError(
                RUNTIME,
                "The field 'FunctionName' is required by the lambda:invoke integration "
                "and must be a string",
            )
        invocation_type = str(parameters.get("InvocationType", "RequestResponse"))
        payload, version, status = await self._invoke(
            parameters["FunctionName"],
            parameters.get("Qualifier"),
            parameters.get("Payload", {}),
            invocation_type,
        )
        request_id = str(uuid.uuid4())
        headers = {
            "Connection": "keep-alive",
            "Content-Type": "application/json",
            "X-Amz-Executed-Version": version,
            "x-amzn-Remapped-Content-Length": "0",
            "x-amzn-RequestId": request_id,
        }
        return {
            "ExecutedVersion": version,
            "Payload": _result(payload, call.state_name) if payload else "",
            "SdkHttpMetadata": {
                "AllHttpHeaders": {k: [v] for k, v in headers.items()},
                "HttpHeaders": headers,
                "HttpStatusCode": status,
            },
            "SdkResponseMetadata": {"RequestId": request_id},
            "StatusCode": status,
        }

    async def _invoke(
        self, function: str, qualifier: Any, event: Any, invocation_type: str
    ) -> tuple[bytes, str, int]:
        """(payload, executed version, status); a function error is a StatesError."""
        try:
            ref = parse_function_ref(
                function, qualifier if isinstance(qualifier, str) else None, home=self.home
            )
            result = await self.invoker.invoke(
                ref.name,
                ref.qualifier,
                json.dumps(event, separators=(",", ":")).encode(),
                invocation_type,
            )
        except StratusError as e:
            raise StatesError(_lambda_error(e), e.message) from None
        if result.function_error:
            raise _function_error(result.payload, result.function_error)
        return result.payload, result.executed_version, result.status


def _lambda_error(error: StratusError) -> str:
    """The error name Step Functions gives a failed call to Lambda: `Lambda.` and the
    exception's name in AWS's Java SDK, which has none of its own for AccessDenied."""
    if isinstance(error, AccessDeniedException):
        return "Lambda.AWSLambdaException"
    return f"Lambda.{error.code}"


def _epoch_ms(seconds: float) -> int:
    return round(seconds * 1000)


def _nested_description(record: ExecutionRecord, parsed: bool) -> dict[str, Any]:
    """What a `.sync` task returns: the child as DescribeExecution shows it (PascalCase,
    milliseconds); `.sync:2` parses its input and output."""

    def data(text: str | None) -> Any:
        if text is None or not parsed:
            return text
        return json.loads(text)

    described: dict[str, Any] = {
        "ExecutionArn": record.arn,
        "StateMachineArn": record.machine_arn,
        "Name": record.name,
        "Status": record.status,
        "StartDate": _epoch_ms(record.started),
        "Input": data(record.input),
        "InputDetails": {"Included": True},
    }
    if record.stopped is not None:
        described["StopDate"] = _epoch_ms(record.stopped)
    if record.output is not None:
        described["Output"] = data(record.output)
        described["OutputDetails"] = {"Included": True}
    if record.error is not None:
        described["Error"] = record.error
    if record.cause is not None:
        described["Cause"] = record.cause
    return described


def _function_error(payload: bytes, kind: str) -> StatesError:
    """The task error for a function's error document: its errorType, the whole document
    as the cause (what Step Functions reports)."""
    text = payload.decode(errors="replace")
    error = "Lambda.Unknown"
    try:
        document = json.loads(text)
        if isinstance(document, dict) and isinstance(document.get("errorType"), str):
            error = document["errorType"]
    except ValueError:
        pass
    return StatesError(error, text)


def _result(payload: bytes, state: str) -> Any:
    if len(payload) > MAX_RESULT_BYTES:
        raise StatesError(
            "States.DataLimitExceeded",
            f"The state/task '{state}' returned a result with a size exceeding the maximum "
            "number of bytes service limit.",
        )
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        raise StatesError(
            "Lambda.Unknown", f"The function returned a result that is not JSON: {payload[:200]!r}"
        ) from None
