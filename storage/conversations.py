"""Conversations storage, including the message hot path: one transaction allocates the next index under the
conversation's row lock, inserts the message, appends a real-time event and, only when the customer writes
on a channel with no open task, records an outbox row that (re)starts routing. No workflow round trip."""

from __future__ import annotations

import json
from typing import Any

from psycopg.types.json import Jsonb

from domain.errors import Conflict, NotFound
from domain.sids import SidPrefix, new_sid
from storage.db import UnitOfWork

CHANNEL_WORKFLOW = "InteractionChannel"


async def get_conversation(uow: UnitOfWork, *, account_sid: str, sid_or_unique_name: str) -> dict[str, Any]:
    row = await uow.fetchone(
        "SELECT * FROM conversations WHERE account_sid = %s AND (sid = %s OR unique_name = %s) "
        "ORDER BY (sid = %s) DESC LIMIT 1",
        (account_sid, sid_or_unique_name, sid_or_unique_name, sid_or_unique_name),
    )
    if row is None:
        raise NotFound(f"The requested resource /Conversations/{sid_or_unique_name} was not found")
    return row


async def create_conversation(
    uow: UnitOfWork,
    *,
    account_sid: str,
    chat_service_sid: str,
    friendly_name: str | None = None,
    unique_name: str | None = None,
    attributes: str = "{}",
    state: str = "active",
    address_sid: str | None = None,
    messaging_service_sid: str | None = None,
    timers_inactive: str | None = None,
    timers_closed: str | None = None,
) -> dict[str, Any]:
    if unique_name is not None:
        existing = await uow.fetchone(
            "SELECT 1 FROM conversations WHERE chat_service_sid = %s AND unique_name = %s",
            (chat_service_sid, unique_name),
        )
        if existing is not None:
            raise Conflict(f"Conversation with unique name '{unique_name}' already exists", code=50353)
    row = await uow.fetchone(
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
            state,
            address_sid,
            timers_inactive,
            timers_closed,
        ),
    )
    assert row is not None
    return row


async def add_participant(
    uow: UnitOfWork,
    *,
    conversation_sid: str,
    identity: str | None,
    attributes: str = "{}",
    messaging_binding: dict[str, Any] | None = None,
    role_sid: str | None = None,
    if_absent: bool = False,
) -> dict[str, Any]:
    conversation = await uow.fetchone(
        "SELECT sid, account_sid, chat_service_sid, state FROM conversations WHERE sid = %s FOR UPDATE",
        (conversation_sid,),
    )
    if conversation is None:
        raise NotFound(f"The requested resource /Conversations/{conversation_sid} was not found")
    if identity is not None:
        existing = await uow.fetchone(
            "SELECT * FROM participants WHERE conversation_sid = %s AND identity = %s",
            (conversation_sid, identity),
        )
        if existing is not None:
            if if_absent:
                return existing
            raise Conflict("Participant already exists", code=50433)
    row = await uow.fetchone(
        """
        INSERT INTO participants (sid, account_sid, conversation_sid, chat_service_sid, identity, attributes,
                                  messaging_binding, role_sid)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING *
        """,
        (
            new_sid(SidPrefix.PARTICIPANT),
            conversation["account_sid"],
            conversation_sid,
            conversation["chat_service_sid"],
            identity,
            attributes,
            Jsonb(messaging_binding) if messaging_binding is not None else None,
            role_sid,
        ),
    )
    assert row is not None
    await uow.publish(
        account_sid=row["account_sid"],
        stream_table="conversations",
        stream=conversation_sid,
        type="participant.added",
        data={"participant_sid": row["sid"], "identity": identity, "attributes": attributes},
    )
    return row


async def remove_participant(uow: UnitOfWork, *, conversation_sid: str, participant_sid: str) -> bool:
    row = await uow.fetchone(
        "DELETE FROM participants WHERE sid = %s AND conversation_sid = %s RETURNING account_sid, identity",
        (participant_sid, conversation_sid),
    )
    if row is None:
        return False
    await uow.publish(
        account_sid=row["account_sid"],
        stream_table="conversations",
        stream=conversation_sid,
        type="participant.removed",
        data={"participant_sid": participant_sid, "identity": row["identity"]},
    )
    return True


