"""Conversations webhooks: the account's and services' configuration, conversation-scoped webhooks, and the
post-events an action emits.

A post-event is fixed in the transaction of the action that caused it: the targets listening to it are read in
one statement, and each becomes an outbox row carrying the whole callback (URL, method, parameters). So a
committed action always gets its callbacks, a rolled-back one never does, and a retry sends the same body
under the same idempotency token (ARCHITECTURE §3; delivery itself is activities/webhooks.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from psycopg.types.json import Jsonb

from domain.errors import InvalidParameter
from domain.limits import CONVERSATION_WEBHOOK_URL_LIMIT, CONVERSATION_WEBHOOKS_LIMIT
from domain.outbox import DeliverWebhook
from domain.sids import SidPrefix, new_sid
from domain.webhooks import (
    CONVERSATION_SCOPED_EVENTS,
    POST_EVENTS,
    PRE_EVENTS,
    SYSTEM,
    Actor,
    EventSource,
    ScopedWebhookTarget,
    WebhookDelivery,
    WebhookEvent,
    WebhookMethod,
    WebhookTarget,
    check_filters,
    check_triggers,
    webhook_date,
)
from storage.conversations.tables import (
    ConversationRow,
    ConversationWebhookRow,
    MessageRow,
    ParticipantRow,
    WebhookConfigurationRow,
)
from storage.db import UnitOfWork
from storage.paging import Page, PageRequest, fetch_page

Param = tuple[str, str]

# --- configuration (account level, or one service's) ------------------------------------------------


async def configuration(
    uow: UnitOfWork, *, account_sid: str, chat_service_sid: str | None = None
) -> WebhookConfigurationRow:
    """The configured targets; an account or service that never configured any has none (POST, no filters)."""
    row = await uow.one(
        WebhookConfigurationRow,
        "SELECT * FROM conversation_webhook_configurations WHERE account_sid = %s "
        "AND chat_service_sid IS NOT DISTINCT FROM %s",
        (account_sid, chat_service_sid),
    )
    return row or WebhookConfigurationRow(account_sid=account_sid, chat_service_sid=chat_service_sid, filters=[])


@dataclass(frozen=True, slots=True)
class ConfigurationChanges:
    """What a `POST …/Configuration/Webhooks` sent; None leaves a field as it is, "" clears a URL."""

    method: WebhookMethod | None = None
    filters: list[str] | None = None
    pre_webhook_url: str | None = None
    post_webhook_url: str | None = None
    target: WebhookTarget | None = None


async def update_configuration(
    uow: UnitOfWork, *, account_sid: str, chat_service_sid: str | None, changes: ConfigurationChanges
) -> WebhookConfigurationRow:
    current = await configuration(uow, account_sid=account_sid, chat_service_sid=chat_service_sid)
    if changes.filters is not None:
        # The account and services listen to any event; user events are the services' own.
        changes = replace(changes, filters=check_filters(changes.filters, PRE_EVENTS | POST_EVENTS))
    merged = {
        "method": (changes.method or current.method).value,
        "filters": Jsonb(changes.filters if changes.filters is not None else current.filters),
        "pre": _url_change(changes.pre_webhook_url, current.pre_webhook_url),
        "post": _url_change(changes.post_webhook_url, current.post_webhook_url),
        "target": (changes.target or current.target).value,
    }
    row = await uow.one(
        WebhookConfigurationRow,
        """
        INSERT INTO conversation_webhook_configurations
               (account_sid, chat_service_sid, method, filters, pre_webhook_url, post_webhook_url, target)
        VALUES (%(account)s, %(service)s, %(method)s, %(filters)s, %(pre)s, %(post)s, %(target)s)
        ON CONFLICT (account_sid, COALESCE(chat_service_sid, '')) DO UPDATE
           SET method = EXCLUDED.method, filters = EXCLUDED.filters, pre_webhook_url = EXCLUDED.pre_webhook_url,
               post_webhook_url = EXCLUDED.post_webhook_url, target = EXCLUDED.target, date_updated = now()
        RETURNING *
        """,
        {"account": account_sid, "service": chat_service_sid, **merged},
    )
    assert row is not None
    return row


def _url_change(given: str | None, current: str | None) -> str | None:
    if given is None:
        return current
    return given or None


# --- conversation-scoped webhooks --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScopedWebhookChanges:
    url: str | None = None
    method: WebhookMethod | None = None
    filters: list[str] | None = None
    triggers: list[str] | None = None
    flow_sid: str | None = None


async def create_scoped_webhook(
    uow: UnitOfWork,
    *,
    conversation: ConversationRow,
    target: str,
    fields: ScopedWebhookChanges,
    replay_after: int | None = None,
) -> ConversationWebhookRow:
    kind = next((t for t in ScopedWebhookTarget if t.value == target.strip().lower()), None)
    if kind is None:
        raise InvalidParameter(f"Target must be webhook, trigger or studio; got '{target}'", code=50364)
    if kind is ScopedWebhookTarget.STUDIO:
        raise InvalidParameter(
            "Target=studio is not supported: Parley has no Studio; use Target=webhook or trigger", code=50364
        )
    fields = _checked(fields)
    if not fields.url:
        raise InvalidParameter("Configuration.Url is required for this target")
    if kind is ScopedWebhookTarget.TRIGGER and not fields.triggers:
        raise InvalidParameter("Configuration.Triggers is required for Target=trigger", code=50366)
    # Counted under the conversation's lock, so two concurrent creates cannot both be the fifth.
    await uow.execute("SELECT 1 FROM conversations WHERE sid = %s FOR UPDATE", (conversation.sid,))
    count = await uow.fetchone(
        "SELECT count(*) AS n FROM conversation_webhooks WHERE conversation_sid = %s", (conversation.sid,)
    )
    assert count is not None
    if count["n"] >= CONVERSATION_WEBHOOKS_LIMIT:
        raise InvalidParameter(f"A conversation can have at most {CONVERSATION_WEBHOOKS_LIMIT} webhooks", code=50361)
    row = await uow.one(
        ConversationWebhookRow,
        """
        INSERT INTO conversation_webhooks (sid, account_sid, chat_service_sid, conversation_sid, target, url, method,
                                           filters, triggers, flow_sid, replay_after)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *
        """,
        (
            new_sid(SidPrefix.CONVERSATION_WEBHOOK),
            conversation.account_sid,
            conversation.chat_service_sid,
            conversation.sid,
            kind.value,
            fields.url,
            (fields.method or WebhookMethod.POST).value,
            Jsonb(fields.filters or []),
            Jsonb(fields.triggers or []),
            fields.flow_sid,
            replay_after,
        ),
    )
    assert row is not None
    if replay_after is not None:
        await _replay(uow, conversation, row, replay_after)
    return row


def _checked(fields: ScopedWebhookChanges) -> ScopedWebhookChanges:
    if fields.url is not None and len(fields.url) > CONVERSATION_WEBHOOK_URL_LIMIT:
        raise InvalidParameter(
            f"Configuration.Url must be at most {CONVERSATION_WEBHOOK_URL_LIMIT} characters", code=50372
        )
    return replace(
        fields,
        filters=check_filters(fields.filters, CONVERSATION_SCOPED_EVENTS) if fields.filters is not None else None,
        triggers=check_triggers(fields.triggers) if fields.triggers is not None else None,
    )


async def _replay(
    uow: UnitOfWork, conversation: ConversationRow, webhook: ConversationWebhookRow, from_index: int
) -> None:
    """`Configuration.ReplayAfter`: the new webhook also gets onMessageAdded for the messages already there, from
    that index on, in order (a trigger webhook only those its keywords match)."""
    messages = await uow.all(
        MessageRow,
        "SELECT * FROM messages WHERE conversation_sid = %s AND index >= %s ORDER BY index",
        (conversation.sid, from_index),
    )
    for message in messages:
        if webhook.target is ScopedWebhookTarget.TRIGGER and not _triggered(webhook.triggers, message.body):
            continue
        if webhook.target is ScopedWebhookTarget.WEBHOOK and WebhookEvent.MESSAGE_ADDED.value not in webhook.filters:
            continue
        await _record(
            uow,
            conversation,
            WebhookEvent.MESSAGE_ADDED,
            message_params(message, messaging_service_sid=conversation.messaging_service_sid),
            SYSTEM,
            url=webhook.url or "",
            method=webhook.method,
            scope=webhook.sid,
        )


async def scoped_webhooks(uow: UnitOfWork, *, conversation_sid: str, page: PageRequest) -> Page[ConversationWebhookRow]:
    return await fetch_page(
        uow,
        ConversationWebhookRow,
        "SELECT * FROM conversation_webhooks WHERE conversation_sid = %s ORDER BY date_created, sid",
        (conversation_sid,),
        page,
    )


async def get_scoped_webhook(uow: UnitOfWork, *, conversation_sid: str, sid: str) -> ConversationWebhookRow:
    return await uow.found(
        ConversationWebhookRow,
        "SELECT * FROM conversation_webhooks WHERE conversation_sid = %s AND sid = %s",
        (conversation_sid, sid),
        resource=f"/Conversations/{conversation_sid}/Webhooks/{sid}",
    )


async def update_scoped_webhook(
    uow: UnitOfWork, *, webhook: ConversationWebhookRow, changes: ScopedWebhookChanges
) -> ConversationWebhookRow:
    if changes.url == "":
        raise InvalidParameter("Configuration.Url cannot be cleared")
    changes = _checked(changes)
    row = await uow.one(
        ConversationWebhookRow,
        "UPDATE conversation_webhooks SET url = COALESCE(%s, url), method = COALESCE(%s, method), "
        "filters = COALESCE(%s, filters), triggers = COALESCE(%s, triggers), flow_sid = COALESCE(%s, flow_sid), "
        "date_updated = now() WHERE sid = %s RETURNING *",
        (
            changes.url,
            changes.method.value if changes.method else None,
            Jsonb(changes.filters) if changes.filters is not None else None,
            Jsonb(changes.triggers) if changes.triggers is not None else None,
            changes.flow_sid,
            webhook.sid,
        ),
    )
    assert row is not None
    return row


async def delete_scoped_webhook(uow: UnitOfWork, *, conversation_sid: str, sid: str) -> None:
    webhook = await get_scoped_webhook(uow, conversation_sid=conversation_sid, sid=sid)
    await uow.execute("DELETE FROM conversation_webhooks WHERE sid = %s", (webhook.sid,))


# --- post-events -------------------------------------------------------------------------------------


async def emit(
    uow: UnitOfWork,
    *,
    conversation: ConversationRow,
    event: WebhookEvent,
    params: Sequence[Param],
    actor: Actor,
    body: str | None = None,
) -> int:
    """Record the callbacks of one post-event in the action's transaction; returns how many targets listen.
    `body` is the message text a `trigger` webhook matches its keywords against."""
    if not actor.fires_post_events:
        return 0
    targets = await uow.fetchall(
        """
        SELECT 'account' AS scope, 'webhook' AS target, post_webhook_url AS url, method, '[]'::jsonb AS triggers
          FROM conversation_webhook_configurations
         WHERE account_sid = %(account)s AND chat_service_sid IS NULL
           AND post_webhook_url IS NOT NULL AND filters ? %(event)s
        UNION ALL
        SELECT 'service', 'webhook', post_webhook_url, method, '[]'::jsonb
          FROM conversation_webhook_configurations
         WHERE account_sid = %(account)s AND chat_service_sid = %(service)s
           AND post_webhook_url IS NOT NULL AND filters ? %(event)s
        UNION ALL
        SELECT sid, target, url, method, triggers
          FROM conversation_webhooks
         WHERE conversation_sid = %(conversation)s AND url IS NOT NULL
           AND (filters ? %(event)s OR (target = 'trigger' AND %(event)s = 'onMessageAdded'))
        """,
        {
            "account": conversation.account_sid,
            "service": conversation.chat_service_sid,
            "conversation": conversation.sid,
            "event": event.value,
        },
    )
    sent = 0
    for target in targets:
        if target["target"] == ScopedWebhookTarget.TRIGGER and not _triggered(target["triggers"], body):
            continue
        await _record(
            uow,
            conversation,
            event,
            params,
            actor,
            url=target["url"],
            method=WebhookMethod(target["method"]),
            scope=target["scope"],
        )
        sent += 1
    return sent


async def _record(
    uow: UnitOfWork,
    conversation: ConversationRow | None,
    event: WebhookEvent,
    params: Sequence[Param],
    actor: Actor,
    *,
    url: str,
    method: WebhookMethod,
    scope: str,
    account_sid: str | None = None,
    chat_service_sid: str | None = None,
) -> None:
    account = conversation.account_sid if conversation is not None else account_sid
    service = conversation.chat_service_sid if conversation is not None else chat_service_sid
    assert account is not None
    delivery = WebhookDelivery(
        delivery_id=uuid.uuid4().hex,
        account_sid=account,
        event=event,
        url=url,
        method=method,
        params=common_params(account, event, actor, service, params),
        scope=scope,
        conversation_sid=conversation.sid if conversation is not None else None,
    )
    await uow.outbox(
        DeliverWebhook(account_sid=account, delivery=delivery),
        dedupe_key=f"webhook:{delivery.delivery_id}",
    )


async def emit_service_event(
    uow: UnitOfWork,
    *,
    account_sid: str,
    chat_service_sid: str,
    event: WebhookEvent,
    params: Sequence[Param],
    actor: Actor,
) -> int:
    """A post-event of the service itself (a user added or updated): the account's and the service's targets."""
    if not actor.fires_post_events:
        return 0
    targets = await uow.fetchall(
        "SELECT CASE WHEN chat_service_sid IS NULL THEN 'account' ELSE 'service' END AS scope, "
        "post_webhook_url AS url, method FROM conversation_webhook_configurations "
        "WHERE account_sid = %s AND (chat_service_sid IS NULL OR chat_service_sid = %s) "
        "AND post_webhook_url IS NOT NULL AND filters ? %s",
        (account_sid, chat_service_sid, event.value),
    )
    for target in targets:
        await _record(
            uow,
            None,
            event,
            params,
            actor,
            url=target["url"],
            method=WebhookMethod(target["method"]),
            scope=target["scope"],
            account_sid=account_sid,
            chat_service_sid=chat_service_sid,
        )
    return len(targets)


def _triggered(triggers: list[str], body: str | None) -> bool:
    """A `trigger` webhook fires on a message whose body contains one of its keywords (whole words, any case)."""
    words = {w.strip(".,!?;:").lower() for w in (body or "").split()}
    return any(t.lower() in words for t in triggers)


def common_params(
    account_sid: str, event: WebhookEvent, actor: Actor, chat_service_sid: str | None, params: Sequence[Param]
) -> list[Param]:
    """Every callback's parameters: the event's own, then `AccountSid`, `EventType`, `Source` and, for an SDK
    action, `ClientIdentity`."""
    common: list[Param] = [("AccountSid", account_sid), ("EventType", event.value), ("Source", actor.source.value)]
    if actor.source is EventSource.SDK and actor.client_identity:
        common.append(("ClientIdentity", actor.client_identity))
    if chat_service_sid and not any(name == "ChatServiceSid" for name, _ in params):
        common.append(("ChatServiceSid", chat_service_sid))
    return [*params, *common]


def _present(pairs: Sequence[tuple[str, str | int | None]]) -> list[Param]:
    """Parameters with a value (an absent field is not sent; an empty string is)."""
    return [(name, str(value)) for name, value in pairs if value is not None]


def conversation_params(row: ConversationRow) -> list[Param]:
    return _present(
        [
            ("ConversationSid", row.sid),
            ("DateCreated", webhook_date(row.date_created)),
            ("DateUpdated", webhook_date(row.date_updated)),
            ("FriendlyName", row.friendly_name),
            ("UniqueName", row.unique_name),
            ("Attributes", row.attributes),
            ("ChatServiceSid", row.chat_service_sid),
            ("MessagingServiceSid", row.messaging_service_sid),
            ("State", row.state.value),
        ]
    )


def message_params(row: MessageRow, *, messaging_service_sid: str | None = None) -> list[Param]:
    return _present(
        [
            ("ConversationSid", row.conversation_sid),
            ("MessageSid", row.sid),
            ("MessagingServiceSid", messaging_service_sid),
            ("Index", row.index),
            ("DateCreated", webhook_date(row.date_created)),
            ("DateUpdated", webhook_date(row.date_updated)),
            ("Body", row.body),
            ("Author", row.author),
            ("ParticipantSid", row.participant_sid),
            ("Attributes", row.attributes),
            ("Media", json.dumps(row.media) if row.media else None),
        ]
    )


def participant_params(row: ParticipantRow) -> list[Param]:
    binding = row.messaging_binding or {}
    return _present(
        [
            ("ConversationSid", row.conversation_sid),
            ("ParticipantSid", row.sid),
            ("DateCreated", webhook_date(row.date_created)),
            ("DateUpdated", webhook_date(row.date_updated)),
            ("Identity", row.identity),
            ("RoleSid", row.role_sid),
            ("Attributes", row.attributes),
            ("MessagingBinding.ProxyAddress", binding.get("proxy_address")),
            ("MessagingBinding.Address", binding.get("address")),
            ("MessagingBinding.ProjectedAddress", binding.get("projected_address")),
            ("MessagingBinding.Type", (binding.get("type") or "chat").upper() if row.identity is None else "CHAT"),
            ("LastReadMessageIndex", row.last_read_message_index),
        ]
    )


@dataclass(frozen=True, slots=True)
class PreEventTarget:
    url: str
    method: WebhookMethod
    chat_service_sid: str | None  # None: the account's own
    filters: frozenset[str]


async def pre_event_targets(uow: UnitOfWork, *, account_sid: str) -> list[PreEventTarget]:
    """Every pre-event URL of the account and of its services (the account's first): api/prehooks.py keeps
    them per process and picks the ones listening to an event."""
    rows = await uow.fetchall(
        "SELECT pre_webhook_url, method, chat_service_sid, filters FROM conversation_webhook_configurations "
        "WHERE account_sid = %s AND pre_webhook_url IS NOT NULL ORDER BY chat_service_sid NULLS FIRST",
        (account_sid,),
    )
    return [
        PreEventTarget(r["pre_webhook_url"], WebhookMethod(r["method"]), r["chat_service_sid"], frozenset(r["filters"]))
        for r in rows
    ]
