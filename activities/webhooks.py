"""The webhook delivery activity: sign and send one post-event callback (core/webhooks.py). A target that does
not answer, or answers 408/429/5xx, is retried by the workflow's retry policy (a Retry-After is honoured); a
4xx it means for good fails the delivery at once."""

from __future__ import annotations

from datetime import timedelta

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core import webhooks
from domain.webhooks import WebhookDelivery
from storage.accounts import service as accounts
from storage.db import Database
from workflows.contracts import WEBHOOK_REJECTED, ActivityName, WebhookResult


class WebhookActivities:
    def __init__(self, db: Database, client: httpx.AsyncClient | None = None) -> None:
        self.db = db
        self.client = client or webhooks.new_client()

    @activity.defn(name=ActivityName.DELIVER_WEBHOOK)
    async def deliver_webhook(self, delivery: WebhookDelivery) -> WebhookResult:
        async with self.db.read() as q:
            token = await accounts.auth_token(q, delivery.account_sid)
        answer = await webhooks.call(
            self.client,
            delivery.url,
            delivery.method,
            delivery.params,
            auth_token=token,
            idempotency_token=delivery.delivery_id,
            budget=delivery.timeout,
        )
        attempt = activity.info().attempt
        if answer.outcome is webhooks.Outcome.DELIVERED:
            if attempt > 1:
                activity.logger.info("webhook %s delivered on attempt %d", delivery.delivery_id, attempt)
            return WebhookResult(status_code=answer.status_code, elapsed_ms=answer.elapsed_ms)
        message = f"{delivery.event.value} to {delivery.url}: {answer.error} (attempt {attempt})"
        if answer.outcome is webhooks.Outcome.REJECTED:
            raise ApplicationError(message, type=WEBHOOK_REJECTED, non_retryable=True)
        delay = timedelta(seconds=answer.retry_after) if answer.retry_after is not None else None
        raise ApplicationError(message, type="WebhookUnanswered", next_retry_delay=delay)
