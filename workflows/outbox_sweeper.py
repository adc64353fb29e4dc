"""OutboxSweeperWorkflow: started every few seconds by a Temporal Schedule; re-drives outbox rows whose
after-commit hand-off did not happen (a crashed api process, a Temporal outage)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.contracts import ActivityName, RedriveResult

SCHEDULE_ID = "parley-outbox-sweeper"


@workflow.defn(name="OutboxSweeper")
class OutboxSweeperWorkflow:
    @workflow.run
    async def run(self) -> RedriveResult:
        result: RedriveResult = await workflow.execute_activity(
            ActivityName.REDRIVE_OUTBOX,
            result_type=RedriveResult,
            start_to_close_timeout=timedelta(seconds=60),
        )
        return result
