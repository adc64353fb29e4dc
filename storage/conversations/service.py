"""Conversations use cases: conversations, participants, messages and address configurations.

The message hot path is one transaction: allocate the next index under the conversation's row lock, insert the
message, append a real-time event, and, only when the customer writes on a channel with no open task, record an
outbox command that (re)starts routing. No workflow round trip (ARCHITECTURE §3)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from domain.errors import Conflict, InvalidParameter, NotFound
from domain.limits import MESSAGE_ATTRIBUTES_LIMIT, MESSAGE_BODY_LIMIT
from domain.realtime import StreamEvent
from domain.sids import SidPrefix, new_sid
from domain.states import CONVERSATION_TRANSITIONS, ConversationState, StateChangeReason
from domain.webhooks import SYSTEM, Actor, WebhookEvent, webhook_date
from storage.conversations import webhooks
from storage.conversations.tables import AddressConfigurationRow, ConversationRow, MessageRow, ParticipantRow
from storage.db import NOTIFY_CHANNEL, UnitOfWork
from storage.interactions import service as interactions
from storage.realtime import service as realtime


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- conversations -----------------------------------------------------------------------------------


async def default_service_sid(uow: UnitOfWork, account_sid: str) -> str:
    row = await uow.fetchone("SELECT default_chat_service_sid FROM accounts WHERE sid = %s", (account_sid,))
    if row is None or row["default_chat_service_sid"] is None:
        raise NotFound("The account has no default Conversation Service")
    return str(row["default_chat_service_sid"])


async def get_conversation(uow: UnitOfWork, *, account_sid: str, sid_or_unique_name: str) -> ConversationRow:
    return await uow.found(
        ConversationRow,
        "SELECT * FROM conversations WHERE account_sid = %s AND (sid = %s OR unique_name = %s) "
        "ORDER BY (sid = %s) DESC LIMIT 1",
        (account_sid, sid_or_unique_name, sid_or_unique_name, sid_or_unique_name),
        resource=f"/Conversations/{sid_or_unique_name}",
    )


async def create_conversation(
    uow: UnitOfWork,
    *,
    account_sid: str,
    chat_service_sid: str,
    friendly_name: str | None = None,
    unique_name: str | None = None,
    attributes: str = "{}",
    state: ConversationState = ConversationState.ACTIVE,
    address_sid: str | None = None,
    messaging_service_sid: str | None = None,
    timers_inactive: str | None = None,
    timers_closed: str | None = None,
    actor: Actor = SYSTEM,
) -> ConversationRow:
    if unique_name is not None:
        await _ensure_unique_name(uow, chat_service_sid, unique_name)
    row = await uow.one(
        ConversationRow,
        """
        INSERT INTO conversations (sid, account_sid, chat_service_sid, messaging_service_sid, friendly_name,
                                   unique_name, attributes, state, address_sid, timers_inactive, timers_closed)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *
        """,
        (
            new_sid(SidPrefix.CONVERSATION),
            account_sid,
            chat_service_sid,
            messaging_service_sid,
            friendly_name,
            unique_name,
            attributes,
            state.value,
            address_sid,
            timers_inactive,
            timers_closed,
        ),
    )
    assert row is not None
    await webhooks.emit(
        uow,
        conversation=row,
        event=WebhookEvent.CONVERSATION_ADDED,
        params=webhooks.conversation_params(row),
        actor=actor,
    )
    return row


async def _ensure_unique_name(uow: UnitOfWork, chat_service_sid: str, unique_name: str, exclude: str = "") -> None:
    existing = await uow.fetchone(
        "SELECT 1 FROM conversations WHERE chat_service_sid = %s AND unique_name = %s AND sid <> %s",
        (chat_service_sid, unique_name, exclude),
    )
    if existing is not None:
        raise Conflict(f"Conversation with unique name '{unique_name}' already exists", code=50353)


@dataclass(frozen=True, slots=True)
class ConversationChanges:
    friendly_name: str | None = None
    attributes: str | None = None
    state: ConversationState | None = None
    unique_name: str | None = None


async def update_conversation(
    uow: UnitOfWork, *, conversation: ConversationRow, changes: ConversationChanges, actor: Actor
) -> ConversationRow:
    if changes.state is not None and changes.state is not conversation.state:
        if changes.state not in CONVERSATION_TRANSITIONS[conversation.state]:
            if conversation.state is ConversationState.CLOSED:
                raise InvalidParameter("A closed conversation cannot be re-opened", code=50404)
            raise InvalidParameter(f"A conversation cannot go from {conversation.state} to {changes.state}")
    if changes.unique_name is not None:
        await _ensure_unique_name(uow, conversation.chat_service_sid, changes.unique_name, exclude=conversation.sid)
    row = await uow.one(
        ConversationRow,
        "UPDATE conversations SET friendly_name = COALESCE(%s, friendly_name), "
        "attributes = COALESCE(%s, attributes), state = COALESCE(%s, state), "
        "unique_name = COALESCE(%s, unique_name), date_updated = now() WHERE sid = %s RETURNING *",
        (
            changes.friendly_name,
            changes.attributes,
            changes.state.value if changes.state else None,
            changes.unique_name,
            conversation.sid,
        ),
    )
    assert row is not None
    await webhooks.emit(
        uow,
        conversation=row,
        event=WebhookEvent.CONVERSATION_UPDATED,
        params=webhooks.conversation_params(row),
        actor=actor,
    )
    if changes.state is not None and changes.state is not conversation.state:
        await _state_updated(uow, row, conversation.state, StateChangeReason.API, actor)
    return row


async def delete_conversation(uow: UnitOfWork, *, conversation: ConversationRow, actor: Actor) -> None:
    """Delete a conversation with its participants, messages, webhooks and events. One an interaction channel
    is still open on cannot go (the channel would be orphaned: close it first); a closed channel's records go
    with it."""
    locked = await uow.found(
        ConversationRow,
        "SELECT * FROM conversations WHERE sid = %s FOR UPDATE",
        (conversation.sid,),
        resource=f"/Conversations/{conversation.sid}",
    )
    if await interactions.has_open_channel(uow, conversation_sid=locked.sid):
        raise Conflict(
            f"Conversation {locked.sid} has an open interaction channel; close the channel first", code=50411
        )
    # The webhooks listening to the conversation hear of its removal before they go with it.
    await webhooks.emit(
        uow,
        conversation=locked,
        event=WebhookEvent.CONVERSATION_REMOVED,
        params=[*webhooks.conversation_params(locked), ("DateRemoved", webhook_date(utcnow()) or "")],
        actor=actor,
    )
    await interactions.forget_closed_channels(uow, conversation_sid=locked.sid)
    for table in ("messages", "participants", "realtime_events"):
        column = "stream" if table == "realtime_events" else "conversation_sid"
        await uow.execute(f"DELETE FROM {table} WHERE {column} = %s", (locked.sid,))
    await uow.execute("DELETE FROM conversations WHERE sid = %s", (locked.sid,))


async def close_conversation(uow: UnitOfWork, *, conversation_sid: str) -> None:
    """Closed is final and read-only (Flex closes the conversation with its interaction channel)."""
    before = await uow.one(
        ConversationRow, "SELECT * FROM conversations WHERE sid = %s FOR UPDATE", (conversation_sid,)
    )
    if before is None or before.state is ConversationState.CLOSED:
        return
    row = await uow.one(
        ConversationRow,
        "UPDATE conversations SET state = 'closed', date_updated = now() WHERE sid = %s RETURNING *",
        (conversation_sid,),
    )
    assert row is not None
    await _state_updated(uow, row, before.state, StateChangeReason.EVENT, SYSTEM)


async def _state_updated(
    uow: UnitOfWork, row: ConversationRow, before: ConversationState, reason: StateChangeReason, actor: Actor
) -> None:
    await uow.publish(
        account_sid=row.account_sid,
        stream=row.sid,
        type=StreamEvent.CONVERSATION_STATE_UPDATED,
        data={"state_from": before.value, "state_to": row.state.value, "reason": reason.value},
    )
    await webhooks.emit(
        uow,
        conversation=row,
        event=WebhookEvent.CONVERSATION_STATE_UPDATED,
        params=[
            ("ConversationSid", row.sid),
            ("ChatServiceSid", row.chat_service_sid),
            ("StateUpdated", webhook_date(row.date_updated) or ""),
            ("StateFrom", before.value),
            ("StateTo", row.state.value),
            ("Reason", reason.value),
            *([("MessagingServiceSid", row.messaging_service_sid)] if row.messaging_service_sid else []),
        ],
        actor=actor,
    )


# --- participants ------------------------------------------------------------------------------------


async def get_participant(uow: UnitOfWork, *, conversation_sid: str, sid_or_identity: str) -> ParticipantRow:
    row = await uow.one(
        ParticipantRow,
        "SELECT * FROM participants WHERE conversation_sid = %s AND (sid = %s OR identity = %s)",
        (conversation_sid, sid_or_identity, sid_or_identity),
    )
    if row is None:
        raise NotFound.resource(f"/Conversations/{conversation_sid}/Participants/{sid_or_identity}")
    return row


async def find_participant(
    uow: UnitOfWork, *, conversation_sid: str, identity: str | None, worker_sid: str | None = None
) -> ParticipantRow | None:
    """The caller's own participant: by its token identity, or (an agent) by the worker SID it joined with."""
    return await uow.one(
        ParticipantRow,
        "SELECT * FROM participants WHERE conversation_sid = %s AND (identity = %s OR "
        "(%s::text IS NOT NULL AND attributes::jsonb->>'worker_sid' = %s)) LIMIT 1",
        (conversation_sid, identity, worker_sid, worker_sid),
    )


