"""OutboxSweeperWorkflow: one long-running workflow per namespace (id `parley-outbox-sweeper`) that re-drives
outbox rows whose after-commit hand-off did not happen (a crashed api process, a Temporal outage), lets go of
agents whose desktop vanished (storage/taskrouter/presence.py), then sleeps
on a durable timer. It continues as new when its history grows, so the Temporal UI's workflow list shows one
sweeper instead of a run every few seconds burying the conversations."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

from workflows.contracts import ActivityName, RedriveResult, ReleasedAgents

SWEEPER_ID = "parley-outbox-sweeper"
# A sweep every 15 s is ~5,800 a day: continue as new well before the history gets long.
SWEEPS_PER_RUN = 1000
# A sweep is a few short transactions and hand-offs. A worker that dies mid-sweep leaves its activity to time out
# before Temporal retries it elsewhere: kept short, so the rows it was re-driving wait seconds, not a minute.
SWEEP_TIMEOUT = timedelta(seconds=15)
# Sweepers recorded before the sweep also let go of vanished agents replay without it.
PATCH_RELEASE_ABSENT = "release-absent-agents"


class SweeperInput(BaseModel):
    interval_seconds: float = 15.0
    dispatched: int = 0  # carried across runs, for the Temporal UI
    failed: int = 0


@workflow.defn(name="OutboxSweeper")
class OutboxSweeperWorkflow:
    @workflow.run
    async def run(self, input: SweeperInput | None = None) -> RedriveResult:
        settings = input or SweeperInput()
        dispatched, failed = settings.dispatched, settings.failed
        for _ in range(SWEEPS_PER_RUN):
            result: RedriveResult = await workflow.execute_activity(
                ActivityName.REDRIVE_OUTBOX,
                result_type=RedriveResult,
                start_to_close_timeout=SWEEP_TIMEOUT,
            )
            dispatched += result.dispatched
            failed += result.failed
            if workflow.patched(PATCH_RELEASE_ABSENT):
                # Agents whose desktop vanished: offline, their conversations back in the queue.
                released: ReleasedAgents = await workflow.execute_activity(
                    ActivityName.RELEASE_ABSENT_AGENTS,
                    result_type=ReleasedAgents,
                    start_to_close_timeout=SWEEP_TIMEOUT,
                )
                if released.worker_sids:
                    workflow.logger.info("released absent agents %s", released.worker_sids)
            workflow.set_current_details(f"Outbox sweeper · re-drove {dispatched} row(s) · {failed} failure(s)")
            if workflow.info().is_continue_as_new_suggested():
                break
            await workflow.sleep(timedelta(seconds=settings.interval_seconds))
        workflow.continue_as_new(settings.model_copy(update={"dispatched": dispatched, "failed": failed}))
