"""WebhookDeliveryWorkflow: one post-event callback (workflow id `webhook-<delivery id>`), started from the
outbox after the action committed. Its one activity POSTs (or GETs) the callback and is retried with backoff
until the target answers or the retry window is over, so every attempt, its error and the final outcome are
visible in the Temporal UI; the workflow id makes a re-driven outbox row start nothing twice."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from domain.limits import WEBHOOK_RETRY_INITIAL, WEBHOOK_RETRY_MAX_INTERVAL, WEBHOOK_RETRY_WINDOW
from domain.webhooks import WebhookDelivery
from workflows.contracts import WEBHOOK_REJECTED, ActivityName, WebhookResult

WORKFLOW_ID_PREFIX = "webhook-"
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=WEBHOOK_RETRY_INITIAL),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=WEBHOOK_RETRY_MAX_INTERVAL),
    non_retryable_error_types=[WEBHOOK_REJECTED],
)


def workflow_id(delivery: WebhookDelivery) -> str:
    return f"{WORKFLOW_ID_PREFIX}{delivery.delivery_id}"


@workflow.defn(name="WebhookDelivery")
class WebhookDeliveryWorkflow:
    @workflow.run
    async def run(self, delivery: WebhookDelivery) -> WebhookResult:
        workflow.set_current_details(f"{delivery.event.value} → {delivery.method.value} {delivery.url}")
        return await workflow.execute_activity(
            ActivityName.DELIVER_WEBHOOK,
            delivery,
            result_type=WebhookResult,
            # A little over the target's budget (Twilio's 5 s, 15 s for event callbacks): the HTTP client gives
            # up first and says why.
            start_to_close_timeout=timedelta(seconds=delivery.timeout * 2),
            schedule_to_close_timeout=timedelta(seconds=WEBHOOK_RETRY_WINDOW),
            retry_policy=RETRY,
        )