async def add_participant(
    uow: UnitOfWork,
    *,
    conversation_sid: str,
    identity: str | None,
    attributes: str = "{}",
    messaging_binding: dict[str, Any] | None = None,
    role_sid: str | None = None,
    if_absent: bool = False,
    actor: Actor = SYSTEM,
) -> ParticipantRow:
    conversation = await uow.found(
        ConversationRow,
        "SELECT * FROM conversations WHERE sid = %s FOR UPDATE",
        (conversation_sid,),
        resource=f"/Conversations/{conversation_sid}",
    )
    if identity is not None:
        existing = await uow.one(
            ParticipantRow,
            "SELECT * FROM participants WHERE conversation_sid = %s AND identity = %s",
            (conversation_sid, identity),
        )
        if existing is not None:
            if if_absent:
                return existing
            raise Conflict("Participant already exists", code=50433)
    row = await uow.one(
        ParticipantRow,
        """
        INSERT INTO participants (sid, account_sid, conversation_sid, chat_service_sid, identity, attributes,
                                  messaging_binding, role_sid)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING *
        """,
        (
            new_sid(SidPrefix.PARTICIPANT),
            conversation.account_sid,
            conversation_sid,
            conversation.chat_service_sid,
            identity,
            attributes,
            Jsonb(messaging_binding) if messaging_binding is not None else None,
            role_sid,
        ),
    )
    assert row is not None
    await uow.publish(
        account_sid=row.account_sid,
        stream=conversation_sid,
        type=StreamEvent.PARTICIPANT_ADDED,
        data={"participant_sid": row.sid, "identity": identity, "attributes": attributes},
    )
    await webhooks.emit(
        uow,
        conversation=conversation,
        event=WebhookEvent.PARTICIPANT_ADDED,
        params=webhooks.participant_params(row),
        actor=actor,
    )
    return row


