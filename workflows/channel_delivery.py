"""ChannelDeliveryWorkflow: one message to one participant on SMS, WhatsApp or Messenger (workflow id
`deliver-<IM…>-<MB…>`, started from the outbox after the message committed). Its activity sends through the
provider's adapter and is retried with backoff while the provider is down or throttling (a Retry-After is
honoured), so an outage delays messages and loses none; every attempt is visible in the Temporal UI. A provider
that refuses the message for good fails its receipt at once; one that never takes it within the retry window
fails it then (Twilio's 30001)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from domain.limits import CHANNEL_RETRY_INITIAL, CHANNEL_RETRY_MAX_INTERVAL, CHANNEL_RETRY_WINDOW, CHANNEL_SEND_TIMEOUT
from workflows.contracts import ActivityName, ChannelDelivery, ChannelDeliveryFailure, ChannelDeliveryResult

# Twilio's "Queue overflow": the message could not be handed to the carrier in time.
UNDELIVERABLE_IN_WINDOW = 30001
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=CHANNEL_RETRY_INITIAL),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=CHANNEL_RETRY_MAX_INTERVAL),
)


def workflow_id(message_sid: str, participant_sid: str) -> str:
    return f"deliver-{message_sid}-{participant_sid}"


@workflow.defn(name="ChannelDelivery")
class ChannelDeliveryWorkflow:
    @workflow.run
    async def run(self, delivery: ChannelDelivery) -> ChannelDeliveryResult:
        workflow.set_current_details(f"message {delivery.message_sid} to participant {delivery.participant_sid}")
        try:
            return await workflow.execute_activity(
                ActivityName.DELIVER_CHANNEL_MESSAGE,
                delivery,
                result_type=ChannelDeliveryResult,
                start_to_close_timeout=timedelta(seconds=CHANNEL_SEND_TIMEOUT * 2),
                schedule_to_close_timeout=timedelta(seconds=CHANNEL_RETRY_WINDOW),
                retry_policy=RETRY,
            )
        except ActivityError as exc:
            reason = str(exc.cause or exc)
            return await workflow.execute_activity(
                ActivityName.FAIL_CHANNEL_DELIVERY,
                ChannelDeliveryFailure(delivery=delivery, error_code=UNDELIVERABLE_IN_WINDOW, reason=reason),
                result_type=ChannelDeliveryResult,
                start_to_close_timeout=timedelta(seconds=30),
            )
