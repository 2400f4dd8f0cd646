"""Admission's arithmetic: reservations, the unreserved pool, provisioned concurrency."""

from __future__ import annotations

import asyncio
import time

import pytest

from stratus.errors import TooManyRequestsException
from stratus.invoke.admission import Admission, SlotWaitExpired


def reason(admission: Admission, name: str) -> str:
    with pytest.raises(TooManyRequestsException) as exc:
        admission.enter(name)
    return str(exc.value.fields["Reason"])


def test_provisioned_concurrency_holds_slots_of_the_unreserved_pool() -> None:
    admission = Admission(103, lambda: {"reserved": 1})
    admission.provisioned = {"warm": 2, "reserved": 1}
    # 103 - 1 reserved = 102 unreserved; "warm"'s 2 provisioned leave 100 to calls.
    for _ in range(100):
        admission.enter("other")
    assert reason(admission, "other") == "ConcurrentInvocationLimitExceeded"
    assert reason(admission, "warm") == "ConcurrentInvocationLimitExceeded"
    # The reserved function's one slot is its provisioned instance's: none is left.
    assert reason(admission, "reserved") == "ReservedFunctionConcurrentInvocationLimitExceeded"
    admission.provisioned = {}
    assert admission.enter("reserved") is False
    assert admission.enter("warm") is True  # the pool got its 2 back


def test_an_asynchronous_wait_ends_when_the_event_expires() -> None:
    admission = Admission(101, lambda: {"stopped": 0})

    async def wait() -> None:
        await admission.slot_when_free("stopped", time.time() + 0.2)

    with pytest.raises(SlotWaitExpired):
        asyncio.run(asyncio.wait_for(wait(), timeout=10))