async def remove_participant(
    uow: UnitOfWork, *, conversation_sid: str, participant_sid: str, actor: Actor = SYSTEM
) -> bool:
    row = await uow.one(
        ParticipantRow,
        "DELETE FROM participants WHERE sid = %s AND conversation_sid = %s RETURNING *",
        (participant_sid, conversation_sid),
    )
    if row is None:
        return False
    await uow.publish(
        account_sid=row.account_sid,
        stream=conversation_sid,
        type=StreamEvent.PARTICIPANT_REMOVED,
        data={"participant_sid": participant_sid, "identity": row.identity},
    )
    conversation = await uow.one(ConversationRow, "SELECT * FROM conversations WHERE sid = %s", (conversation_sid,))
    if conversation is not None:
        await webhooks.emit(
            uow,
            conversation=conversation,
            event=WebhookEvent.PARTICIPANT_REMOVED,
            params=[*webhooks.participant_params(row), ("DateRemoved", webhook_date(utcnow()) or "")],
            actor=actor,
        )
    return True


@dataclass(frozen=True, slots=True)
class ParticipantChanges:
    """A participant update; None leaves a field as it is."""

    attributes: str | None = None
    role_sid: str | None = None
    identity: str | None = None
    proxy_address: str | None = None
    projected_address: str | None = None
    last_read_message_index: int | None = None
    last_read_timestamp: datetime | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None


