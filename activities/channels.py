"""The channel delivery activity: send one message to one participant through its provider's adapter.

- Idempotent per message and participant: the plan is empty once the receipt has the provider's message id,
  so a retry after a crash between the provider's answer and its record is the only way a message can go twice
  (no provider Parley speaks to offers an idempotency key for sends).
- A provider that is down or throttling raises a retryable error (the workflow's retry policy backs off; a
  `Retry-After` sets the next delay); one that refuses the message for good, or a free-form reply outside the
  customer-service window, fails the receipt at once with the error's code (63016 for the window)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from channels import registry
from channels.base import (
    OutboundMessage,
    OutsideWindow,
    ProviderLimits,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
)
from core.keys import keyring
from core.media import temporary_link
from core.settings import Settings
from domain.limits import CHANNEL_MEDIA_LINK_TTL, CHANNEL_SEND_TIMEOUT
from storage.channels import service as channels
from storage.db import Database
from workflows.contracts import (
    CHANNEL_UNAVAILABLE,
    ActivityName,
    ChannelDelivery,
    ChannelDeliveryFailure,
    ChannelDeliveryResult,
)

SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"


def _sends(body: str | None, links: list[str], limits: ProviderLimits) -> list[tuple[str | None, list[str]]]:
    """One message as the provider can take it: a provider that takes fewer attachments per message than the
    message has gets several sends (the body with the first, unless it cannot carry text with an attachment:
    Messenger); all of them report to the one receipt."""
    per_send = max(limits.max_media, 1)
    chunks = [links[i : i + per_send] for i in range(0, len(links), per_send)]
    if not chunks:
        return [(body, [])]
    if body and not limits.body_with_media:
        return [(body, []), *((None, chunk) for chunk in chunks)]
    return [(body if number == 0 else None, chunk) for number, chunk in enumerate(chunks)]


class ChannelActivities:
    def __init__(self, db: Database, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.db = db
        self.settings = settings
        self.client = client or httpx.AsyncClient(timeout=CHANNEL_SEND_TIMEOUT)

    def _webhook_url(self, provider_sid: str) -> str:
        return f"{self.settings.base_url}/parley/v1/ChannelProviders/{provider_sid}/Webhook"

    @activity.defn(name=ActivityName.DELIVER_CHANNEL_MESSAGE)
    async def deliver_channel_message(self, delivery: ChannelDelivery) -> ChannelDeliveryResult:
        async with self.db.read() as q:
            try:
                plan = await channels.delivery_plan(
                    q, message_sid=delivery.message_sid, participant_sid=delivery.participant_sid
                )
            except channels.NoSender as exc:
                return await self._fail(delivery, ProviderRejected(str(exc), code=21606))
        if plan is None:
            return ChannelDeliveryResult(outcome=SKIPPED)
        adapter = registry.adapter(plan.provider_kind)
        limits = adapter.limits(plan.channel)
        if plan.outside_window(limits.customer_service_window, datetime.now(UTC)):
            return await self._fail(
                delivery,
                OutsideWindow(
                    f"the customer last wrote more than {limits.customer_service_window} ago: only a template "
                    "message may be sent"
                ),
            )
        links = [
            temporary_link(
                keyring(),
                base_url=self.settings.base_url,
                service_sid=item.chat_service_sid,
                media_sid=item.media_sid,
                ttl=CHANNEL_MEDIA_LINK_TTL,
            )
            for item in plan.media
        ]
        first_id: str | None = None
        for number, (body, chunk) in enumerate(_sends(plan.body, links, limits)):
            message = OutboundMessage(
                to_address=plan.to_address,
                from_address=plan.from_address,
                body=body,
                media_urls=chunk,
                template=plan.template if number == 0 else None,
                status_callback_url=self._webhook_url(plan.provider_sid),
                callback_data=channels.callback_data(delivery.message_sid, delivery.participant_sid),
            )
            try:
                result = await adapter.send(self.client, plan.config, message)
            except ProviderThrottled as exc:
                delay = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else None
                raise ApplicationError(str(exc), type=CHANNEL_UNAVAILABLE, next_retry_delay=delay) from exc
            except ProviderUnavailable as exc:
                raise ApplicationError(str(exc), type=CHANNEL_UNAVAILABLE) from exc
            except (ProviderRejected, OutsideWindow) as exc:
                return await self._fail(delivery, exc)
            if first_id is None:
                first_id = result.provider_message_id
                async with self.db.unit() as uow:
                    await channels.record_sent(
                        uow,
                        message_sid=delivery.message_sid,
                        participant_sid=delivery.participant_sid,
                        provider_message_id=first_id,
                    )
        attempt = activity.info().attempt
        if attempt > 1:
            activity.logger.info("message %s sent on attempt %d", delivery.message_sid, attempt)
        return ChannelDeliveryResult(outcome=SENT, provider_message_id=first_id)

    async def _fail(self, delivery: ChannelDelivery, error: ProviderRejected | OutsideWindow) -> ChannelDeliveryResult:
        activity.logger.warning("message %s not delivered: %s", delivery.message_sid, error)
        async with self.db.unit() as uow:
            await channels.record_failed(
                uow,
                message_sid=delivery.message_sid,
                participant_sid=delivery.participant_sid,
                error_code=error.code,
            )
        return ChannelDeliveryResult(outcome=FAILED, error_code=error.code)

    @activity.defn(name=ActivityName.FAIL_CHANNEL_DELIVERY)
    async def fail_channel_delivery(self, failure: ChannelDeliveryFailure) -> ChannelDeliveryResult:
        """The provider never took the message within the retry window: its receipt fails."""
        delivery = failure.delivery
        async with self.db.unit() as uow:
            await channels.record_failed(
                uow,
                message_sid=delivery.message_sid,
                participant_sid=delivery.participant_sid,
                error_code=failure.error_code,
            )
        return ChannelDeliveryResult(outcome=FAILED, error_code=failure.error_code)
