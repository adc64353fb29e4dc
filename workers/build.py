"""Builds Parley's Temporal worker: the workflows, the activity classes with their dependencies, and the
outbox sweeper schedule."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.outbox import OutboxActivities
from activities.routing import RoutingActivities
from core.outbox import OutboxDispatcher
from core.settings import Settings
from storage.db import Database
from workflows.interaction_channel import InteractionChannelWorkflow
from workflows.outbox_sweeper import SCHEDULE_ID, OutboxSweeperWorkflow
from workflows.task import TaskWorkflow

WORKFLOWS = [InteractionChannelWorkflow, TaskWorkflow, OutboxSweeperWorkflow]
# Pure modules (no I/O, no global state) need not be re-imported into every workflow's sandbox.
PASSTHROUGH = ("domain", "workflows.contracts", "workflows.search_attributes")


def build_worker(client: Client, db: Database, settings: Settings, *, task_queue: str | None = None) -> Worker:
    dispatcher = OutboxDispatcher(db, client, task_queue=task_queue or settings.task_queue)
    db.after_commit = dispatcher.after_commit
    routing = RoutingActivities(db)
    outbox = OutboxActivities(dispatcher, older_than_seconds=settings.outbox_redrive_after)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
        ),
        activities=[
            routing.plan_task_routing,
            routing.enter_routing_step,
            routing.timeout_reservation,
            routing.cancel_task,
            routing.create_channel_task,
            routing.set_channel_status,
            outbox.redrive_outbox,
        ],
    )


async def ensure_sweeper_schedule(client: Client, *, task_queue: str, every: timedelta = timedelta(seconds=15)) -> None:
    try:
        await client.create_schedule(
            SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    OutboxSweeperWorkflow.run, id=f"{SCHEDULE_ID}-run", task_queue=task_queue
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
    except ScheduleAlreadyRunningError:
        pass