async def update_participant(
    uow: UnitOfWork,
    *,
    conversation: ConversationRow,
    participant: ParticipantRow,
    changes: ParticipantChanges,
    actor: Actor,
) -> ParticipantRow:
    """Twilio's rules: a chat participant keeps its identity unique in the conversation (50433); a non-chat one
    (an SMS or WhatsApp binding) has no identity to set, and only a binding has a proxy address."""
    if conversation.state is ConversationState.CLOSED:
        raise Conflict("The conversation is closed; it is read-only", code=50407)
    binding = dict(participant.messaging_binding or {})
    if changes.identity is not None and changes.identity != participant.identity:
        if participant.identity is None and binding.get("address"):
            raise InvalidParameter("A participant with a messaging binding cannot have an Identity", code=50402)
        clash = await uow.fetchone(
            "SELECT 1 FROM participants WHERE conversation_sid = %s AND identity = %s AND sid <> %s",
            (conversation.sid, changes.identity, participant.sid),
        )
        if clash is not None:
            raise Conflict("Participant already exists", code=50433)
    if changes.proxy_address is not None:
        if not binding.get("address"):
            raise InvalidParameter("Only a participant with a messaging binding has a ProxyAddress", code=50402)
        binding["proxy_address"] = changes.proxy_address
    if changes.projected_address is not None:
        if binding.get("address"):
            raise InvalidParameter("ProjectedAddress is for chat participants (group MMS)", code=50402)
        binding["projected_address"] = changes.projected_address
    if changes.last_read_message_index is not None and changes.last_read_message_index < 0:
        raise InvalidParameter("LastReadMessageIndex must be 0 or more")
    row = await uow.one(
        ParticipantRow,
        """
        UPDATE participants
           SET attributes = COALESCE(%(attributes)s, attributes), role_sid = COALESCE(%(role)s, role_sid),
               identity = COALESCE(%(identity)s, identity), messaging_binding = %(binding)s,
               last_read_message_index = COALESCE(%(read_index)s, last_read_message_index),
               last_read_timestamp = COALESCE(%(read_at)s, %(read_at_default)s, last_read_timestamp),
               date_created = COALESCE(%(created)s, date_created), date_updated = COALESCE(%(updated)s, now())
         WHERE sid = %(sid)s RETURNING *
        """,
        {
            "attributes": changes.attributes,
            "role": changes.role_sid,
            "identity": changes.identity,
            "binding": Jsonb(binding) if binding else None,
            "read_index": changes.last_read_message_index,
            "read_at": changes.last_read_timestamp,
            # A new read horizon without a timestamp is read now.
            "read_at_default": utcnow() if changes.last_read_message_index is not None else None,
            "created": changes.date_created,
            "updated": changes.date_updated,
            "sid": participant.sid,
        },
    )
    assert row is not None
    await uow.publish(
        account_sid=row.account_sid,
        stream=conversation.sid,
        type=StreamEvent.PARTICIPANT_UPDATED,
        data={
            "participant_sid": row.sid,
            "identity": row.identity,
            "attributes": row.attributes,
            "last_read_message_index": row.last_read_message_index,
        },
    )
    await webhooks.emit(
        uow,
        conversation=conversation,
        event=WebhookEvent.PARTICIPANT_UPDATED,
        params=webhooks.participant_params(row),
        actor=actor,
    )
    return row


# --- messages ----------------------------------------------------------------------------------------


def check_message(body: str | None, attributes: str | None) -> str:
    """Twilio's message limits, checked before any write; returns the body."""
    if body is not None and len(body) > MESSAGE_BODY_LIMIT:
        raise InvalidParameter(f"Body must be at most {MESSAGE_BODY_LIMIT} characters", code=50008)
    if not body:
        raise InvalidParameter("A message needs a Body", code=50006)
    if attributes is not None and len(attributes) > MESSAGE_ATTRIBUTES_LIMIT:
        raise InvalidParameter(f"Attributes must be at most {MESSAGE_ATTRIBUTES_LIMIT} characters")
    return body