async def create_message(
    uow: UnitOfWork,
    *,
    conversation_sid: str,
    author: str,
    body: str | None,
    attributes: str = "{}",
    participant_sid: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    if idempotency_key is not None:
        # Lock first so two retries of the same send serialize and the second finds the first.
        await uow.execute("SELECT 1 FROM conversations WHERE sid = %s FOR UPDATE", (conversation_sid,))
        existing = await uow.fetchone(
            "SELECT * FROM messages WHERE conversation_sid = %s AND idempotency_key = %s",
            (conversation_sid, idempotency_key),
        )
        if existing is not None:
            return existing
    conversation = await uow.fetchone(
        """
        UPDATE conversations
           SET last_message_index = last_message_index + 1, last_event_seq = last_event_seq + 1,
               last_message_at = now(), date_updated = now(),
               state = CASE WHEN state = 'inactive' THEN 'active' ELSE state END
         WHERE sid = %s AND state <> 'closed'
        RETURNING sid, account_sid, chat_service_sid, last_message_index, last_event_seq, address_sid
        """,
        (conversation_sid,),
    )
    if conversation is None:
        exists = await uow.fetchone("SELECT state FROM conversations WHERE sid = %s", (conversation_sid,))
        if exists is None:
            raise NotFound(f"The requested resource /Conversations/{conversation_sid} was not found")
        raise Conflict("The conversation is closed; it cannot take new messages", code=50407)
    message = await uow.fetchone(
        """
        INSERT INTO messages (sid, account_sid, conversation_sid, chat_service_sid, index, author, body,
                              attributes, participant_sid, idempotency_key)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *
        """,
        (
            new_sid(SidPrefix.MESSAGE),
            conversation["account_sid"],
            conversation_sid,
            conversation["chat_service_sid"],
            conversation["last_message_index"],
            author,
            body,
            attributes,
            participant_sid,
            idempotency_key,
        ),
    )
    assert message is not None
    seq = conversation["last_event_seq"]
    await uow.execute(
        "WITH e AS (INSERT INTO realtime_events (account_sid, stream, seq, type, data) "
        "VALUES (%s, %s, %s, 'message.added', %s)) SELECT pg_notify('parley_events', %s)",
        (
            conversation["account_sid"],
            conversation_sid,
            seq,
            Jsonb({"message_sid": message["sid"], "index": message["index"]}),
            json.dumps({"stream": conversation_sid, "seq": seq}),
        ),
    )
    if participant_sid is not None:
        await _route_customer_message(uow, conversation, message)
    return message


async def _route_customer_message(uow: UnitOfWork, conversation: dict[str, Any], message: dict[str, Any]) -> None:
    """A customer's message on a channel with no open task (or no channel yet) starts routing."""
    channel = await uow.fetchone(
        "SELECT * FROM interaction_channels WHERE conversation_sid = %s AND status NOT IN ('closed', 'failed') "
        "FOR UPDATE",
        (conversation["sid"],),
    )
    if channel is None:
        if conversation["address_sid"] is None:
            return
        address = await uow.fetchone(
            "SELECT auto_creation FROM address_configurations WHERE sid = %s", (conversation["address_sid"],)
        )
        routing = ((address or {}).get("auto_creation") or {}).get("routing")
        if not routing:
            return
        if await _is_agent(uow, None, message["participant_sid"]):
            return
        channel = await open_interaction_channel(
            uow,
            account_sid=conversation["account_sid"],
            conversation_sid=conversation["sid"],
            channel_type="web",
            initiated_by="customer",
            routing=routing,
            customer_participant_sid=message["participant_sid"],
        )
    elif channel["active_task_sid"] is not None or await _is_agent(uow, channel["sid"], message["participant_sid"]):
        return
    await uow.outbox(
        account_sid=conversation["account_sid"],
        kind="signal_with_start",
        dedupe_key=f"{message['sid']}:route",
        payload=channel_start_payload(
            channel, signal="customer_message", arg={"message_sid": message["sid"], "index": message["index"]}
        ),
    )


async def _is_agent(uow: UnitOfWork, channel_sid: str | None, participant_sid: str) -> bool:
    row = await uow.fetchone("SELECT attributes FROM participants WHERE sid = %s", (participant_sid,))
    try:
        attributes = json.loads((row or {}).get("attributes") or "{}")
    except json.JSONDecodeError:
        return False
    return isinstance(attributes, dict) and attributes.get("role") == "agent"


def channel_start_payload(channel: dict[str, Any], *, signal: str, arg: dict[str, Any]) -> dict[str, Any]:
    return {
        "workflow_id": channel["sid"],
        "workflow": CHANNEL_WORKFLOW,
        "input": {
            "account_sid": channel["account_sid"],
            "interaction_sid": channel["interaction_sid"],
            "channel_sid": channel["sid"],
            "conversation_sid": channel["conversation_sid"],
            "channel_type": channel["type"],
        },
        "signal": signal,
        "arg": arg,
    }


async def open_interaction_channel(
    uow: UnitOfWork,
    *,
    account_sid: str,
    conversation_sid: str,
    channel_type: str,
    initiated_by: str,
    routing: dict[str, Any],
    customer_participant_sid: str | None,
) -> dict[str, Any]:
    interaction_sid = new_sid(SidPrefix.INTERACTION)
    channel_sid = new_sid(SidPrefix.INTERACTION_CHANNEL)
    await uow.execute(
        "INSERT INTO interactions (sid, account_sid, channel, routing) VALUES (%s, %s, %s, %s)",
        (
            interaction_sid,
            account_sid,
            Jsonb(
                {
                    "type": channel_type,
                    "sid": channel_sid,
                    "initiated_by": initiated_by,
                    "properties": {"media_channel_sid": conversation_sid},
                }
            ),
            Jsonb(routing),
        ),
    )
    channel = await uow.fetchone(
        """
        INSERT INTO interaction_channels (sid, account_sid, interaction_sid, type, status, conversation_sid, routing)
        VALUES (%s, %s, %s, %s, 'active', %s, %s) RETURNING *
        """,
        (
            channel_sid,
            account_sid,
            interaction_sid,
            channel_type,
            conversation_sid,
            Jsonb(routing.get("properties", routing)),
        ),
    )
    assert channel is not None
    if customer_participant_sid is not None:
        participant = await uow.fetchone(
            "SELECT identity, messaging_binding FROM participants WHERE sid = %s", (customer_participant_sid,)
        )
        await uow.execute(
            """
            INSERT INTO interaction_participants (sid, account_sid, interaction_sid, channel_sid, type, status,
                                                  media_properties, routing_properties)
            VALUES (%s, %s, %s, %s, 'customer', 'active', %s, NULL)
            """,
            (
                new_sid(SidPrefix.INTERACTION_PARTICIPANT),
                account_sid,
                interaction_sid,
                channel_sid,
                Jsonb(
                    {
                        "conversation_sid": conversation_sid,
                        "participant_sid": customer_participant_sid,
                        "identity": (participant or {}).get("identity"),
                        "messaging_binding": (participant or {}).get("messaging_binding"),
                    }
                ),
            ),
        )
    return channel
