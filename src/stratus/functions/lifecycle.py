"""A function's state as Lambda reports it: the fields an update sets while it is
`InProgress`, and those that close it, or a new function's `Pending` state, once its
code is prepared."""

from __future__ import annotations

from typing import Any

from stratus.functions.model import FunctionVersion, lambda_timestamp, new_revision_id


def _in_progress() -> dict[str, Any]:
    # Lambda's words for any update in progress, recorded in its answers to
    # UpdateFunctionCode and UpdateFunctionConfiguration: "created", code "Creating".
    return {
        "last_update_status": "InProgress",
        "last_update_status_reason": "The function is being created.",
        "last_update_status_reason_code": "Creating",
        "revision_id": new_revision_id(),
        "last_modified": lambda_timestamp(),
    }


def _settled(fn: FunctionVersion, failure: str | None) -> dict[str, Any]:
    """The fields that close a Pending state or an InProgress update."""
    changes: dict[str, Any] = {"revision_id": new_revision_id()}
    if fn.state == "Pending":
        changes.update(
            state="Failed" if failure else "Active",
            state_reason=failure,
            state_reason_code="InvalidConfiguration" if failure else None,
        )
    if fn.last_update_status == "InProgress":
        changes.update(
            last_update_status="Failed" if failure else "Successful",
            last_update_status_reason=failure,
            last_update_status_reason_code="InvalidConfiguration" if failure else None,
        )
    if not failure and fn.state == "Failed":
        changes.update(state="Active", state_reason=None, state_reason_code=None)
    return changes