async def create_message(
    uow: UnitOfWork,
    *,
    conversation_sid: str,
    author: str,
    body: str | None,
    attributes: str = "{}",
    participant_sid: str | None = None,
    idempotency_key: str | None = None,
    actor: Actor = SYSTEM,
) -> MessageRow:
    """Every entry point that adds a message to a conversation calls this (REST, WebSocket, provider webhooks)."""
    if idempotency_key is not None:
        # Lock first so two retries of the same send serialize and the second finds the first.
        await uow.execute("SELECT 1 FROM conversations WHERE sid = %s FOR UPDATE", (conversation_sid,))
        existing = await uow.one(
            MessageRow,
            "SELECT * FROM messages WHERE conversation_sid = %s AND idempotency_key = %s",
            (conversation_sid, idempotency_key),
        )
        if existing is not None:
            return existing
    # The index and seq are allocated under the row lock the UPDATE takes; a message re-activates an inactive
    # conversation (the state before is read in the same statement, so the change can be announced).
    updated = await uow.fetchone(
        """
        UPDATE conversations c
           SET last_message_index = c.last_message_index + 1, last_event_seq = c.last_event_seq + 1,
               last_message_at = now(), date_updated = now(),
               state = CASE WHEN c.state = 'inactive' THEN 'active' ELSE c.state END
          FROM (SELECT state FROM conversations WHERE sid = %s FOR UPDATE) before
         WHERE c.sid = %s AND c.state <> 'closed'
        RETURNING c.*, before.state AS state_before
        """,
        (conversation_sid, conversation_sid),
    )
    conversation = ConversationRow.model_validate(updated) if updated is not None else None
    if conversation is None:
        exists = await uow.fetchone("SELECT state FROM conversations WHERE sid = %s", (conversation_sid,))
        if exists is None:
            raise NotFound.resource(f"/Conversations/{conversation_sid}")
        raise Conflict("The conversation is closed; it cannot take new messages", code=50407)
    message = await uow.one(
        MessageRow,
        """
        INSERT INTO messages (sid, account_sid, conversation_sid, chat_service_sid, index, author, body,
                              attributes, participant_sid, idempotency_key)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *
        """,
        (
            new_sid(SidPrefix.MESSAGE),
            conversation.account_sid,
            conversation_sid,
            conversation.chat_service_sid,
            conversation.last_message_index,
            author,
            body,
            attributes,
            participant_sid,
            idempotency_key,
        ),
    )
    assert message is not None
    seq = conversation.last_event_seq
    # The seq was allocated with the index above; append the event and NOTIFY in one statement.
    await uow.execute(
        "WITH e AS (INSERT INTO realtime_events (account_sid, stream, seq, type, data) "
        "VALUES (%s, %s, %s, %s, %s)) SELECT pg_notify(%s, %s)",
        (
            conversation.account_sid,
            conversation_sid,
            seq,
            StreamEvent.MESSAGE_ADDED.value,
            Jsonb({"message_sid": message.sid, "index": message.index}),
            NOTIFY_CHANNEL,
            json.dumps({"stream": conversation_sid, "seq": seq}),
        ),
    )
    if updated is not None and updated["state_before"] != conversation.state.value:
        await _state_updated(
            uow, conversation, ConversationState(updated["state_before"]), StateChangeReason.EVENT, actor
        )
    await webhooks.emit(
        uow,
        conversation=conversation,
        event=WebhookEvent.MESSAGE_ADDED,
        params=webhooks.message_params(message, messaging_service_sid=conversation.messaging_service_sid),
        actor=actor,
        body=message.body,
    )
    await interactions.route_customer_message(uow, conversation, message)
    return message


@dataclass(frozen=True, slots=True)
class MessageChanges:
    body: str | None = None
    attributes: str | None = None
    author: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None


async def update_message(
    uow: UnitOfWork, *, conversation: ConversationRow, message: MessageRow, changes: MessageChanges, actor: Actor
) -> MessageRow:
    if conversation.state is ConversationState.CLOSED:
        raise Conflict("The conversation is closed; it is read-only", code=50407)
    if changes.body is not None:
        check_message(changes.body, changes.attributes)
    elif changes.attributes is not None:
        check_message("-", changes.attributes)
    row = await uow.one(
        MessageRow,
        "UPDATE messages SET body = COALESCE(%s, body), attributes = COALESCE(%s, attributes), "
        "author = COALESCE(%s, author), date_created = COALESCE(%s, date_created), "
        "date_updated = COALESCE(%s, now()) WHERE sid = %s RETURNING *",
        (
            changes.body,
            changes.attributes,
            changes.author,
            changes.date_created,
            changes.date_updated,
            message.sid,
        ),
    )
    assert row is not None
    await uow.publish(
        account_sid=row.account_sid,
        stream=conversation.sid,
        type=StreamEvent.MESSAGE_UPDATED,
        data={"message_sid": row.sid, "index": row.index},
    )
    await webhooks.emit(
        uow,
        conversation=conversation,
        event=WebhookEvent.MESSAGE_UPDATED,
        params=webhooks.message_params(row),
        actor=actor,
    )
    return row


