"""The sweeper's activity: re-drive outbox rows older than the configured grace period."""

from __future__ import annotations

from temporalio import activity

from core.outbox import OutboxDispatcher
from workflows.contracts import ActivityName, RedriveResult


class OutboxActivities:
    def __init__(self, dispatcher: OutboxDispatcher, *, older_than_seconds: float) -> None:
        self.dispatcher = dispatcher
        self.older_than_seconds = older_than_seconds

    @activity.defn(name=ActivityName.REDRIVE_OUTBOX)
    async def redrive_outbox(self) -> RedriveResult:
        sent, failed = await self.dispatcher.redrive(self.older_than_seconds)
        if sent or failed:
            activity.logger.info("outbox sweeper re-drove %d row(s), %d failed", sent, failed)
        return RedriveResult(dispatched=sent, failed=failed)
