"""One attempt at an asynchronous event, and what follows it (retry, destinations)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from stratus.errors import ResourceNotFoundException, StratusError
from stratus.functions.model import LATEST, parse_function_ref
from stratus.invoke.admission import SlotWaitExpired
from stratus.invoke.async_queue import AsyncEvent, destination_record, now_ms
from stratus.invoke.event_config import EventInvokeConfig, EventInvokeConfigs
from stratus.invoke.invoker import Invoker, InvokeResult

log = logging.getLogger(__name__)


class AsyncInvocations:
    """The dispatcher's `attempt` callback: runs an event as Lambda's async path does."""

    def __init__(self, invoker: Invoker, configs: EventInvokeConfigs) -> None:
        self.invoker = invoker
        self.configs = configs
        self.home = invoker.functions.home

    async def attempt(self, event: AsyncEvent) -> str:
        """ "done", "retry" (a function error, counted) or "later" (not counted)."""
        invoker = self.invoker
        if not invoker.functions.exists(event.function_name):
            log.warning(
                "dropping event %s: function %s is gone", event.request_id, event.function_name
            )
            return "done"
        config = self.configs.effective(event.function_name, event.qualifier)
        # Destination records name the version that was asked for: $LATEST when none was.
        arn = invoker.functions.arn(event.function_name, event.qualifier or LATEST)
        expires_at = event.accepted_at + config.max_age * 1000
        if now_ms() > expires_at:
            return await self._expired(config, event, arn)
        try:
            fn = await invoker.ready(event.function_name, event.qualifier)
        except ResourceNotFoundException:
            log.warning("dropping event %s: %s no longer exists", event.request_id, arn)
            return "done"
        except StratusError:
            return "later"
        # A provisioned instance needs no slot. Otherwise a throttled event waits for
        # one, not counted as an attempt, and expires as it would in the queue.
        instance = invoker.take_provisioned(fn)
        pooled: bool | None = None
        if instance is None:
            try:
                pooled = await invoker.admission.slot_when_free(
                    event.function_name, expires_at / 1000
                )
            except SlotWaitExpired:
                return await self._expired(config, event, arn)
        try:
            result = await invoker.run(
                fn, event.qualifier, event.payload, event.request_id, instance=instance
            )
        except StratusError as exc:
            log.info("event %s not run (%s); trying again later", event.request_id, exc)
            return "later"
        finally:
            if pooled is not None:
                invoker.admission.leave(event.function_name, pooled)
        count = event.attempts + 1
        if result.function_error is None:
            await self._destination(config.on_success, event, arn, "Success", result, count)
            return "done"
        if count > config.retries:
            await self._destination(
                config.on_failure, event, arn, "RetriesExhausted", result, count
            )
            return "done"
        return "retry"

    async def _expired(self, config: EventInvokeConfig, event: AsyncEvent, arn: str) -> str:
        """Older than MaximumEventAgeInSeconds: off to the failure destination, with the
        attempts it did get."""
        await self._destination(
            config.on_failure, event, arn, "EventAgeExceeded", None, event.attempts
        )
        return "done"

    async def _destination(
        self,
        target: str | None,
        event: AsyncEvent,
        arn: str,
        condition: str,
        result: InvokeResult | None,
        count: int = 0,
    ) -> None:
        if target is None:
            return
        response: dict[str, Any] | None = None
        if result is not None:
            response = {"statusCode": result.status, "executedVersion": result.executed_version}
            if result.function_error:
                response["functionError"] = result.function_error
        record = destination_record(
            event, arn, condition, count, response, result.payload if result else None
        )
        try:
            ref = parse_function_ref(target, home=self.home)
        except StratusError as exc:
            # Only a configuration stored before destinations were checked can name a
            # function of another region or account; Lambda could not deliver there either.
            log.warning("dropping the %s record of event %s: %s", condition, event.request_id, exc)
            return
        if self.invoker.accept_event is not None:
            await self.invoker.accept_event(str(uuid.uuid4()), ref.name, ref.qualifier, record)


__all__ = ["AsyncInvocations", "EventInvokeConfig"]