async def delete_message(uow: UnitOfWork, *, conversation: ConversationRow, message: MessageRow, actor: Actor) -> None:
    if conversation.state is ConversationState.CLOSED:
        raise Conflict("The conversation is closed; it is read-only", code=50407)
    await uow.execute("DELETE FROM messages WHERE sid = %s", (message.sid,))
    await uow.publish(
        account_sid=message.account_sid,
        stream=conversation.sid,
        type=StreamEvent.MESSAGE_REMOVED,
        data={"message_sid": message.sid, "index": message.index},
    )
    await webhooks.emit(
        uow,
        conversation=conversation,
        event=WebhookEvent.MESSAGE_REMOVED,
        params=[*webhooks.message_params(message), ("DateRemoved", webhook_date(utcnow()) or "")],
        actor=actor,
    )


# --- address configurations --------------------------------------------------------------------------


async def get_address(uow: UnitOfWork, *, account_sid: str, sid_or_address: str) -> AddressConfigurationRow:
    return await uow.found(
        AddressConfigurationRow,
        "SELECT * FROM address_configurations WHERE account_sid = %s AND (sid = %s OR address = %s)",
        (account_sid, sid_or_address, sid_or_address),
        resource=f"/Configuration/Addresses/{sid_or_address}",
    )


async def create_address(
    uow: UnitOfWork,
    *,
    account_sid: str,
    type: str,
    address: str,
    friendly_name: str | None,
    auto_creation: dict[str, Any],
    address_country: str | None,
) -> AddressConfigurationRow:
    duplicate = await uow.fetchone(
        "SELECT 1 FROM address_configurations WHERE account_sid = %s AND type = %s AND address = %s",
        (account_sid, type, address),
    )
    if duplicate is not None:
        raise InvalidParameter("An address configuration for this address already exists", code=50353)
    routing = auto_creation.get("routing")
    if routing is not None:
        await interactions.check_routing(uow, account_sid=account_sid, routing=routing)
    row = await uow.one(
        AddressConfigurationRow,
        "INSERT INTO address_configurations (sid, account_sid, type, address, friendly_name, auto_creation, "
        "address_country) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (
            new_sid(SidPrefix.ADDRESS_CONFIGURATION),
            account_sid,
            type,
            address,
            friendly_name,
            Jsonb(auto_creation),
            address_country,
        ),
    )
    assert row is not None
    return row


async def webchat_address(uow: UnitOfWork, address_sid: str) -> AddressConfigurationRow | None:
    """An enabled `chat` address (any account: the web chat is public and starts from the address SID)."""
    row = await uow.one(
        AddressConfigurationRow,
        "SELECT * FROM address_configurations WHERE sid = %s AND type = 'chat'",
        (address_sid,),
    )
    if row is None or not (row.auto_creation or {}).get("enabled"):
        return None
    return row


# --- typing and read horizons (the SDK's live signals) ------------------------------------------------


async def typing(uow: UnitOfWork, *, conversation: ConversationRow, participant: ParticipantRow) -> None:
    """A participant is typing: an ephemeral event to the conversation's live subscribers (not stored)."""
    if conversation.state is ConversationState.CLOSED:
        raise Conflict("The conversation is closed; it is read-only", code=50407)
    await realtime.signal(
        uow,
        stream=conversation.sid,
        event=StreamEvent.TYPING,
        data={"participant_sid": participant.sid, "identity": participant.identity},
    )


async def mark_read(
    uow: UnitOfWork, *, conversation: ConversationRow, participant: ParticipantRow, index: int, actor: Actor
) -> ParticipantRow:
    """Move a participant's read horizon (Twilio's `setAllMessagesRead` / `advanceLastReadMessageIndex`): at
    most the conversation's last message; the other participants see it as a read receipt."""
    if index < 0:
        raise InvalidParameter("The read index must be 0 or more")
    current = await uow.found(
        ConversationRow,
        "SELECT * FROM conversations WHERE sid = %s",
        (conversation.sid,),
        resource=f"/Conversations/{conversation.sid}",
    )
    return await update_participant(
        uow,
        conversation=current,
        participant=participant,
        changes=ParticipantChanges(last_read_message_index=min(index, max(current.last_message_index, 0))),
        actor=actor,
    )
