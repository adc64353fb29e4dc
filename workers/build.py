"""Builds Parley's Temporal worker: the workflows, the activity classes with their dependencies, and the
outbox sweeper."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, ScheduleHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.channels import ChannelActivities
from activities.conversations import ConversationActivities
from activities.outbox import OutboxActivities
from activities.routing import RoutingActivities
from activities.webhooks import WebhookActivities
from core.outbox import OutboxDispatcher
from core.settings import Settings
from storage.db import Database
from workers.metrics import ActivityMetrics
from workflows.channel_delivery import ChannelDeliveryWorkflow
from workflows.conversation_timers import ConversationTimersWorkflow
from workflows.interaction_channel import InteractionChannelWorkflow
from workflows.outbox_sweeper import SWEEPER_ID, OutboxSweeperWorkflow, SweeperInput
from workflows.task import TaskWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow

WORKFLOWS = [
    InteractionChannelWorkflow,
    TaskWorkflow,
    OutboxSweeperWorkflow,
    WebhookDeliveryWorkflow,
    ConversationTimersWorkflow,
    ChannelDeliveryWorkflow,
]
# Pure modules (no I/O, no global state) need not be re-imported into every workflow's sandbox.
PASSTHROUGH = ("domain", "workflows.contracts", "workflows.search_attributes")
# The first slice ran the sweeper from a Schedule (a new workflow run every few seconds); it is removed.
LEGACY_SCHEDULE_ID = "parley-outbox-sweeper"


def build_worker(client: Client, db: Database, settings: Settings, *, task_queue: str | None = None) -> Worker:
    dispatcher = OutboxDispatcher(db, client, task_queue=task_queue or settings.task_queue)
    db.after_commit = dispatcher.after_commit
    routing = RoutingActivities(db, presence_grace=settings.presence_grace)
    outbox = OutboxActivities(dispatcher, older_than_seconds=settings.outbox_redrive_after)
    webhooks = WebhookActivities(db)
    conversations = ConversationActivities(db)
    channels = ChannelActivities(db, settings)
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
            routing.complete_task,
            routing.close_channel_by_policy,
            routing.release_absent_agents,
            outbox.redrive_outbox,
            webhooks.deliver_webhook,
            conversations.apply_conversation_timers,
            channels.deliver_channel_message,
            channels.fail_channel_delivery,
        ],
        interceptors=[ActivityMetrics()],
    )


async def ensure_sweeper(client: Client, *, task_queue: str, every: timedelta = timedelta(seconds=15)) -> None:
    """Start the one sweeper workflow unless it is already running (every worker process calls this)."""
    await _remove_legacy_schedule(client.get_schedule_handle(LEGACY_SCHEDULE_ID))
    await client.start_workflow(
        OutboxSweeperWorkflow.run,
        SweeperInput(interval_seconds=every.total_seconds()),
        id=SWEEPER_ID,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="Outbox sweeper: re-drives side effects whose hand-off failed",
    )


async def _remove_legacy_schedule(handle: ScheduleHandle) -> None:
    try:
        await handle.delete()
    except RPCError:
        pass  # never existed (or already gone)
