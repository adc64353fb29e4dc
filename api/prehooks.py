"""Pre-event webhooks: before an SDK user's action (a token holder writing a message) Parley asks the account's
and the service's pre-event URLs, as Twilio does: a 2xx proceeds (with the changes a JSON body names), any
4xx or 5xx rejects the action and nothing is written, no answer within 5 seconds proceeds unchanged.

REST actions never call pre-event webhooks (Twilio: only post-events, and only with X-Twilio-Webhook-Enabled).
Which URLs listen is cached per process for PRE_EVENT_CONFIG_TTL, so a message pays no extra database read
when the account has none."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

from core import webhooks as http
from domain.errors import PermissionDenied
from domain.limits import PRE_EVENT_CONFIG_TTL
from domain.webhooks import Actor, WebhookEvent
from storage.accounts import service as accounts
from storage.conversations import webhooks
from storage.db import Database

# What a pre-event's answer may change, per event (reference/twilio-api.md §2.7).
MODIFIABLE: dict[WebhookEvent, tuple[str, ...]] = {
    WebhookEvent.MESSAGE_ADD: ("body", "author", "attributes"),
    WebhookEvent.MESSAGE_UPDATE: ("body", "author", "attributes"),
    WebhookEvent.CONVERSATION_ADD: ("friendly_name",),
    WebhookEvent.CONVERSATION_UPDATE: ("friendly_name",),
}


class PreEventRejected(PermissionDenied):
    """A pre-event webhook answered 4xx or 5xx: the action does not happen."""

    code = 20403  # Twilio documents no code of its own for it: "Forbidden"


class PreEvents:
    def __init__(self, db: Database, client: httpx.AsyncClient | None = None) -> None:
        self.db = db
        self.client = client or http.new_client()
        self._cache: dict[str, tuple[float, list[webhooks.PreEventTarget]]] = {}

    async def close(self) -> None:
        await self.client.aclose()

    async def listening(self, account_sid: str, event: WebhookEvent) -> bool:
        """Whether any pre-event URL of the account (or of one of its services) listens to `event`."""
        return any(event.value in t.filters for t in await self._targets(account_sid))

    async def run(
        self,
        *,
        account_sid: str,
        chat_service_sid: str,
        event: WebhookEvent,
        params: Sequence[tuple[str, str]],
        actor: Actor,
    ) -> dict[str, Any]:
        """Ask each listening URL (the account's, then the service's); returns the changes they asked for."""
        if not actor.fires_pre_events:
            return {}
        targets = [
            t
            for t in await self._targets(account_sid)
            if event.value in t.filters and t.chat_service_sid in (None, chat_service_sid)
        ]
        if not targets:
            return {}
        async with self.db.read() as q:
            token = await accounts.auth_token(q, account_sid)
        sent = webhooks.common_params(account_sid, event, actor, chat_service_sid, params)
        changes: dict[str, Any] = {}
        for target in targets:
            answer = await http.call(self.client, target.url, target.method, sent, auth_token=token)
            if answer.status_code >= 400:
                raise PreEventRejected(
                    f"{event.value} was rejected by the pre-event webhook (HTTP {answer.status_code})"
                )
            if answer.outcome is http.Outcome.DELIVERED:
                asked = answer.json_object() or {}
                changes.update({k: asked[k] for k in MODIFIABLE.get(event, ()) if k in asked})
            # No answer in time: Twilio proceeds unchanged.
        return changes

    async def _targets(self, account_sid: str) -> list[webhooks.PreEventTarget]:
        now = time.monotonic()
        cached = self._cache.get(account_sid)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.db.read() as q:
            targets = await webhooks.pre_event_targets(q, account_sid=account_sid)
        self._cache[account_sid] = (now + PRE_EVENT_CONFIG_TTL, targets)
        return targets

    def forget(self, account_sid: str) -> None:
        """This process changed the account's configuration: read it afresh next time."""
        self._cache.pop(account_sid, None)
